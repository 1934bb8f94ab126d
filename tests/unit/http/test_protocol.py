"""filebay.http.protocol: the size of a request's head, counted as its bytes arrive.

The protocol runs on a fake transport with a small ASGI app that reads each body and
answers 200 with what it saw, so every test sees exactly which requests got through."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from filebay.http.protocol import HeadDeadlineProtocol

MAX_BYTES = 1024
MAX_COUNT = 10


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.protocol: HeadDeadlineProtocol | None = None
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        extra = {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}
        return extra.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self.written += data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            assert self.protocol is not None
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Seen:
    """What the app saw: (method, path, header count, body bytes) per request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int, int]] = []

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.requests.append((scope["method"], scope["path"], len(scope["headers"]), size))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class Connection:
    def __init__(self, protocol: HeadDeadlineProtocol, transport: FakeTransport, app: Seen):
        self.protocol = protocol
        self.transport = transport
        self.app = app

    async def send(self, data: bytes, every: int | None = None) -> None:
        """``data`` in one ``data_received``, or in pieces of ``every`` bytes."""
        step = every or len(data) or 1
        for start in range(0, len(data), step):
            if self.transport.closed:
                break
            self.protocol.data_received(data[start : start + step])
            await asyncio.sleep(0)
        for _ in range(20):  # let the app answer
            await asyncio.sleep(0)

    @property
    def statuses(self) -> list[int]:
        return [int(line.split(b" ")[1]) for line in _status_lines(self.transport.written)]


def _status_lines(written: bytes | bytearray) -> list[bytes]:
    return [line for line in bytes(written).split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def run(scenario: Callable[[Connection], Awaitable[None]]) -> None:
    async def main() -> None:
        app = Seen()
        config = Config(app=app, lifespan="off", log_level="critical")
        protocol = HeadDeadlineProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.max_bytes = MAX_BYTES
        protocol.max_count = MAX_COUNT
        transport = FakeTransport()
        transport.protocol = protocol
        protocol.connection_made(transport)
        try:
            await scenario(Connection(protocol, transport, app))
        finally:
            transport.close()
            await asyncio.sleep(0)

    asyncio.run(main())


def head(*lines: bytes, method: bytes = b"GET", target: bytes = b"/x") -> bytes:
    return (
        b"%s %s HTTP/1.1\r\nHost: x\r\n" % (method, target)
        + b"".join(line + b"\r\n" for line in lines)
        + b"\r\n"
    )


def padded(size: int, *lines: bytes) -> bytes:
    """A GET head of exactly ``size`` bytes (a padding header makes up the rest)."""
    bare = head(*lines, b"X-Pad: ")
    assert len(bare) <= size
    return head(*lines, b"X-Pad: " + b"p" * (size - len(bare)))


def assert_refused(conn: Connection) -> None:
    assert conn.transport.closed
    answer = bytes(conn.transport.written)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:100]
    headers, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nconnection: close" in headers
    assert json.loads(body)["code"] == "headers_too_large"


# --- the cap in bytes ---------------------------------------------------------------------


@pytest.mark.parametrize("every", [None, 1, 7, 100])
def test_a_head_of_exactly_the_cap_is_served(every: int | None) -> None:
    async def scenario(conn: Connection) -> None:
        await conn.send(padded(MAX_BYTES), every)
        assert conn.statuses == [200]
        assert not conn.transport.closed

    run(scenario)


@pytest.mark.parametrize("every", [None, 1, 7, 100])
def test_a_head_one_byte_over_the_cap_is_refused(every: int | None) -> None:
    async def scenario(conn: Connection) -> None:
        await conn.send(padded(MAX_BYTES + 1), every)
        assert_refused(conn)
        assert conn.app.requests == []

    run(scenario)


def test_a_head_split_across_many_small_pieces_is_refused_as_soon_as_it_is_over() -> None:
    async def scenario(conn: Connection) -> None:
        flood = b"GET /x HTTP/1.1\r\n" + b"a:b\r\n" * 10_000
        fed = 0
        for start in range(0, len(flood), 3):
            if conn.transport.closed:
                break
            conn.protocol.data_received(flood[start : start + 3])
            fed += 3
        assert_refused(conn)
        assert fed <= MAX_BYTES + 3  # closed at once: nothing after the cap was read
        # and the parser was not handed more than the cap
        assert len(conn.protocol.headers) * 5 <= MAX_BYTES

    run(scenario)


def test_bytes_after_the_refusal_are_not_parsed() -> None:
    async def scenario(conn: Connection) -> None:
        conn.protocol.data_received(b"GET /x HTTP/1.1\r\n" + b"a:b\r\n" * 1000)
        assert_refused(conn)
        seen = len(conn.protocol.headers)
        conn.protocol.data_received(b"a:b\r\n" * 1000)  # still in flight when it closed
        assert len(conn.protocol.headers) == seen
        assert seen <= MAX_COUNT

    run(scenario)


def test_a_long_request_line_is_refused() -> None:
    async def scenario(conn: Connection) -> None:
        await conn.send(b"GET /" + b"u" * 4000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", every=500)
        assert_refused(conn)
        assert conn.app.requests == []

    run(scenario)


def test_one_long_header_value_is_refused_before_it_ends() -> None:
    async def scenario(conn: Connection) -> None:
        conn.protocol.data_received(b"GET /x HTTP/1.1\r\nCookie: ")
        for _ in range(100):
            if conn.transport.closed:
                break
            conn.protocol.data_received(b"c" * 100)
        assert_refused(conn)

    run(scenario)


# --- the cap in header lines ----------------------------------------------------------------


def test_the_most_header_lines_are_served_and_one_more_is_refused() -> None:
    lines = [b"X-%d: 1" % n for n in range(MAX_COUNT - 1)]  # and Host

    async def served(conn: Connection) -> None:
        await conn.send(head(*lines))
        assert conn.statuses == [200]
        assert conn.app.requests == [("GET", "/x", MAX_COUNT, 0)]

    async def refused(conn: Connection) -> None:
        await conn.send(head(*lines, b"X-More: 1"))
        assert_refused(conn)
        assert conn.app.requests == []

    run(served)
    run(refused)


# --- what is not a head -----------------------------------------------------------------------


@pytest.mark.parametrize("every", [None, 1000, 65536])
def test_a_large_body_is_not_counted(every: int | None) -> None:
    body = b"b" * (1024 * 1024)
    request = head(b"Content-Length: %d" % len(body), method=b"POST") + body

    async def scenario(conn: Connection) -> None:
        await conn.send(request, every)
        assert conn.statuses == [200]
        assert conn.app.requests == [("POST", "/x", 2, len(body))]
        assert not conn.transport.closed

    run(scenario)


def test_a_chunked_body_is_not_counted() -> None:
    chunk = b"%x\r\n%s\r\n" % (4096, b"c" * 4096)
    request = head(b"Transfer-Encoding: chunked", method=b"POST") + chunk * 100 + b"0\r\n\r\n"

    async def scenario(conn: Connection) -> None:
        await conn.send(request, every=3000)
        assert conn.statuses == [200]
        assert conn.app.requests == [("POST", "/x", 2, 409600)]

    run(scenario)


def test_each_kept_alive_request_has_a_head_of_its_own() -> None:
    async def scenario(conn: Connection) -> None:
        for _ in range(5):  # 5 heads near the cap on one connection
            await conn.send(padded(MAX_BYTES - 10))
        assert conn.statuses == [200] * 5

    run(scenario)


def test_pipelined_requests_in_one_piece_each_have_their_own_head() -> None:
    body = b"b" * 3000
    post = head(b"Content-Length: %d" % len(body), method=b"POST") + body
    requests = padded(MAX_BYTES - 100) + post + padded(MAX_BYTES) + padded(MAX_BYTES - 1)

    async def scenario(conn: Connection) -> None:
        await conn.send(requests)
        for _ in range(50):
            await asyncio.sleep(0)
        assert [r[3] for r in conn.app.requests] == [0, 3000, 0, 0]
        assert conn.statuses == [200] * 4
        assert not conn.transport.closed

    run(scenario)


def test_a_large_head_behind_a_body_in_the_same_piece_is_refused() -> None:
    body = b"b" * 300
    post = head(b"Content-Length: %d" % len(body), method=b"POST") + body
    flood = b"GET /y HTTP/1.1\r\n" + b"a:b\r\n" * 2000

    async def scenario(conn: Connection) -> None:
        await conn.send(post + flood)
        assert conn.transport.closed
        assert [r[1] for r in conn.app.requests] == ["/x"]  # the second never reached the app
        assert len(conn.protocol.headers) <= MAX_COUNT

    run(scenario)


def test_a_flood_of_header_lines_behind_a_body_is_refused() -> None:
    # The body ends within a read, and the next head goes on over many reads.
    body = b"b" * 300
    post = head(b"Content-Length: %d" % len(body), method=b"POST") + body
    flood = b"GET /y HTTP/1.1\r\n" + b"X-Long: " + b"v" * 5000

    async def scenario(conn: Connection) -> None:
        await conn.send(post + flood, every=len(post) + 30)
        assert conn.transport.closed
        assert [r[1] for r in conn.app.requests] == ["/x"]

    run(scenario)


# --- trailers: the fields after a chunked body are capped like a head ---------------------


CHUNKED = head(b"Transfer-Encoding: chunked", method=b"POST")


def test_chunk_data_after_a_size_line_alone_in_its_piece_is_not_counted() -> None:
    data = b"c" * (4 * MAX_BYTES)

    async def scenario(conn: Connection) -> None:
        await conn.send(CHUNKED)
        for _ in range(5):
            await conn.send(b"%x\r\n" % len(data))  # the size line ends the piece
            await conn.send(data + b"\r\n")
        await conn.send(b"0\r\n")
        await conn.send(b"X-Sum: 1\r\n\r\n")
        assert conn.statuses == [200]
        assert conn.app.requests == [("POST", "/x", 2 + 1, 5 * len(data))]  # uvicorn adds it

    run(scenario)


@pytest.mark.parametrize("every", [None, 5, 100])
def test_a_trailer_over_the_cap_is_refused(every: int | None) -> None:
    async def scenario(conn: Connection) -> None:
        await conn.send(CHUNKED + b"3\r\nabc\r\n0\r\nX-Sum: ")
        await conn.send(b"s" * (2 * MAX_BYTES), every)
        assert conn.transport.closed

    run(scenario)


def test_a_trailer_that_begins_in_a_piece_of_body_is_counted_from_the_next_piece() -> None:
    # Where a piece that began in a body ends its data is not known: at most that piece
    # (one read) of trailer goes uncounted.
    async def scenario(conn: Connection) -> None:
        await conn.send(CHUNKED + b"3\r\nabc\r\n")
        await conn.send(b"0\r\nX-Sum: " + b"s" * (2 * MAX_BYTES))
        assert not conn.transport.closed
        await conn.send(b"s" * (MAX_BYTES + 1), every=100)
        assert conn.transport.closed

    run(scenario)


def test_a_trailer_of_too_many_lines_is_refused() -> None:
    async def scenario(conn: Connection) -> None:
        await conn.send(CHUNKED + b"3\r\nabc\r\n0\r\n" + b"t:1\r\n" * (MAX_COUNT + 1) + b"\r\n")
        assert conn.transport.closed

    run(scenario)
