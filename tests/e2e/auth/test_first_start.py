"""The first start: the first admin and their password, and the refusal to run without
logins on an address other people can reach.

Each test starts its own filebay (a first start needs an empty data dir and database), in
both shapes where the shape matters. FILEBAY_ADMIN_PASSWORD on the first start is checked
by test_login.py (every module's deployment starts with it)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth.support import Portal, running_portal
from tests.harness.http import ADMIN, ADMIN_PASSWORD, client
from tests.harness.servers import free_port

PRINTED = re.compile(r"created user 'admin' with password: (\S+)")


def _token_status(portal: Portal, password: str) -> int:
    with client() as http:
        return http.post(
            f"{portal.auth}/api/auth/token", data={"username": ADMIN, "password": password}
        ).status_code


def _logs(portal: Portal) -> dict[str, str]:
    return {
        name: proc.log_path.read_text(errors="replace")
        for name, proc in portal.deployment.processes.items()
    }


@pytest.mark.parametrize("shape", ["all", "split"])
def test_without_admin_password_a_random_one_is_printed_once(
    shape: str, tmp_path: Path, pg_url: str
) -> None:
    with running_portal(shape, tmp_path / "data", pg_url, unset=("FILEBAY_ADMIN_PASSWORD",)) as (
        portal
    ):
        logs = _logs(portal)
        login_log = logs[portal.login_process.service]
        printed = PRINTED.findall(login_log)
        assert len(printed) == 1, login_log[-2000:]
        password = printed[0]
        assert len(password) >= 16
        # Only the process that created the admin shows it (the others never learn it).
        for name, text in logs.items():
            if name != portal.login_process.service:
                assert password not in text, f"the password shows in the {name} log"

        assert _token_status(portal, password) == 200
        assert _token_status(portal, ADMIN_PASSWORD) == 401

        # A second start: nothing printed again, the password stays, and
        # FILEBAY_ADMIN_PASSWORD only matters on the very first start.
        proc = portal.login_process
        proc.stop()
        proc.env = {**proc.env, "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
        proc.start(wait=False)
        proc.wait_ready()
        again = proc.log_path.read_text(errors="replace")
        assert len(PRINTED.findall(again)) == 1, "the password was printed a second time"
        assert "created user" not in again[len(login_log) :]
        # …and says so, rather than leave a password that does not work unexplained.
        assert "FILEBAY_ADMIN_PASSWORD is ignored" in again[len(login_log) :]
        assert "filebay user passwd admin" in again[len(login_log) :]
        assert ADMIN_PASSWORD not in again
        assert _token_status(portal, password) == 200
        assert _token_status(portal, ADMIN_PASSWORD) == 401
        assert not portal.crashes_since({}), portal.crashes_since({})


# --- FILEBAY_AUTH=off ---------------------------------------------------------------------


def _serve_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILEBAY_")}
    env.update({"FILEBAY_AUTH": "off", "FILEBAY_DATA_DIR": str(data_dir)})
    return env


def _serve(port: int, *flags: str) -> list[str]:
    return [sys.executable, "-m", "filebay_server", "serve", "--port", str(port), *flags]


def test_auth_off_refuses_a_public_address(tmp_path: Path) -> None:
    result = subprocess.run(
        _serve(free_port(), "--host", "0.0.0.0"),
        env=_serve_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Refusing to start" in result.stderr
    assert "--i-know-this-is-public" in result.stderr


def test_auth_off_on_a_public_address_when_told(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "public.log").open("wb")
    proc = subprocess.Popen(
        _serve(port, "--host", "0.0.0.0", "--i-know-this-is-public"),
        env=_serve_env(tmp_path / "data"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "public.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "did not start"
            time.sleep(0.1)
        # Single-user: everyone is the admin, no login needed.
        me = httpx.get(f"http://127.0.0.1:{port}/api/me", timeout=10)
        assert me.status_code == 200 and me.json()["username"] == ADMIN
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
