"""Fixtures of the trash tests: filebay with logins on in both shapes (``all`` on SQLite,
``split`` on a fresh PostgreSQL database)."""

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
    data_dir = tmp_path_factory.mktemp(f"trash-{shape}")
    # The trash on (the folder suite's ENV turns it off for its own tests).
    env = {**ENV, "FILEBAY_TRASH_DAYS": "30"}
    with running_portal(Tree, shape, data_dir, pg_url, env, "filebay_trash") as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from crash_watch(request)
