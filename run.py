#!/usr/bin/env python3
"""filebay's two commands on a fresh clone, needing only Python 3.11+:

    python3 run.py serve [filebay serve options]   # the server on http://127.0.0.1:8000
    python3 run.py test  [pytest options]          # the whole test suite

Each one first makes ``.venv`` and installs the pinned dependencies when they changed since
the last run: ``serve`` only the runtime set (requirements-runtime.lock), ``test`` and
``install`` the whole test stack (requirements.lock: the runtime set plus pytest, moto,
SeaweedFS, Playwright, …); ``test`` also installs the browser and tools the tests drive
(Chromium, curl, Node) with apt-get when they are missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
# What the server needs, and what the tests need (the same pins plus the test stack: a
# superset, so a venv made for the tests serves too).
RUNTIME_LOCK = "requirements-runtime.lock"
TEST_LOCK = "requirements.lock"
# uv installs the locked wheels in seconds where pip takes half a minute (a fresh clone's
# first start, see README); pip is the fallback when uv cannot be had or fails.
UV = "uv==0.13.9"


def _fingerprint(lock: str) -> str:
    digest = hashlib.sha256()
    for name in (lock, "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _stamp(venv_dir: Path, lock: str) -> Path:
    return venv_dir / f".filebay-installed-{lock}"


def _installed(venv_dir: Path, lock: str) -> bool:
    stamp = _stamp(venv_dir, lock)
    return stamp.exists() and stamp.read_text() == _fingerprint(lock)


def install(venv_dir: Path, lock: str) -> None:
    """Create the virtualenv ``venv_dir`` if needed and install ``lock`` and filebay itself
    (editable), unless that was done already with the same files."""
    python = venv_dir / PYTHON.relative_to(VENV)
    if not python.exists():
        print(f"creating {venv_dir.name} …", file=sys.stderr)
        venv.create(venv_dir, with_pip=True)
    if _installed(venv_dir, lock) or (lock == RUNTIME_LOCK and _installed(venv_dir, TEST_LOCK)):
        return
    print(f"installing dependencies ({lock}) …", file=sys.stderr)
    _install_into(python, "-r", str(ROOT / lock))
    _install_into(python, "--no-deps", "-e", str(ROOT))
    _stamp(venv_dir, lock).write_text(_fingerprint(lock))


def _install_into(python: Path, *args: str) -> None:
    """``pip install ARGS`` into the venv of ``python``: with uv, else with pip."""
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    uv = python.with_name("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        subprocess.run([*pip, UV], check=False)
    if uv.exists():
        command = [str(uv), "pip", "install", "--quiet", "--python", str(python), *args]
        if subprocess.run(command, check=False).returncode == 0:
            return
        print("uv failed; installing with pip …", file=sys.stderr)
    subprocess.run([*pip, *args], check=True)


def ensure_environment(lock: str = TEST_LOCK) -> None:
    """``.venv`` with ``lock`` installed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on an older Python
        sys.exit(f"filebay needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    install(VENV, lock)


# What the test suite needs from the system, by the command that shows it is there.
SYSTEM_PACKAGES = {
    "/usr/bin/chromium": "chromium",
    "curl": "curl",
    "node": "nodejs",
    "npm": "npm",
    # PDF and video thumbnails (tests/e2e/thumbnails renders both).
    "pdftoppm": "poppler-utils",
    "ffmpeg": "ffmpeg",
    # Zip downloads are checked by other readers than Python's (tests/e2e/zip).
    "unzip": "unzip",
    "7z": "p7zip-full",
}


def ensure_system_packages() -> None:
    """Install the browser and tools the tests drive (Debian/Ubuntu, as root), or say which."""
    missing = [
        package
        for probe, package in SYSTEM_PACKAGES.items()
        if not (os.path.exists(probe) if probe.startswith("/") else shutil.which(probe))
    ]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"the tests need: {' '.join(missing)} (install them first)", file=sys.stderr)
        return
    print(f"installing {' '.join(missing)} with apt-get …", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test", "install"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_environment(RUNTIME_LOCK if command == "serve" else TEST_LOCK)
    if command == "install":
        return 0
    if command == "serve":
        return subprocess.call([str(BIN / "filebay"), "serve", *rest], cwd=ROOT)
    ensure_system_packages()
    code = subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    if code == 5:  # pytest: no tests were collected; that is a failure, not a pass
        print("pytest ran no tests", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
