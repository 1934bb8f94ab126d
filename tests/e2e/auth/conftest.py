"""Fixtures of the auth tests: filebay with logins on, in both shapes, per module.

``all``: one process on SQLite. ``split``: auth, metadata, upload and download processes on a
fresh PostgreSQL database (the split's auth and metadata services share it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.auth.support import Portal, running_portal
from tests.harness.portal import crash_watch


@pytest.fixture(scope="module", params=["all", "split"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Portal]:
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"auth-{shape}")
    with running_portal(shape, data_dir, pg_url) as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request)
