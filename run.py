#!/usr/bin/env python3
"""filebay's two commands on a fresh clone, needing only Python 3.11+:

    python3 run.py serve [filebay serve options]   # the server on http://127.0.0.1:8000
    python3 run.py test  [pytest options]          # the whole test suite

Each one first makes ``.venv`` and installs the pinned dependencies (requirements.lock)
when they changed since the last run; ``test`` also installs the browser and tools the
tests drive (Chromium, curl, Node) with apt-get when they are missing.
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
STAMP = VENV / ".filebay-installed"
INPUTS = ("requirements.lock", "pyproject.toml")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create the virtualenv and install the locked dependencies and filebay itself."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on an older Python
        sys.exit(f"filebay needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv …", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("installing dependencies (requirements.lock) …", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(fingerprint)


# What the test suite needs from the system, by the command that shows it is there.
SYSTEM_PACKAGES = {"/usr/bin/chromium": "chromium", "curl": "curl", "node": "nodejs", "npm": "npm"}


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
    ensure_environment()
    command, rest = argv[0], argv[1:]
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
