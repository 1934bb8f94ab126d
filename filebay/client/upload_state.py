"""Unfinished uploads, remembered across runs: (server, path, size, mtime, target) → tus
upload URL, where the target is what the upload was told besides the file (its folder).

A later ``filebay upload`` of the same, unchanged file asks the server how far it got and
continues from there. The file is a cache: when it is unreadable, uploads simply start over."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filebay.client.config import config_dir, read_json, write_private_json

STATE_FILE = "uploads.json"
VERSION = 1
#: Entries older than this are dropped: the server has expired such uploads long ago.
MAX_AGE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class FileKey:
    """One version of one local file, as uploaded to one server (into one place there:
    the same file sent to another folder is another upload)."""

    server: str
    path: str
    size: int
    mtime_ns: int
    target: str = ""

    @classmethod
    def of(cls, server: str, path: Path, target: str = "") -> FileKey:
        """The key of ``path`` as it is now (absolute path, size and modification time)."""
        absolute = Path(os.path.abspath(path))
        info = absolute.stat()
        return cls(server, str(absolute), info.st_size, info.st_mtime_ns, target)


class UploadState:
    """The state file. Every call reads and atomically rewrites it (it holds a few entries)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / STATE_FILE

    def _entries(self) -> list[dict[str, Any]]:
        data = read_json(self.path)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return []
        entries = data.get("uploads")
        if not isinstance(entries, list):
            return []
        oldest = time.time() - MAX_AGE_SECONDS
        return [
            e
            for e in entries
            if isinstance(e, dict)
            and isinstance(e.get("url"), str)
            and isinstance(e.get("saved_at"), int | float)
            and e["saved_at"] >= oldest
        ]

    def _save(self, entries: list[dict[str, Any]]) -> None:
        if entries:
            write_private_json(self.path, {"version": VERSION, "uploads": entries})
        else:
            self.path.unlink(missing_ok=True)

    @staticmethod
    def _matches(entry: dict[str, Any], key: FileKey) -> bool:
        return (
            entry.get("server") == key.server
            and entry.get("path") == key.path
            and entry.get("size") == key.size
            and entry.get("mtime_ns") == key.mtime_ns
            and entry.get("target", "") == key.target
        )

    def get(self, key: FileKey) -> str | None:
        """The upload URL of an unfinished upload of exactly this file, if any."""
        for entry in self._entries():
            if self._matches(entry, key):
                return str(entry["url"])
        return None

    def put(self, key: FileKey, url: str) -> None:
        """Remember ``url`` for ``key``, forgetting older versions of the same file."""
        entries = [
            e
            for e in self._entries()
            if not (
                e.get("server") == key.server
                and e.get("path") == key.path
                and e.get("target", "") == key.target
            )
        ]
        entries.append(
            {
                "server": key.server,
                "path": key.path,
                "size": key.size,
                "mtime_ns": key.mtime_ns,
                "target": key.target,
                "url": url,
                "saved_at": int(time.time()),
            }
        )
        self._save(entries)

    def remove(self, key: FileKey) -> None:
        entries = self._entries()
        kept = [e for e in entries if not self._matches(e, key)]
        if len(kept) != len(entries):
            self._save(kept)
