"""What an owner may hold (bytes and files), as every service passes it to the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Quota:
    """What an owner may hold: bytes and files (``None``: no limit)."""

    max_bytes: int | None = None
    max_files: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.max_bytes is None and self.max_files is None

    def to_json(self) -> dict[str, Any]:
        return {"quota_bytes": self.max_bytes, "quota_files": self.max_files}

    @classmethod
    def of(cls, quota_bytes: int | None, quota_files: int | None) -> Quota | None:
        quota = cls(quota_bytes, quota_files)
        return None if quota.unlimited else quota
