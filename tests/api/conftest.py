"""Fixtures of the API tests: a client that refuses 500s, and a log check after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.support import assert_no_crashes, client, log_offsets
from tests.servers import Deployment, running_single_user


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
    watched: list[tuple[Deployment, dict[str, int]]] = []
    for name in SERVER_FIXTURES:
        if name in request.fixturenames:
            deployment: Deployment = request.getfixturevalue(name)
            watched.append((deployment, log_offsets(deployment)))
    yield
    for deployment, offsets in watched:
        assert_no_crashes(deployment, offsets)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with client() as c:
        yield c
