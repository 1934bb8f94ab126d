"""Downloads by redirect to a presigned URL of the bucket (FILEBAY_S3_PRESIGN_DOWNLOADS).

The bytes then go from S3 to the client without passing through the download service. The
owner check happens here, before the URL is made; the URL is valid for
FILEBAY_S3_PRESIGN_SECONDS and makes S3 answer with our Content-Disposition and
Content-Type, so a file still downloads under its name and HTML is still an attachment (and
the bucket is another origin than ours anyway)."""

from __future__ import annotations

from starlette.responses import Response

from filebay.catalog.files import FileRecord
from filebay.config import Settings
from filebay.storage.base import BlobStore, Presigning
from filebay.transfer.disposition import can_inline, content_disposition
from filebay.transfer.ranges import not_modified


async def presigned_redirect(
    record: FileRecord,
    store: BlobStore,
    settings: Settings,
    *,
    method: str,
    if_none_match: str | None,
    inline: bool,
) -> Response | None:
    """A 302 to the bucket, or ``None`` to serve the bytes here (HEAD, a 304, no S3)."""
    if not settings.s3_presign_downloads or method != "GET" or not isinstance(store, Presigning):
        return None
    if not_modified(if_none_match, f'"{record.sha256}"'):
        return None  # a 304 costs less than a redirect
    url = await store.presign_get(
        record.blob_key,
        expires=settings.s3_presign_seconds,
        disposition=content_disposition(
            record.name, inline=inline and can_inline(record.content_type)
        ),
        content_type=record.content_type,
    )
    # The URL is a short-lived credential: not to be cached or sent on as a Referer.
    return Response(
        status_code=302,
        headers={
            "Location": url,
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
