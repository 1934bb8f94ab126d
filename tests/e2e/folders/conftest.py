"""Fixtures of the folder tests: filebay with logins on, in both shapes (``all`` on SQLite,
``split`` on a fresh PostgreSQL database), once for the package: the tests keep apart by
users of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.folders.support import ENV, Tree
from tests.harness.portal import crash_watch, running_portal


@pytest.fixture(scope="package", params=["all", "split"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Tree]:
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"folders-{shape}")
    with running_portal(Tree, shape, data_dir, pg_url, ENV, "filebay_folders") as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request)
