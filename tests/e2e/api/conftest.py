"""Fixtures of the API tests: the package's deployment, and a log check after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.portal import crash_watch
from tests.harness.servers import Deployment, running_single_user


@pytest.fixture(scope="package", params=["all", "split"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Deployment]:
    """The harness's ``deployment`` (tests/conftest.py, single-user), started once for the
    whole package instead of once per module: these tests keep apart by unique names."""
    shape: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"api-data-{shape}")
    with running_single_user(shape, data_dir, pg_url) as dep:
        yield dep


# Fixtures that hold running servers whose logs are checked after each test.
SERVER_FIXTURES = ("deployment", "small_limit")


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request, SERVER_FIXTURES)
