"""The server lock: every filebay server process holds ``server.lock`` in the data dir
(shared) while it runs, so ``filebay fsck`` can tell whether a temp file may still be an
upload in flight.

``flock`` locks end with the process that holds them, a crash and a SIGKILL included, so a
lock nobody holds means no server runs on this data dir: every temp file there is then a
leftover of a crash, whatever its age (a ``.part`` of a killed upload would otherwise wait
out the grace period). While ``fsck`` looks, it holds the lock exclusively, and a server
starting meanwhile waits for it. Only the local store's temp files follow this rule: S3's
unfinished uploads may belong to replicas on other machines, which no local file tells of.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "server.lock"


class ServerLock:
    """Held (shared) by a running server; ``release`` on shutdown."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def hold(cls, data_dir: Path) -> ServerLock:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits while an fsck looks
        except BaseException:
            os.close(fd)
            raise
        return cls(fd)

    async def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the lock


@contextlib.contextmanager
def no_server_running(data_dir: Path) -> Iterator[bool]:
    """True (and no server may start until the block ends) when no server holds the data
    dir; False while one does."""
    path = data_dir / LOCK_NAME
    if not data_dir.is_dir():
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
