"""Serving blob bytes: Range, conditional requests and the safety headers, for every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from filebay.catalog.files import FileRecord
from filebay.errors import PreconditionFailed
from filebay.observability.metrics import BYTES_DOWNLOADED
from filebay.storage.base import BlobStore
from filebay.transfer.disposition import can_inline, content_disposition
from filebay.transfer.ranges import (
    http_date,
    if_range_allows,
    not_modified,
    parse_range,
    precondition_failed,
)

# Uploaded bytes must never run as part of our origin, whatever the browser thinks they are.
SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, no-cache",
}


class BlobResponse(Response):
    """Streams bytes that were already opened by the endpoint (so a missing blob fails
    before the status line is sent)."""

    def __init__(
        self,
        first: bytes,
        rest: AsyncIterator[bytes],
        status_code: int,
        headers: dict[str, str],
    ) -> None:
        super().__init__(status_code=status_code, headers=headers)
        self._first = first
        self._rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        sent = 0
        try:
            await send({"type": "http.response.body", "body": self._first, "more_body": True})
            sent = len(self._first)
            async for chunk in self._rest:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            BYTES_DOWNLOADED.inc(sent)
            await self._rest.aclose()  # type: ignore[attr-defined]


def check_preconditions(
    record: FileRecord, if_match: str | None, if_unmodified_since: str | None
) -> None:
    """``PreconditionFailed`` (412) when ``If-Match`` / ``If-Unmodified-Since`` say the file
    is not the one the client means: checked before anything else is done or counted."""
    if precondition_failed(if_match, if_unmodified_since, f'"{record.sha256}"', record.created_at):
        raise PreconditionFailed()


async def content_response(
    record: FileRecord,
    store: BlobStore,
    *,
    method: str,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
    inline: bool,
) -> Response:
    """The answer to GET/HEAD of a file's content: 200, 206, 304 or ``RangeNotSatisfiable``."""
    etag = f'"{record.sha256}"'
    inline = inline and can_inline(record.content_type)
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(record.created_at),
        "Accept-Ranges": "bytes",
        "Content-Type": record.content_type,
        "Content-Disposition": content_disposition(record.name, inline=inline),
        **SAFETY_HEADERS,
    }
    if not_modified(if_none_match, etag):
        headers.pop("Content-Type")
        headers.pop("Content-Disposition")
        return Response(status_code=304, headers=headers)
    span = None
    if if_range_allows(if_range, etag, record.created_at):
        span = parse_range(range_header, record.size)
    start, end = span if span is not None else (0, record.size)
    status = 206 if span is not None else 200
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{record.size}"
    headers["Content-Length"] = str(end - start)
    if method == "HEAD" or start == end:
        # No bytes to send, but the blob must be there: HEAD answers what GET would (a
        # record whose blob is gone is a 404, not a 200 with nothing behind it).
        await store.stat(record.blob_key)
        return Response(status_code=status, headers=headers)
    stream = store.read(record.blob_key, start, end)
    first = await anext(stream, b"")  # opens the blob: BlobNotFound surfaces here, as a 404
    return BlobResponse(first, stream, status, headers)
