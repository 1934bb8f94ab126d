"""Fixtures of the operations tests: filebay with logins on and JSON logs, in both shapes,
shared by the package's modules (the fault tests start their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.auth.support import Portal, running_portal
from tests.e2e.ops.support import LOAD_REPORT, OPS_ENV
from tests.harness.portal import crash_watch

SHARED = ("single", "split", "portal")


@pytest.fixture(scope="package")
def single(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Portal]:
    """The all-in-one process on SQLite."""
    with running_portal("all", tmp_path_factory.mktemp("ops-all"), pg_url, OPS_ENV) as portal:
        yield portal


@pytest.fixture(scope="package")
def split(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Portal]:
    """Auth, metadata, upload and download processes on a fresh PostgreSQL database."""
    with running_portal("split", tmp_path_factory.mktemp("ops-split"), pg_url, OPS_ENV) as portal:
        yield portal


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a shared server log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request, SHARED)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for report in terminalreporter.config.stash.get(LOAD_REPORT, []):
        terminalreporter.section("load test (bench/load-results.json)")
        terminalreporter.write_line(report)
