"""filebay.sharing.grants: the signed cookies of a share link, under a key of their own."""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from filebay.catalog.shares import Share
from filebay.config import Settings
from filebay.sharing.grants import (
    TICKET_SECONDS,
    UNLOCK_SECONDS,
    Purpose,
    ShareGrants,
    cookie_name,
)
from tests.unit.sharing.fakes import share

KEY = "k" * 43
T0 = 2_000_000_000.0
TOKEN = "the-token"
LOCKED = share(password_hash="$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA")


def jar(
    grants: ShareGrants, purpose: Purpose, item: Share = LOCKED, now: float = T0
) -> dict[str, str]:
    cookie = grants.issue(purpose, item, TOKEN, now=now)
    return {cookie.name: cookie.value}


@pytest.mark.parametrize(
    ("purpose", "seconds"), [(Purpose.unlock, UNLOCK_SECONDS), (Purpose.ticket, TICKET_SECONDS)]
)
def test_a_grant_is_a_cookie_of_the_link_only(purpose: Purpose, seconds: int) -> None:
    cookie = ShareGrants(KEY).issue(purpose, LOCKED, TOKEN, now=T0)
    assert (
        cookie.name == f"filebay_{purpose.value}_{LOCKED.id[:12]}" == cookie_name(purpose, LOCKED)
    )
    assert cookie.path == f"/s/{TOKEN}"
    assert cookie.max_age == seconds
    assert re.fullmatch(rf"{int(T0) + seconds}\.[0-9a-f]{{64}}", cookie.value)


def test_a_grant_holds_until_it_expires() -> None:
    grants = ShareGrants(KEY)
    cookies = jar(grants, Purpose.unlock)
    assert grants.holds(Purpose.unlock, LOCKED, cookies, now=T0)
    assert grants.holds(Purpose.unlock, LOCKED, cookies, now=T0 + UNLOCK_SECONDS)
    assert not grants.holds(Purpose.unlock, LOCKED, cookies, now=T0 + UNLOCK_SECONDS + 1)


def test_a_grant_is_bound_to_key_link_password_and_purpose() -> None:
    grants = ShareGrants(KEY)
    cookies = jar(grants, Purpose.unlock)
    # Another key (the service token, say) did not sign it.
    assert not ShareGrants("another key").holds(Purpose.unlock, LOCKED, cookies, now=T0)
    # Another link (the cookie renamed to fit it), or a new password on this one.
    other = dataclasses.replace(LOCKED, id="7" * 32)
    renamed = {cookie_name(Purpose.unlock, other): next(iter(cookies.values()))}
    assert not grants.holds(Purpose.unlock, other, renamed, now=T0)
    repassworded = dataclasses.replace(LOCKED, password_hash="$argon2id$other")
    assert not grants.holds(Purpose.unlock, repassworded, cookies, now=T0)
    # A ticket is no unlock, and an unlock no ticket.
    ticket = jar(grants, Purpose.ticket)
    as_unlock = {cookie_name(Purpose.unlock, LOCKED): next(iter(ticket.values()))}
    assert not grants.holds(Purpose.unlock, LOCKED, as_unlock, now=T0)
    assert not grants.holds(Purpose.ticket, LOCKED, cookies, now=T0)


def test_unlocked_needs_a_grant_only_with_a_password() -> None:
    grants = ShareGrants(KEY)
    assert grants.unlocked(share(), {})
    assert not grants.unlocked(LOCKED, {})
    assert grants.unlocked(LOCKED, jar(grants, Purpose.unlock, now=T0 + 10**9))
    assert not grants.unlocked(LOCKED, jar(grants, Purpose.ticket, now=T0 + 10**9))


@given(st.text(st.characters(max_codepoint=0xFF)))
@example("")
@example("1")
@example(".")
@example("9999999999.deadbeef")
@example(f"{int(T0) + 99}.{'0' * 64}")
@example("²³.abc")  # digits to isdigit(), not to int()
@example(f"{int(T0) + 99}.{'é' * 64}")  # compare_digest() refuses non-ASCII text
def test_any_forged_value_is_no_grant(value: str) -> None:
    grants = ShareGrants(KEY)
    for purpose in Purpose:
        assert not grants.holds(purpose, LOCKED, {cookie_name(purpose, LOCKED): value}, now=T0)


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        ShareGrants("")


def test_the_key_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, service_token="the service token")
    first = ShareGrants.from_settings(settings)
    path = tmp_path / "share_cookie_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text()) >= 43 and path.read_text() != "the service token"
    cookies = jar(first, Purpose.unlock)
    # Another process (another download replica on the same data dir) reads the same key.
    assert ShareGrants.from_settings(Settings(data_dir=tmp_path)).unlocked(LOCKED, cookies)
    assert not ShareGrants("the service token").unlocked(LOCKED, cookies)
    assert "share_cookie_key" not in repr(first) and path.read_text() not in repr(first)


def test_a_configured_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, share_cookie_key="configured key")
    cookies = jar(ShareGrants.from_settings(settings), Purpose.unlock)
    assert ShareGrants("configured key").unlocked(LOCKED, cookies)
    assert not (tmp_path / "share_cookie_key").exists()
    # Blank means unset: never an empty key.
    blank = Settings(data_dir=tmp_path, share_cookie_key="")
    assert blank.resolved_share_cookie_key() == (tmp_path / "share_cookie_key").read_text()
