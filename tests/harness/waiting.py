"""Waiting for something the servers do in their own time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    probe: Callable[[], bool], timeout: float, what: str = "", *, interval: float = 0.1
) -> float:
    """Poll ``probe`` every ``interval`` seconds until it holds; the seconds that took.
    Fails the test when it still does not hold after ``timeout`` seconds."""
    start = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout:.1f} s: {what or probe}")
        time.sleep(interval)
