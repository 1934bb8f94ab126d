"""Request heads have a size: every service, in both shapes, refuses a request line and
headers larger than FILEBAY_MAX_HEADER_BYTES (64 KiB) or with more than
FILEBAY_MAX_HEADER_COUNT (100) header lines, answering 431 or closing at once, and its memory
stays flat under a flood of header lines (uvicorn's httptools parser keeps them all).

Each attack is bounded: a connection stops sending after ATTACK_BYTES (32 times the cap), so a
server without the cap grows by a few hundred MiB, not without end."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.e2e.auth.support import Portal
from tests.e2e.ops.support import KIB, MIB, connect, read_status

# (fixture, service): the all-in-one process and each process of the split shape.
TARGETS = [
    ("single", "all"),
    ("split", "upload"),
    ("split", "download"),
    ("split", "metadata"),
    ("split", "auth"),
]
CONNECTIONS = 4
ATTACK_BYTES = 2 * MIB  # per connection
LINE = b"a:b\r\n"  # the shortest header line: the most headers per byte
BLOCK = LINE * (64 * KIB // len(LINE))
HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
RSS_BOUND = 50 * MIB


@pytest.fixture(params=TARGETS, ids=[f"{shape}-{service}" for shape, service in TARGETS])
def target(request: pytest.FixtureRequest) -> tuple[str, int]:
    """The base URL and pid of one server process."""
    shape, service = request.param
    portal: Portal = request.getfixturevalue(shape)
    proc = portal.deployment.processes[service]
    assert proc.proc is not None
    return proc.url, proc.proc.pid


def rss(pid: int) -> int:
    """The resident set of process ``pid``, in bytes (VmRSS)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
    raise AssertionError(f"no VmRSS for {pid}")


@contextlib.contextmanager
def connections(base: str, count: int) -> Iterator[list[socket.socket]]:
    socks = [connect(base, timeout=10) for _ in range(count)]
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _answer(sock: socket.socket, timeout: float = 5.0) -> int | str | None:
    """The status the server answered on ``sock``; None when it closed the connection
    without one; "open" when it did neither within ``timeout``."""
    sock.settimeout(timeout)
    try:
        return read_status(sock)
    except TimeoutError:
        return "open"
    except OSError:
        return None


def _whole_answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _flood(
    socks: list[socket.socket], pid: int, first: bytes = HEAD, block: bytes = BLOCK
) -> tuple[int, list[int]]:
    """Send ``first`` and then ``block`` after ``block`` on every socket, round robin, until
    the server refuses each or each has sent ATTACK_BYTES; the server's peak RSS meanwhile,
    and the bytes each socket got through (the kernel's buffers take a few MiB more after a
    refusal before the sender hears of it)."""
    peak = rss(pid)
    sent = [0] * len(socks)
    live = [True] * len(socks)
    for sock in socks:
        sock.sendall(first)
    while any(live[i] and sent[i] < ATTACK_BYTES for i in range(len(socks))):
        for i, sock in enumerate(socks):
            if not live[i] or sent[i] >= ATTACK_BYTES:
                continue
            try:
                sock.sendall(block)
                sent[i] += len(block)
            except OSError:  # refused: reset or closed
                live[i] = False
        peak = max(peak, rss(pid))
    # What the server has yet to read and parse still counts: watch until its RSS has not
    # grown for half a second (a busy machine parses slowly).
    deadline = time.monotonic() + 10.0
    still_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - still_since < 0.5:
        now = rss(pid)
        if now > peak:
            peak, still_since = now, time.monotonic()
        time.sleep(0.05)
    return peak, sent


def test_a_flood_of_header_lines_is_refused_and_memory_stays_flat(
    target: tuple[str, int],
) -> None:
    base, pid = target
    idle = rss(pid)
    with connections(base, CONNECTIONS) as socks:
        peak, sent = _flood(socks, pid)
        answers = [_answer(sock) for sock in socks]
    grew = peak - idle
    figures = f"idle {idle / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, sent {sent}"
    assert grew < RSS_BOUND, figures
    assert all(answer in (431, None) for answer in answers), (answers, figures)
    # The service goes on serving, and what the flood cost is given back or was never taken.
    with connect(base) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_status(sock) == 200
    assert rss(pid) - idle < RSS_BOUND, figures


def test_a_long_request_line_is_refused(target: tuple[str, int]) -> None:
    base, pid = target
    idle = rss(pid)
    with connections(base, 1) as socks:
        peak, sent = _flood(socks, pid, first=b"GET /healthz?q=", block=b"u" * (64 * KIB))
        answer = _answer(socks[0])
    assert answer in (431, None), (answer, sent)
    assert peak - idle < RSS_BOUND, (idle, peak)


def test_too_many_header_lines_are_answered_431(target: tuple[str, int]) -> None:
    base, _ = target
    head = HEAD + b"".join(b"x-%d: 1\r\n" % n for n in range(200)) + b"\r\n"
    with connect(base) as sock:
        sock.sendall(head)
        answer = _whole_answer(sock)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 431 Request Header Fields Too Large", answer[:200]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert json.loads(body)["code"] == "headers_too_large"


def test_a_head_just_under_the_caps_is_served(target: tuple[str, int]) -> None:
    base, _ = target
    # 98 lines and about 60 KiB in all, with a body in the same packets: not refused.
    lines = b"".join(b"x-%d: %s\r\n" % (n, b"v" * 600) for n in range(97))
    body = b"b" * (200 * KIB)
    head = (
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body) + lines + b"\r\n"
    )
    assert 55 * KIB < len(head) < 64 * KIB
    with connect(base) as sock:
        sock.sendall(head + body)
        assert read_status(sock) == 405  # /healthz is GET only: the app saw the request
    with connect(base) as sock:
        sock.sendall(head.replace(b"POST", b"GET", 1).replace(b"Content-Length", b"X-Len"))
        assert read_status(sock) == 200
