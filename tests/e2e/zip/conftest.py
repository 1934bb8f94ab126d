"""Fixtures of the zip tests: filebay with logins on in both shapes (``all`` on SQLite,
``split`` on a fresh PostgreSQL database), local blobs; the S3 module starts its own."""

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
    data_dir = tmp_path_factory.mktemp(f"zip-{shape}")
    # The trash on (the folder suite's ENV turns it off for its own tests).
    env = {**ENV, "FILEBAY_TRASH_DAYS": "30"}
    with running_portal(Tree, shape, data_dir, pg_url, env, "filebay_zip") as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from crash_watch(request)
