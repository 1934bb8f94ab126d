"""Backoff delays, the rate limiter and rate parsing."""

from __future__ import annotations

import pytest

from filebay.client.errors import ClientError
from filebay.client.pacing import Backoff, RateLimiter, parse_rate


def test_backoff_doubles_from_half_a_second_up_to_thirty() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert not backoff.exhausted(backoff.attempts)
    assert backoff.exhausted(backoff.attempts + 1)


def test_backoff_waits_with_the_given_sleep() -> None:
    slept: list[float] = []
    Backoff(sleep=slept.append).wait(3)
    assert slept == [2.0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_keeps_the_average_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.throttle(500)
    # 2500 bytes at 1000 B/s: the fifth piece may start at 2.0 s.
    assert clock.now == pytest.approx(102.0)


def test_rate_limiter_does_not_burst_after_a_pause() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)
    limiter.throttle(1000)
    clock.now += 60  # a long retry wait
    limiter.throttle(1000)
    limiter.throttle(1000)
    assert clock.slept == [pytest.approx(1.0)]


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("1000", 1000),
        ("500K", 512000),
        ("2M", 2 * 1024**2),
        ("1.5g", 1.5 * 1024**3),
        ("8MiB", 8 * 1024**2),
    ],
)
def test_parse_rate(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "0", "-1M", "2T"])
def test_parse_rate_refuses_nonsense_with_usage_exit(text: str) -> None:
    with pytest.raises(ClientError) as caught:
        parse_rate(text)
    assert caught.value.exit_code == 2
