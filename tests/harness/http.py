"""Talking to a running filebay: the client that fails a test on any 5xx, logins, users and
API tokens."""

from __future__ import annotations

import contextlib
import functools
import secrets
import time
from collections.abc import Callable, Collection, Iterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

ADMIN = "admin"
# The first admin's password (FILEBAY_ADMIN_PASSWORD) and the other users', for the suites
# with logins that have no reason to pick their own.
ADMIN_PASSWORD = "admin-password-0123"
PASSWORD = "user-password-0123"

# The 5xx answers filebay gives on purpose when a part under it fails: the catalog or the
# blob store unavailable (503), the blob store full (507). Only the tests that break those
# parts accept them (``client(allow=OUTAGE)``).
OUTAGE = frozenset({503, 507})


def refuse_500(response: httpx.Response, allow: Collection[int] = ()) -> None:
    """An httpx response hook: any 5xx answer (but those in ``allow``) fails the test. A 500
    is always a bug, and so is a 502 or 504 between filebay's own services."""
    status = response.status_code
    if status < 500 or status in allow:
        return
    body = b""
    with contextlib.suppress(httpx.HTTPError):
        body = response.read()[:2000]
    raise AssertionError(
        f"{response.request.method} {response.request.url} answered {status}: {body!r}"
    )


def client(
    timeout: float = 30.0, *, cookies: bool = False, allow: Collection[int] = ()
) -> httpx.Client:
    """An httpx client that fails the test on any 5xx answer but those in ``allow``.
    Without ``cookies`` it keeps none, so no answer (a login, an unlock, a download ticket)
    silently changes the requests that follow."""
    jar = CookieJar() if cookies else CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    hook = functools.partial(refuse_500, allow=frozenset(allow))
    return httpx.Client(timeout=timeout, cookies=jar, event_hooks={"response": [hook]})


@contextlib.contextmanager
def _client_or(http: httpx.Client | None) -> Iterator[httpx.Client]:
    """``http`` itself (left open), or a client of the call's own (closed afterwards)."""
    if http is not None:
        yield http
        return
    with client() as own:
        yield own


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """``call()``'s answer, and the seconds it took."""
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def api_login(
    auth_base: str, username: str, password: str, *, http: httpx.Client | None = None
) -> str:
    """A bearer JWT from the OAuth2 password flow of the service at ``auth_base``."""
    with _client_or(http) as c:
        response = c.post(
            f"{auth_base}/api/auth/token", data={"username": username, "password": password}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def create_user(
    auth_base: str,
    admin: dict[str, str],
    username: str,
    password: str,
    *,
    role: str = "user",
    http: httpx.Client | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A new user, made by the admin whose headers are ``admin``; the user record."""
    body = {"username": username, "password": password, "role": role, **fields}
    with _client_or(http) as c:
        response = c.post(f"{auth_base}/api/users", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_api_token(
    auth_base: str, headers: dict[str, str], name: str, *, http: httpx.Client | None = None
) -> dict[str, Any]:
    """A new API token of the user whose headers are ``headers``; the answer (with the
    secret under ``token``, shown only this once)."""
    with _client_or(http) as c:
        response = c.post(f"{auth_base}/api/tokens", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())
