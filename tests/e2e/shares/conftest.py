"""Fixtures of the share-link tests: filebay with logins on, in both shapes, once per package
(the tests keep apart by fresh users, files and links, not fresh servers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.shares.support import Portal, running_portal
from tests.harness.portal import crash_watch


@pytest.fixture(scope="package", params=["all", "split"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Portal]:
    shape: str = request.param
    with running_portal(shape, tmp_path_factory.mktemp(f"shares-{shape}"), pg_url) as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request)


@pytest.fixture(scope="module")
def owner(portal: Portal) -> dict[str, str]:
    """The bearer headers of a user who owns the files of the module's tests (each test
    uploads files of its own, so they do not meet)."""
    return portal.new_user("owner")
