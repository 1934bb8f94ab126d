"""Share links: a file's owner makes a link; anyone holding it opens a page and the bytes.

- ``links``: creating a link (its token shown once, only its hash kept; an Argon2id hash of
  its password), finding it by token, expiry, revoking, the rate-limited password check.
- ``grants``: the cookies a browser holds for a link (password unlocked, download started),
  signed with a key of their own (``FILEBAY_SHARE_COOKIE_KEY``).
- ``downloads``: which request of the bytes counts against ``max_downloads``, and the gate
  every content request passes (the password first, on every path).

The routes are thin: ``metadata_service/shares.py`` (the owner's API) and
``download_service/shares.py`` (the public ``/s/{token}`` page and content). The contract
is ``filebay.catalog.shares``; its SQL side ``filebay.catalog.sql.shares``.
"""
