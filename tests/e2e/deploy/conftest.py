"""Fixtures of the deployment tests: an S3-protocol server (moto) for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.s3.moto import MotoServer, aws_credentials, moto_server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with aws_credentials(), moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server
