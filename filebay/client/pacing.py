"""Waiting on purpose: retry backoff, and an optional cap on the transfer rate."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from filebay.client.errors import UsageError


@dataclass
class Backoff:
    """Exponential backoff: ``initial`` seconds, doubling up to ``maximum``, at most
    ``attempts`` failures in a row before giving up."""

    initial: float = 0.5
    maximum: float = 30.0
    attempts: int = 8
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, failure: int) -> float:
        """Seconds to wait after the ``failure``-th failure in a row (counted from 1)."""
        return float(min(self.maximum, self.initial * 2 ** max(0, failure - 1)))

    def exhausted(self, failure: int) -> bool:
        return failure > self.attempts

    def wait(self, failure: int) -> None:
        self.sleep(self.delay(failure))


class RateLimiter:
    """Keeps the average rate at or below ``bytes_per_second`` by sleeping before sends."""

    def __init__(
        self,
        bytes_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bytes_per_second <= 0:
            raise ValueError("the rate must be positive")
        self.rate = bytes_per_second
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._sent = 0

    def throttle(self, size: int) -> None:
        """Call before sending ``size`` bytes; returns when they may go."""
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._sent / self.rate
        if due > now:
            self._sleep(due - now)
        elif now - due > 1.0:
            # After a pause (a retry's wait) do not burst to catch up.
            self._start, self._sent = now, 0
        self._sent += size


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_rate(text: str) -> float:
    """``500K``, ``2M``, ``1.5G`` or plain bytes (per second) → bytes per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"invalid rate {text!r}: use e.g. 500K, 2M or 1G (bytes per second)")
    return float(match.group(1)) * _UNITS[match.group(2).upper()]
