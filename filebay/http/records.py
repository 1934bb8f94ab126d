"""File records as the API shows them."""

from __future__ import annotations

from typing import Any

from filebay.catalog.files import FileRecord
from filebay.catalog.folders import FolderRecord
from filebay.config import Settings


def record_json(record: FileRecord, settings: Settings) -> dict[str, Any]:
    """The public record: no blob key, plus where to download it."""
    data = record.to_json()
    data.pop("blob_key", None)
    base = (settings.download_url or "").rstrip("/")
    data["download_url"] = f"{base}/api/files/{record.id}/content"
    return data


def entry_json(entry: FileRecord | FolderRecord, settings: Settings) -> dict[str, Any]:
    """A folder's record, or a file's as ``record_json`` shows it."""
    if isinstance(entry, FolderRecord):
        return entry.to_json()
    return record_json(entry, settings)
