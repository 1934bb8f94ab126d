"""Fixtures of the tus tests: filebay with logins on in both shapes, users, tus-js-client."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.tus.support import AUTH_ENV, Site, start_site
from tests.harness.database import fresh_database
from tests.harness.servers import assert_no_crashes, running

JS_DIR = Path(__file__).parent / "js"


@pytest.fixture(scope="session", params=["all", "split"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Site]:
    """filebay with logins on: one process on SQLite, or four on PostgreSQL. Users ``admin``,
    ``alice``, ``bob`` and ``tiny`` (a quota smaller than most uploads)."""
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"tus-{shape}")
    with contextlib.ExitStack() as stack:
        env = dict(AUTH_ENV)
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database("filebay_tus", pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        deployment = stack.enter_context(running(shape, data_dir, env))
        site = start_site(deployment, database_url=database_url)
        stack.callback(site.http.close)
        yield site
        assert_no_crashes(deployment)


def _installed_version(package: str) -> str | None:
    manifest = JS_DIR / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def tus_js() -> Path:
    """tus-js-client from tests/e2e/tus/js/package-lock.json (``npm ci`` when missing or stale);
    the path of the upload script to run with ``node``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for the tus-js-client tests"
    lock = json.loads((JS_DIR / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/tus-js-client"]["version"]
    # Another test session may be installing at the same time: one at a time.
    with (Path(tempfile.gettempdir()) / "filebay-tus-js-install.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if _installed_version("tus-js-client") != wanted:
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=JS_DIR,
                check=True,
                timeout=300,
            )
    assert _installed_version("tus-js-client") == wanted
    return JS_DIR / "upload.mjs"
