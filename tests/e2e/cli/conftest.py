"""One server with logins on for the CLI suite; a fresh home and working folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli.support import ADMIN_PASSWORD, Cli
from tests.harness.servers import Deployment, running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = {"FILEBAY_AUTH": "on", "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running("all", tmp_path_factory.mktemp("cli-server"), env) as deployment:
        yield deployment


@pytest.fixture
def cli(tmp_path: Path, server: Deployment) -> Cli:
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    return Cli(tmp_path / "home", tmp_path / "work", server.upload)


@pytest.fixture
def logged_in(cli: Cli) -> Cli:
    cli.login()
    return cli
