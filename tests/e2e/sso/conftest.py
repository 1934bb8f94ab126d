"""Fixtures of the single sign-on tests: a real OpenID Provider (oidc-provider in Node) and
filebay trusting it, in both shapes; Debian's Chromium for the browser tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.sso.support import (
    CALLBACK,
    OpenIdProvider,
    install_provider,
    running_provider,
    sso_env,
)
from tests.e2e.ui.support import CHROMIUM, CHROMIUM_ARGS
from tests.harness.portal import Portal, running_portal
from tests.harness.servers import assert_no_crashes, free_port, log_offsets

Site = tuple[Portal, OpenIdProvider]


@pytest.fixture(scope="session")
def provider_script() -> Path:
    return install_provider()


@contextlib.contextmanager
def sso_site(script: Path, shape: str, data_dir: Path, pg_url: str, **env: str) -> Iterator[Site]:
    """filebay trusting a provider started after it (the provider needs filebay's callback
    address, filebay the provider's: its port is chosen first)."""
    port = free_port()
    settings = sso_env(f"http://127.0.0.1:{port}", **env)
    with running_portal(Portal, shape, data_dir, pg_url, settings, "sso") as portal:
        callback = [portal.auth + CALLBACK]
        with running_provider(script, port, callback, data_dir / "provider.log") as provider:
            yield portal, provider


@pytest.fixture(scope="module", params=["all", "split"])
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_url: str,
    provider_script: Path,
) -> Iterator[Site]:
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"sso-{shape}")
    with sso_site(provider_script, shape, data_dir, pg_url) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    if "site" not in request.fixturenames:
        yield
        return
    portal, _provider = request.getfixturevalue("site")
    offsets = log_offsets(portal.deployment)
    yield
    assert_no_crashes(portal.deployment, offsets)
