"""Parsing the tus request headers (pure functions)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from filebay.errors import BadRequest

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_HEADER = 8192


def parse_metadata(header: str | None) -> dict[str, bytes]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional)."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_HEADER:
        raise BadRequest("Upload-Metadata too long")
    result: dict[str, bytes] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2:
            raise BadRequest("malformed Upload-Metadata")
        key = parts[0]
        try:
            value = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("malformed Upload-Metadata") from exc
        if key in result:
            raise BadRequest("duplicate Upload-Metadata key")
        result[key] = value
    return result


def parse_length(value: str | None, header: str) -> int:
    if value is None or not value.isdigit() or not value.isascii() or len(value) > 19:
        raise BadRequest(f"{header} must be a non-negative integer")
    return int(value)


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; 400 for an algorithm we lack."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(f"unsupported checksum algorithm (use {', '.join(CHECKSUM_ALGORITHMS)})")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("malformed Upload-Checksum") from exc
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise BadRequest("malformed Upload-Checksum")
    return algorithm, digest


def metadata_text(metadata: dict[str, bytes], *keys: str) -> str | None:
    for key in keys:
        if key in metadata:
            return metadata[key].decode("utf-8", "replace")
    return None
