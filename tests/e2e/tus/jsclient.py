"""Running tests/e2e/tus/js/upload.mjs (tus-js-client in Node) from the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

Event = dict[str, Any]


def _argv(script: Path, options: dict[str, Any]) -> list[str]:
    node = shutil.which("node")
    assert node, "node is needed for the tus-js-client tests"
    return [node, str(script), json.dumps(options)]


def run(script: Path, options: dict[str, Any], timeout: float = 60) -> list[Event]:
    """Run one upload to its end; the events it printed (the last is success or error)."""
    done = subprocess.run(
        _argv(script, options), capture_output=True, text=True, timeout=timeout, check=False
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events, f"no output (exit {done.returncode}):\n{done.stderr}"
    return events


def spawn(script: Path, options: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _argv(script, options), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def read_until(proc: subprocess.Popen[str], event: str) -> list[Event]:
    """Events from a running script up to and including the first ``event``."""
    assert proc.stdout is not None
    seen: list[Event] = []
    for line in proc.stdout:
        if not line.startswith("{"):
            continue
        seen.append(json.loads(line))
        if seen[-1]["event"] in (event, "error", "success"):
            break
    assert seen and seen[-1]["event"] == event, seen
    return seen


def last(events: list[Event], event: str) -> Event:
    found = [e for e in events if e["event"] == event]
    assert found, f"no {event!r} in {events}"
    return found[-1]


def patch_offsets(events: list[Event]) -> list[int]:
    return [int(e["offset"]) for e in events if e["event"] == "patch"]
