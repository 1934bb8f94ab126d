"""uvicorn's HTTP protocol with a deadline and a size for each request's head.

uvicorn has no timeout for receiving a request's line and headers: its keep-alive timer is
only armed after a response and is cancelled by any byte, and a new connection gets none at
all. A client that connects and sends nothing, or a header byte now and then (slowloris),
holds a connection and its memory for ever. Here the head of every request, the first on a
connection and each kept-alive one after it, must be complete within ``seconds`` of its
first byte (of the connection, for the first); otherwise the connection is closed.

Nor has uvicorn's httptools parser a size limit (only its h11 path has one): it keeps every
header line of a head, and 40 MB of short lines cost the server gigabytes. Here a head (the
request line, the header lines and the bytes between requests) may have at most
``max_bytes`` bytes and ``max_count`` header lines; a larger one is answered 431 and the
connection closed, before the parser sees more of it. The trailer fields after a chunked
body have the same limits (the parser keeps those too). Bytes are counted as they arrive;
where a head begins in the middle of a read (behind a body or another request in the same
read), its bytes in that read are counted by its URL and header callbacks, so the parser
holds at most one read more than the limit. Bodies have their own limits
(``filebay.http.limits``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: What ``filebay serve`` hands uvicorn as ``http`` (a string, so worker processes import it).
PROTOCOL = "filebay.http.protocol:HeadDeadlineProtocol"

log = logging.getLogger("filebay")

_TOO_LARGE_BODY = json.dumps(
    {"detail": "Request header fields too large", "code": "headers_too_large"}
).encode()


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop the parser at once (it stops on any exception)."""


class HeadDeadlineProtocol(HttpToolsProtocol):
    # The class attributes below are set from the settings by ``filebay_server.app.create_app``,
    # which every worker process runs before it serves.
    #: FILEBAY_HEADER_TIMEOUT_SECONDS
    seconds: float = 30.0
    #: FILEBAY_MAX_HEADER_BYTES: the request line, header lines and line ends of one head.
    max_bytes: int = 64 * 1024
    #: FILEBAY_MAX_HEADER_COUNT
    max_count: int = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        # Between a request's complete head and the end of its body: the body's own limits
        # apply, not this deadline nor the head's size.
        self._in_body = False
        # The current head (or trailer section) so far: bytes and header lines.
        self._head_bytes = 0
        self._head_lines = 0
        # After a chunk's size line and before its data: the last chunk's (size 0) is followed
        # by trailer fields, which the parser keeps as it keeps a head's.
        self._maybe_trailer = False
        # True while the parser is fed bytes that data_received has already counted; the
        # parser callbacks count the rest (a head or trailer section that begins in the middle
        # of a piece, behind a body or another request).
        self._counted = False
        self._too_large = False  # a callback found the head too large
        self._refused = False

    # -- the deadline

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.seconds, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self._in_body and not self.transport.is_closing():
            self.transport.close()

    # -- the size

    def _add(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_bytes:
            self._too_large = True
            raise HeadTooLarge

    def _refuse(self) -> None:
        """Answer 431 (unless a response is under way on the connection) and close."""
        self._refused = True
        self._disarm()
        if self.transport.is_closing():
            return
        log.warning(
            "request head over %d bytes or %d header lines: refused (431)",
            self.max_bytes,
            self.max_count,
        )
        if self.cycle is None or self.cycle.response_complete:
            content = [STATUS_LINE[431]]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend(
                [
                    b"content-type: application/json\r\n",
                    b"content-length: %d\r\n" % len(_TOO_LARGE_BODY),
                    b"connection: close\r\n\r\n",
                    _TOO_LARGE_BODY,
                ]
            )
            self.transport.write(b"".join(content))
        self.transport.close()

    def _feed(self, data: bytes | memoryview) -> bool:
        """uvicorn's ``data_received`` for one piece; False when the connection is done."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._too_large:  # HeadTooLarge in a callback
                self._refuse()
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return False
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return True

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._in_body:
            self._arm()  # bytes of a head (or before one): its clock runs from the first
        rest: bytes | memoryview = data
        while rest:
            if self._in_body and not self._maybe_trailer:
                # A body, and perhaps behind it the next request: the callbacks count that
                # one's head (a piece is at most one read, so the parser holds little more).
                self._counted = False
                if not self._feed(rest):
                    return
                break
            # Only as much of a head as it may still have: bytes behind a complete head go
            # round again (a body), and a head that is still open when its room is used up
            # is too large, whatever comes after. The same for trailers (a chunk's data that
            # follows its size line in this piece ends the counting in on_body).
            room = self.max_bytes - self._head_bytes
            if room <= 0:
                self._refuse()
                return
            if len(rest) > room:
                view = memoryview(rest)
                piece, rest = view[:room], view[room:]
            else:
                piece, rest = rest, b""
            self._head_bytes += len(piece)
            self._counted = True
            if not self._feed(piece):
                return
        self._counted = False

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # -- parser callbacks

    def on_message_begin(self) -> None:
        self._in_body = False
        self._arm()  # a pipelined request behind the last one's body
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if not self._counted:
            self._add(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_lines += 1
        if self._head_lines > self.max_count:
            self._too_large = True
            raise HeadTooLarge
        if not self._counted:
            self._add(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _section_done(self) -> None:
        self._counted = False  # what follows in the piece is counted by the callbacks
        self._head_bytes = 0
        self._head_lines = 0

    def on_headers_complete(self) -> None:
        self._in_body = True  # what follows is a body, counted by the body's limits
        self._section_done()
        self._disarm()
        super().on_headers_complete()

    def on_chunk_header(self) -> None:
        self._maybe_trailer = True
        self._section_done()

    def on_body(self, body: bytes) -> None:
        if self._maybe_trailer:
            self._maybe_trailer = False
            self._counted = False
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._maybe_trailer = False
        self._section_done()
        super().on_message_complete()
