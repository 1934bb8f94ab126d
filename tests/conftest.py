"""Fixtures: real servers in both shapes, fresh PostgreSQL databases, the harness's client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.s3.moto import AWS_ENV, MotoServer, aws_credentials, moto_server
from tests.harness.database import fresh_database
from tests.harness.http import client
from tests.harness.seaweed import SeaweedServer, seaweed_server
from tests.harness.servers import Deployment, running_single_user


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The harness's client: it keeps no cookies, and any 5xx answer fails the test."""
    with client() as c:
        yield c


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server, shared by the session's
    single-user deployments, dropped afterwards. Suites with logins make their own beside
    it (``tests.harness.database.fresh_database``): a first start must find no users."""
    with fresh_database("filebay_test") as url:
        yield url


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own (fsck needs one no other test writes to)."""
    with fresh_database("filebay_api") as url:
        yield url


@pytest.fixture(scope="session")
def catalog_pg_url() -> Iterator[str]:
    """A PostgreSQL database for the contract suites alone (tests/contract: they empty the
    tables before each test), dropped afterwards."""
    with fresh_database("filebay_catalog") as url:
        yield url


@pytest.fixture(scope="module", params=["all", "split"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Deployment]:
    """filebay in both shapes, single-user (``tests.harness.servers.running_single_user``), once per
    module."""
    shape: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"data-{shape}")
    with running_single_user(shape, data_dir, pg_url) as dep:
        yield dep


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto S3 server for the session (tests/e2e/s3, the blob-store contract), with AWS test
    credentials."""
    with aws_credentials(), moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS (a real S3 server) for the session, knowing the AWS test credentials:
    the ordinary S3 path of tests/e2e/s3 and the blob-store contract run against it."""
    keys = AWS_ENV["AWS_ACCESS_KEY_ID"], AWS_ENV["AWS_SECRET_ACCESS_KEY"]
    with aws_credentials(), seaweed_server(tmp_path_factory.mktemp("seaweed"), *keys) as server:
        yield server
