"""FileRecord.to_json: every field, times in UTC with a Z."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from filebay.catalog.files import FileRecord


def test_to_json_has_every_field_and_utc_times() -> None:
    record = FileRecord(
        id="a" * 32,
        owner="alice",
        name="r.pdf",
        size=3,
        content_type="application/pdf",
        sha256="b" * 64,
        blob_key="a" * 32,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
        shared=True,
    )
    data = record.to_json()
    # Every field but the two that are never shown (the bytes' whereabouts), plus the kind.
    hidden = {"replaced_blob_key", "crc32"}
    assert set(data) == {f.name for f in dataclasses.fields(FileRecord)} - hidden | {"kind"}
    assert (data["kind"], data["folder_id"], data["path"]) == ("file", None, "")
    assert data["created_at"] == "2026-01-02T03:04:05.000006Z"
    assert data["updated_at"] == "2026-01-02T03:04:06Z"
    assert (data["name"], data["size"], data["shared"]) == ("r.pdf", 3, True)
