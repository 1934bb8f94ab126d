"""Fixtures: real servers in both shapes, and fresh PostgreSQL databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Deployment, running_single_user
from tests.support import fresh_database


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server, shared by the session's
    single-user deployments, dropped afterwards. Suites with logins make their own beside
    it (``tests.support.fresh_database``): a first start must find no users."""
    with fresh_database("filebay_test") as url:
        yield url


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own (fsck needs one no other test writes to)."""
    with fresh_database("filebay_api") as url:
        yield url


@pytest.fixture(scope="session")
def catalog_pg_url() -> Iterator[str]:
    """A PostgreSQL database for the catalog contract suite alone (it empties the tables
    before each test), dropped afterwards."""
    with fresh_database("filebay_catalog") as url:
        yield url


@pytest.fixture(scope="module", params=["all", "split"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Deployment]:
    """filebay in both shapes, single-user (``tests.servers.running_single_user``), once per
    module."""
    shape: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"data-{shape}")
    with running_single_user(shape, data_dir, pg_url) as dep:
        yield dep
