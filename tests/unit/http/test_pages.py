"""Whose files a page lists, what fits in an upload, and expiries in words."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from filebay.auth.principal import Principal
from filebay.http.pages import list_scope, until_words, upload_room

ADMIN = Principal("root", is_admin=True)
USER = Principal("ann", is_admin=False)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_admin_lists_their_own_files_unless_they_ask_for_all() -> None:
    assert list_scope(ADMIN, None) == "root"
    assert list_scope(ADMIN, "all") is None


def test_a_user_asking_for_all_still_gets_their_own() -> None:
    assert list_scope(USER, None) == "ann"
    assert list_scope(USER, "all") == "ann"


class Usage:
    def __init__(self, used: int) -> None:
        self.used = used

    async def usage(self, owner: str) -> int:
        return self.used


@pytest.mark.parametrize(
    ("quota", "used", "limit", "room"),
    [
        (None, 0, 1000, 1000),  # no quota: the server's size limit
        (500, 100, 1000, 400),  # the quota left is less than the limit
        (5000, 100, 1000, 1000),  # the limit is less than the quota left
        (500, 900, 1000, 0),  # over quota (lowered by an admin): nothing fits
    ],
)
def test_what_fits_is_the_smaller_of_the_limit_and_the_quota_left(
    quota: int | None, used: int, limit: int, room: int
) -> None:
    principal = Principal("ann", is_admin=False, quota_bytes=quota)
    assert asyncio.run(upload_room(Usage(used), principal, limit)) == room


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=7), "in 7 days"),
        (timedelta(days=1), "in 1 day"),
        (timedelta(hours=3), "in 3 hours"),
        (timedelta(minutes=1), "in 1 minute"),
        (timedelta(seconds=20), "in 1 minute"),
        (timedelta(days=30), "in 1 month"),
        (timedelta(days=400), "in 1 year"),
        (timedelta(seconds=-5), "now"),
    ],
)
def test_expiries_in_words(delta: timedelta, words: str) -> None:
    assert until_words(NOW + delta, NOW) == words
