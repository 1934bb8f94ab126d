"""The OpenID Provider of the single sign-on tests (tests/e2e/sso/provider: panva's
oidc-provider in Node) and filebay set up to trust it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.harness.http import ADMIN_PASSWORD

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "filebay"
CLIENT_SECRET = "test-client-secret-0123456789"
CALLBACK = "/api/auth/oidc/callback"
ADMIN_GROUP = "filebay-admins"

#: The provider's accounts: login → password and the claims it vouches for.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "alice-sub": {
        "password": "alice-op-password",
        "claims": {"preferred_username": "alice", "name": "Alice", "groups": ["staff"]},
    },
    "bob-sub": {
        "password": "bob-op-password",
        "claims": {"preferred_username": "bob", "groups": ["staff", ADMIN_GROUP]},
    },
    # Claims the name of a local account: must never be linked to it.
    "mallory-sub": {
        "password": "mallory-op-password",
        "claims": {"preferred_username": "localuser", "groups": [ADMIN_GROUP]},
    },
    "carol-sub": {
        "password": "carol-op-password",
        "claims": {"preferred_username": "carol", "groups": []},
    },
}


def sso_env(issuer: str, **more: str) -> dict[str, str]:
    return {
        "FILEBAY_AUTH": "on",
        "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "FILEBAY_LOG_LEVEL": "warning",
        "FILEBAY_OIDC_ISSUER": issuer,
        "FILEBAY_OIDC_CLIENT_ID": CLIENT_ID,
        "FILEBAY_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "FILEBAY_OIDC_NAME": "Test Provider",
        "FILEBAY_OIDC_SCOPES": "openid profile groups",
        "FILEBAY_OIDC_ADMIN_GROUPS": ADMIN_GROUP,
        **more,
    }


def install_provider() -> Path:
    """oidc-provider from provider/package-lock.json (``npm ci`` when missing or stale); the
    script to run with ``node``."""
    npm = shutil.which("npm")
    assert shutil.which("node") and npm, "node and npm are needed for the SSO tests"
    lock = json.loads((PROVIDER_DIR / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/oidc-provider"]["version"]
    manifest = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    with (Path(tempfile.gettempdir()) / "filebay-sso-provider-install.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        installed = json.loads(manifest.read_text())["version"] if manifest.exists() else None
        if installed != wanted:
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PROVIDER_DIR,
                check=True,
                timeout=300,
            )
    return PROVIDER_DIR / "provider.mjs"


@dataclass
class OpenIdProvider:
    issuer: str
    proc: subprocess.Popen[str]

    def tamper(self, mode: str) -> None:
        """The next token answer carries an ID token changed by ``mode`` (see provider.mjs)."""
        response = httpx.post(f"{self.issuer}/__test/tamper", params={"mode": mode})
        assert response.status_code == 204, response.text

    def set_claims(self, account: str, claims: dict[str, Any]) -> None:
        response = httpx.post(
            f"{self.issuer}/__test/claims",
            params={"account": account},
            data={"claims": json.dumps(claims)},
        )
        assert response.status_code == 204, response.text


@contextlib.contextmanager
def running_provider(
    script: Path, port: int, redirect_uris: list[str], log_path: Path
) -> Iterator[OpenIdProvider]:
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }
    options = {"port": port, "client": client, "accounts": ACCOUNTS}
    node = shutil.which("node")
    assert node
    # Accounts are changed by the tests: each provider gets its own copy.
    options["accounts"] = json.loads(json.dumps(ACCOUNTS))
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [node, str(script), json.dumps(options)], stdout=subprocess.PIPE, stderr=log, text=True
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("{"), f"the provider did not start: {log_path.read_text()}"
        yield OpenIdProvider(json.loads(line)["issuer"], proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sign_in_until_callback(http: httpx.Client, base: str, account: str, next: str = "/") -> str:
    """A browser's way with ``http`` (a client that keeps cookies): filebay's SSO start, the
    provider's login form as ``account``; the callback URL the provider sends it back to
    (not yet visited, so a test can tamper with it)."""
    response = http.get(f"{base}/api/auth/oidc/login", params={"next": next})
    assert response.status_code == 302, response.text
    url = response.headers["location"]
    for _ in range(10):
        if url.startswith(base + CALLBACK):
            return url
        response = http.get(url)
        if response.status_code == 200 and 'id="op-login"' in response.text:
            found = re.search(r'action="([^"]+)"', response.text)
            assert found
            password = ACCOUNTS[account]["password"]
            response = http.post(
                urljoin(url, found.group(1)), data={"login": account, "password": password}
            )
        assert response.status_code in (302, 303), f"{response.status_code} {response.text}"
        url = urljoin(url, response.headers["location"])
    raise AssertionError(f"the provider never sent the browser back: {url}")
