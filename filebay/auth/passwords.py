"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from filebay.errors import HashingBusy, TooManyAtOnce

if TYPE_CHECKING:
    from filebay.config import Settings

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

# Argon2id is slow and takes 64 MiB on purpose. It runs on a small pool of its own: on the
# shared one, a burst of logins (a password guesser's, say) would take every worker thread
# and stall the file reads, writes and fsyncs of every request in the process, and memory
# would grow by 64 MiB for each thread hashing at once.
HASHING_THREADS = 2
_pool = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="filebay-argon2")
T = TypeVar("T")

#: The lane of hashing that no client address asked for (a new password, a new share).
OWN_LANE = ""


@dataclass(frozen=True, slots=True)
class QueueBound:
    """How many password checks may be in progress at once (admitted: waiting for the
    database, queued for a hashing thread or hashing): in the process (``total``, past it
    ``HashingBusy``, 503) and for one client address (``per_lane``, past it
    ``TooManyAtOnce``, 429)."""

    total: int
    per_lane: int


def hashing_bound(settings: Settings) -> QueueBound:
    """The bound of the checks clients ask for (``FILEBAY_HASH_QUEUE_MAX``,
    ``FILEBAY_HASH_QUEUE_PER_ADDRESS``)."""
    return QueueBound(settings.hash_queue_max, settings.hash_queue_per_address)


@dataclass(eq=False, slots=True)
class _Job:
    lane: str
    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class FairQueue:
    """Hashing jobs served lane by lane (a lane is a client address), in turn, on the
    hashing pool: a burst from one address waits behind itself, and another address's
    login gets the next free thread.

    A password check is admitted first (``admit``), before its attempt is counted in the
    database: the bounds hold what is in progress, so a burst is refused at once, in
    memory, rather than queueing up in front of the database and the hashing threads."""

    def __init__(self, threads: int = HASHING_THREADS) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._lanes: dict[str, deque[_Job]] = {}  # lanes with queued jobs, oldest first
        self._per_lane: dict[str, int] = {}  # admitted, per lane
        self._served: dict[str, int] = {}  # the turn a lane was last served at (while busy)
        self._turn = 0
        self._depth = 0  # admitted
        self._running = 0
        self._seconds = 0.25  # a moving average of one job's time

    @property
    def depth(self) -> int:
        return self._depth

    def retry_after(self) -> int:
        """A guess at how long what is in progress now takes, in whole seconds."""
        return max(1, math.ceil(self._depth * self._seconds / self._threads))

    def admit(self, lane: str, bound: QueueBound | None = None) -> Admission:
        """Room for one password check of ``lane``; refused at once past the ``bound``."""
        with self._lock:
            if bound is not None:
                if self._per_lane.get(lane, 0) >= bound.per_lane:
                    raise TooManyAtOnce(max(1, math.ceil(self._seconds)))
                if self._depth >= bound.total:
                    raise HashingBusy(self.retry_after())
            self._per_lane[lane] = self._per_lane.get(lane, 0) + 1
            self._depth += 1
        return Admission(self, lane)

    async def run(self, lane: str, fn: Callable[[], T], bound: QueueBound | None = None) -> T:
        """``fn()`` on the pool when the lane's turn comes (admitted, then let go)."""
        with self.admit(lane, bound) as admission:
            return await admission.run(fn)

    def leave(self, lane: str) -> None:
        """An admitted check of ``lane`` is over."""
        with self._lock:
            self._depth -= 1
            left = self._per_lane[lane] - 1
            if left:
                self._per_lane[lane] = left
            else:
                del self._per_lane[lane]
                self._served.pop(lane, None)

    async def enqueue(self, lane: str, fn: Callable[[], T]) -> T:
        """``fn()`` on the pool when the lane's turn comes (for an admitted check)."""
        loop = asyncio.get_running_loop()
        job = _Job(lane, fn, loop, loop.create_future())
        with self._lock:
            self._lanes.setdefault(lane, deque()).append(job)
            self._dispatch()
        try:
            return await job.future  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            with self._lock:
                queued = self._lanes.get(lane)
                if queued is not None and job in queued:  # never started: take it back
                    queued.remove(job)
                    if not queued:
                        del self._lanes[lane]
            raise

    def _dispatch(self) -> None:
        """Start queued jobs while a thread is free (lock held): next is the lane served
        longest ago (never, for a lane new to the queue), so each lane gets its turn."""
        while self._running < self._threads and self._lanes:
            lane = min(self._lanes, key=lambda name: self._served.get(name, 0))
            queued = self._lanes[lane]
            job = queued.popleft()
            if not queued:
                del self._lanes[lane]
            self._turn += 1
            self._served[lane] = self._turn
            self._running += 1
            _pool.submit(self._work, job)

    def _work(self, job: _Job) -> None:
        """On a hashing thread: run the job, hand its outcome back to its event loop."""
        started = time.monotonic()
        try:
            outcome: Any = job.fn()
            failed = False
        except BaseException as exc:  # handed to the waiting coroutine
            outcome, failed = exc, True
        took = time.monotonic() - started
        with self._lock:
            self._seconds = 0.8 * self._seconds + 0.2 * took
            self._running -= 1
            self._dispatch()
        with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
            job.loop.call_soon_threadsafe(_settle, job.future, outcome, failed)


class Admission:
    """One admitted password check: its hashing goes in its lane's queue. Let go when done
    (a ``with`` block does it)."""

    def __init__(self, queue: FairQueue, lane: str) -> None:
        self._owner = queue
        self._lane = lane
        self._open = True

    async def run(self, fn: Callable[[], T]) -> T:
        return await self._owner.enqueue(self._lane, fn)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._owner.leave(self._lane)

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.done():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


_queue = FairQueue()


def admit_check(client: str, bound: QueueBound) -> Admission:
    """Room for one password check asked for by ``client`` (its address), taken before its
    attempt is counted: ``TooManyAtOnce`` (429) when that address has ``bound.per_lane``
    checks in progress, ``HashingBusy`` (503) when the process has ``bound.total``."""
    return _queue.admit(client, bound)


async def hash_password(password: str) -> str:
    """Argon2id hash, on the hashing pool (it is deliberately slow)."""
    return await _queue.run(OWN_LANE, lambda: _hasher.hash(password))


async def verify_password(
    stored_hash: str | None, password: str, *, admission: Admission | None = None
) -> bool:
    """Whether ``password`` is the one hashed as ``stored_hash`` (``None``: no such user,
    checked against a dummy hash all the same), on the hashing pool: in the lane of the
    ``admission`` (see ``admit_check``), or in the process's own."""

    def check() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    if admission is not None:
        return await admission.run(check)
    return await _queue.run(OWN_LANE, check)


def random_password() -> str:
    return secrets.token_urlsafe(18)
