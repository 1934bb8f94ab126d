"""botocore's exceptions as filebay's storage errors: missing, full, or unavailable."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from botocore.exceptions import BotoCoreError, ClientError

from filebay.errors import BlobNotFound, StorageFull, StorageUnavailable

NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})


def translate(exc: Exception) -> Exception:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in NOT_FOUND:
            return BlobNotFound()
        if code in ("EntityTooLarge", "QuotaExceeded", "XMinioStorageFull"):
            return StorageFull()
        return StorageUnavailable(f"blob store error: {code or exc}")
    return StorageUnavailable(f"blob store unreachable: {exc}")


@contextlib.asynccontextmanager
async def s3_errors() -> AsyncIterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, OSError) as exc:
        raise translate(exc) from exc
