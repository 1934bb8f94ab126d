"""uvicorn's HTTP protocol with a deadline for each request's head.

uvicorn has no timeout for receiving a request's line and headers: its keep-alive timer is
only armed after a response and is cancelled by any byte, and a new connection gets none at
all. A client that connects and sends nothing, or a header byte now and then (slowloris),
holds a connection and its memory for ever. Here the head of every request, the first on a
connection and each kept-alive one after it, must be complete within ``seconds`` of its
first byte (of the connection, for the first); otherwise the connection is closed. Bodies
have their own limits (``filebay.web.limits``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: What ``filebay serve`` hands uvicorn as ``http`` (a string, so worker processes import it).
PROTOCOL = "filebay.web.protocol:HeadDeadlineProtocol"


class HeadDeadlineProtocol(HttpToolsProtocol):
    #: Set from FILEBAY_HEADER_TIMEOUT_SECONDS by ``filebay.app.create_app``, which every
    #: worker process runs before it serves.
    seconds: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        # Between a request's complete head and the end of its body: the body's own limits
        # apply, not this deadline.
        self._in_body = False

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

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte

    def data_received(self, data: bytes) -> None:
        if not self._in_body:
            self._arm()  # bytes of a head (or before one): its clock runs from the first
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._in_body = False
        self._arm()  # a pipelined request behind the last one's body
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
