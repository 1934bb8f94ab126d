"""The download service (:8003): serves file bytes (Range, ETag) and the download page."""
