"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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


async def _on_hashing_pool(fn: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, fn)


async def hash_password(password: str) -> str:
    """Argon2id hash, on the hashing pool (it is deliberately slow)."""
    return await _on_hashing_pool(lambda: _hasher.hash(password))


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await _on_hashing_pool(check)


def random_password() -> str:
    return secrets.token_urlsafe(18)
