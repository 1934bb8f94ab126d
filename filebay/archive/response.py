"""Serving a zip: 200/206/304/416 with an exact Content-Length, bytes produced only from the
first one asked for, small pieces gathered into larger sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from filebay.archive.build import Archive
from filebay.archive.layout import Slice, ZipLayout
from filebay.observability.metrics import BYTES_DOWNLOADED
from filebay.storage.base import BlobStore
from filebay.transfer.content import SAFETY_HEADERS
from filebay.transfer.disposition import content_disposition
from filebay.transfer.ranges import http_date, if_range_allows, not_modified, parse_range

#: Header bytes and small files are sent in batches of about this size.
SEND_BYTES = 256 * 1024


async def zip_bytes(
    layout: ZipLayout, store: BlobStore, start: int, end: int
) -> AsyncIterator[bytes]:
    """The archive's bytes ``start``..``end``; a file's bytes come from the store as they
    are sent (never more than one file's chunk and one batch in memory)."""
    batch = bytearray()
    for piece in layout.pieces(start, end):
        if not isinstance(piece, Slice):
            batch += piece
        else:
            async for chunk in store.read(piece.source, piece.start, piece.end):
                if len(batch) + len(chunk) <= SEND_BYTES:
                    batch += chunk
                    continue
                if batch:
                    yield bytes(batch)
                    batch = bytearray()
                yield chunk
        if len(batch) >= SEND_BYTES:
            yield bytes(batch)
            batch = bytearray()
    if batch:
        yield bytes(batch)


class ZipResponse(Response):
    def __init__(self, body: AsyncIterator[bytes], status_code: int, headers: dict[str, str]):
        super().__init__(status_code=status_code, headers=headers)
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        sent = 0
        try:
            async for chunk in self._body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            BYTES_DOWNLOADED.inc(sent)
            await self._body.aclose()  # type: ignore[attr-defined]


def zip_response(
    archive: Archive,
    store: BlobStore,
    *,
    filename: str,
    method: str,
    range_header: str | None,
    if_range: str | None,
    if_none_match: str | None,
) -> Response:
    layout = archive.layout
    etag = layout.etag()
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(archive.modified_at),
        "Accept-Ranges": "bytes",
        "Content-Type": "application/zip",
        "Content-Disposition": content_disposition(filename),
        **SAFETY_HEADERS,
    }
    if not_modified(if_none_match, etag):
        headers.pop("Content-Type")
        headers.pop("Content-Disposition")
        return Response(status_code=304, headers=headers)
    span = None
    if if_range_allows(if_range, etag, archive.modified_at):
        span = parse_range(range_header, layout.size)
    start, end = span if span is not None else (0, layout.size)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{layout.size}"
    headers["Content-Length"] = str(end - start)
    status = 206 if span is not None else 200
    if method == "HEAD":
        return Response(status_code=status, headers=headers)
    return ZipResponse(zip_bytes(layout, store, start, end), status, headers)
