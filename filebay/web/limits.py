"""Request body limits outside the upload routes, and the pace an upload body must keep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filebay.errors import RequestTimeout

# Uploads stream and count their own bytes against FILEBAY_MAX_UPLOAD_BYTES.
UPLOAD_PATHS = ("/api/upload/", "/api/tus")


def _is_upload(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path.startswith(UPLOAD_PATHS) or (path == "/api/files" and scope["method"] == "POST")


class BodyLimitMiddleware:
    """413 for a JSON/form body over the limit: up front from Content-Length, or as soon as
    a chunked body passes it (FastAPI would otherwise read it whole into memory)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_upload(scope):
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send)
                return
        seen = 0
        overflowed = answered = False

        async def counted() -> Message:
            nonlocal seen, overflowed
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    overflowed = True
                    raise _BodyOverflow()
            return message

        async def send_or_413(message: Message) -> None:
            nonlocal answered
            if overflowed:
                # The app made an answer of its own out of the overflow (FastAPI turns any
                # error while reading a body into 400 "error parsing the body"): 413 instead.
                if message["type"] == "http.response.start" and not answered:
                    answered = True
                    await _too_large(send)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counted, send_or_413)
        except _BodyOverflow:
            if not answered:
                await _too_large(send)


class _BodyOverflow(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b'{"detail":"request body too large","code":"body_too_large"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def paced(
    chunks: AsyncIterator[bytes], idle_seconds: float, min_rate: int, window: float = 30.0
) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through, cutting off a body that stalls for ``idle_seconds`` or
    averages less than ``min_rate`` bytes/s over ``window`` seconds: a slow client must not
    hold a connection, a temp file and a worker slot for ever."""
    window_start = time.monotonic()
    window_bytes = 0
    iterator = aiter(chunks)
    while True:
        try:
            # asyncio.timeout, not wait_for: no extra task per chunk on the upload hot path.
            async with asyncio.timeout(idle_seconds):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise RequestTimeout() from exc
        window_bytes += len(chunk)
        elapsed = time.monotonic() - window_start
        if elapsed >= window:
            if window_bytes < min_rate * elapsed:
                raise RequestTimeout()
            window_start, window_bytes = time.monotonic(), 0
        yield chunk
