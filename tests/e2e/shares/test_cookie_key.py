"""Share cookies are signed with a key of their own (``share_cookie_key`` in the data dir, or
FILEBAY_SHARE_COOKIE_KEY), not with the service token: a cookie signed the old way, with the
service token, unlocks nothing."""

from __future__ import annotations

import hashlib
import hmac
import stat
import time
from typing import Any

import httpx

from tests.e2e.shares.support import SHARE_PASSWORD, Portal, cookie_header

DATA = b"signed with its own key " * 100


def signed(key: str, purpose: str, share: dict[str, Any]) -> dict[str, str]:
    """A cookie of ``purpose`` for ``share`` (its database row), signed with ``key`` the way
    filebay signs one."""
    expires = int(time.time()) + 3600
    message = f"{purpose}|{share['id']}|{share['password_hash'] or ''}|{expires}".encode()
    signature = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return cookie_header({f"filebay_{purpose}_{share['id'][:12]}": f"{expires}.{signature}"})


def test_share_cookies_have_a_key_of_their_own(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    key_file = portal.data_dir / "share_cookie_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 43
    made = portal.share(owner, portal.put(owner, "keyed.bin", DATA), password=SHARE_PASSWORD)
    (row,) = [r for r in portal.rows("shares") if r["id"] == made["id"]]
    content, page = portal.content_url(made["token"]), portal.page_url(made["token"])

    others = ["not the key", key[::-1]]
    token_file = portal.data_dir / "service_token"
    if token_file.exists():  # the split shape's services share one
        service_token = token_file.read_text().strip()
        assert service_token != key
        others.append(service_token)
    for other in others:
        for purpose in ("unlock", "ticket"):
            forged = signed(other, purpose, row)
            assert http.get(content, headers=forged).status_code == 404
            assert http.head(content, headers=forged).status_code == 404
            assert 'type="password"' in http.get(page, headers=forged).text

    # The key in the data dir is the one the service that serves /s/… checks.
    unlocked = signed(key, "unlock", row)
    answer = http.get(content, headers=unlocked)
    assert answer.status_code == 200 and answer.content == DATA
    assert "keyed.bin" in http.get(page, headers=unlocked).text
