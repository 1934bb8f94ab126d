"""Fixtures of the thumbnail tests: filebay with logins on, in both shapes (local blob store;
SQLite all-in-one, PostgreSQL split), once per package; the tests keep apart by fresh users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.http import ADMIN_PASSWORD, bearer, unique
from tests.harness.portal import Portal, crash_watch, running_portal

ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024),
    "FILEBAY_LOG_LEVEL": "info",
}


@pytest.fixture(scope="package", params=["all", "split"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Portal]:
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"thumbnails-{shape}")
    with running_portal(Portal, shape, data_dir, pg_url, ENV, "filebay_thumbs") as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request)


@pytest.fixture
def alice(portal: Portal) -> dict[str, str]:
    """The bearer headers of a fresh user."""
    username = unique("alice")
    portal.add_user(username)
    return bearer(portal.login(username))
