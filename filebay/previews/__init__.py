"""Previews of stored files: thumbnails (``thumbnails``), rendered in a capped child process
(``render``)."""
