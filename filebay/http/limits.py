"""Request body limits outside the routes that count their own bytes, and the pace an
upload body must keep."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filebay.errors import BodyTooLarge, FilebayError, RequestTimeout


@dataclass(frozen=True, slots=True)
class OwnBody:
    """Requests whose routes stream the body and count its bytes themselves (uploads, against
    FILEBAY_MAX_UPLOAD_BYTES): the body limit below leaves them alone. Declared by those
    routes' modules and handed to ``build_app``; the edge knows no upload path itself."""

    path: str
    #: Every path that starts with ``path``, not only ``path`` itself.
    prefix: bool = False
    #: Only requests with this method (any when ``None``).
    method: str | None = None

    def matches(self, path: str, method: str) -> bool:
        if self.method is not None and method != self.method:
            return False
        return path.startswith(self.path) if self.prefix else path == self.path


class BodyLimitMiddleware:
    """For JSON and form bodies (uploads have their own limits): 413 for a body over the
    limit, up front from Content-Length or as soon as a chunked body passes it (FastAPI
    would otherwise read it whole into memory); 408 for a body that sends nothing for
    ``idle_seconds`` (it would otherwise hold the connection for as long as it likes).
    Requests matching ``own_body`` pass untouched."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        idle_seconds: float = 60.0,
        own_body: Iterable[OwnBody] = (),
    ) -> None:
        self.app = app
        self.limit = limit
        self.idle_seconds = idle_seconds
        rules = tuple(own_body)
        # Checked on every request: one str.startswith and a set lookup for the usual rules.
        self._own_prefixes = tuple(r.path for r in rules if r.prefix and r.method is None)
        self._own_exact = frozenset((r.path, r.method) for r in rules if not r.prefix)
        self._own_other = tuple(r for r in rules if r.prefix and r.method is not None)

    def _owns_body(self, scope: Scope) -> bool:
        path: str = scope.get("path", "")
        method: str = scope["method"]
        return (
            path.startswith(self._own_prefixes)
            or (path, method) in self._own_exact
            or (path, None) in self._own_exact
            or (bool(self._own_other) and any(r.matches(path, method) for r in self._own_other))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._owns_body(scope):
            await self.app(scope, receive, send)
            return
        has_body = False
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit():
                if int(value) > self.limit:
                    await _answer(send, BodyTooLarge())
                    return
                has_body = has_body or int(value) > 0
            elif key == b"transfer-encoding":
                has_body = True
        if not has_body:
            # Nothing to limit or wait for (a GET, a download): no wrappers around receive
            # and every send of the response.
            await self.app(scope, receive, send)
            return
        seen = 0
        body_done = answered = False
        failure: FilebayError | None = None

        async def guarded() -> Message:
            nonlocal seen, body_done, failure
            if body_done:  # after the body: waiting for a disconnect may take any time
                return await receive()
            try:
                async with asyncio.timeout(self.idle_seconds):
                    message = await receive()
            except TimeoutError:
                failure = RequestTimeout()
                raise _BodyRefused() from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if seen > self.limit:
                    failure = BodyTooLarge()
                    raise _BodyRefused()
            return message

        async def send_or_refuse(message: Message) -> None:
            nonlocal answered
            if failure is not None:
                # The app made an answer of its own out of the refusal (FastAPI turns any
                # error while reading a body into 400 "error parsing the body"): ours instead.
                if message["type"] == "http.response.start" and not answered:
                    answered = True
                    await _answer(send, failure)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, guarded, send_or_refuse)
        except _BodyRefused:
            if not answered and failure is not None:
                await _answer(send, failure)


class _BodyRefused(Exception):
    pass


async def _answer(send: Send, error: FilebayError) -> None:
    # The rest of the body is never read: the connection cannot be reused.
    body = json.dumps({"detail": error.detail, "code": error.code}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
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
