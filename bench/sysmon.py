"""Process-tree memory and CPU readings from /proc (Linux only, stdlib only).

A server may fork (uvicorn workers, nginx master + workers), so every figure is
taken over the process and all its descendants.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """The pid ``root`` and all its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _read_stat(int(entry))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo and len(tree) < 10_000:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_bytes(pids: list[int]) -> int:
    """Sum of VmRSS over ``pids`` (a vanished pid counts 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of the tree under ``root``, waited-for children included."""
    total = 0
    for pid in process_tree(root):
        fields = _read_stat(pid)
        if fields is None:
            continue
        # After the command name: index 11..14 are utime, stime, cutime, cstime.
        total += sum(int(x) for x in fields[11:15])
    return total / CLK_TCK


def cpu_busy_percent(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over ``seconds`` (from /proc/stat), 0..100."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return sum(vals), idle

    t0, i0 = read()
    time.sleep(seconds)
    t1, i1 = read()
    return round(100.0 * (1 - (i1 - i0) / max(t1 - t0, 1)), 1)


@dataclass
class RssSampler:
    """Samples the summed VmRSS of a process tree every ``interval`` seconds in a thread.

    Use as a context manager; ``peak`` and ``samples`` are valid after exit.
    """

    root: int
    interval: float = 0.02
    max_seconds: float = 3600.0
    peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        pids = process_tree(self.root)
        next_scan = time.monotonic() + 1.0
        while not self._stop.is_set() and time.monotonic() < deadline:
            if time.monotonic() >= next_scan:
                pids = process_tree(self.root)
                next_scan = time.monotonic() + 1.0
            self.peak = max(self.peak, rss_bytes(pids))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = rss_bytes(process_tree(self.root))
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass
class Usage:
    """Server cost of one measured operation."""

    idle_rss: int
    peak_rss: int
    cpu_s: float

    def as_dict(self) -> dict[str, float]:
        return {
            "idle_rss_mib": round(self.idle_rss / 2**20, 1),
            "peak_rss_mib": round(self.peak_rss / 2**20, 1),
            "rss_growth_mib": round((self.peak_rss - self.idle_rss) / 2**20, 1),
            "cpu_s": round(self.cpu_s, 3),
        }


class Measure:
    """Context manager: idle RSS before, peak RSS during, CPU seconds spent by a server tree."""

    def __init__(self, root: int, interval: float = 0.02) -> None:
        self.root = root
        self.sampler = RssSampler(root, interval)
        self.usage: Usage | None = None

    def __enter__(self) -> Measure:
        self._idle = rss_bytes(process_tree(self.root))
        self._cpu0 = cpu_seconds(self.root)
        self.sampler.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sampler.__exit__()
        self.usage = Usage(
            idle_rss=self._idle,
            peak_rss=max(self.sampler.peak, self._idle),
            cpu_s=cpu_seconds(self.root) - self._cpu0,
        )
