"""Rich progress bars for transfers: one per file plus a total, fed from the byte stream."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

#: With more files than this, finished bars are hidden so the display stays short.
MAX_FINISHED_BARS = 10


class TransferProgress:
    """Bars on ``console`` (stderr): ``file()`` adds one; the total bar sums them all."""

    def __init__(self, console: Console, total: int | None = None, files: int = 1) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", table_column=None),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            # Results printed meanwhile go above the bars only when stdout is that terminal
            # too; redirected (``> ids.txt``), they must stay on stdout.
            redirect_stdout=_stdout_is_a_tty(),
            redirect_stderr=False,
        )
        self._total: TaskID | None = None
        if total is not None and files > 1:
            self._total = self._progress.add_task("[bold]total", total=total)
        self._hide_finished = files > MAX_FINISHED_BARS

    def __enter__(self) -> TransferProgress:
        self._progress.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self._progress.stop()

    @property
    def console(self) -> Console:
        return self._progress.console

    def log(self, message: str) -> None:
        """A message above the bars (on stderr)."""
        self.console.print(escape(message), highlight=False)

    def result(self, line: str) -> None:
        """A result line for stdout. While live bars are drawn on the terminal that stdout
        also is, it goes through their console, above them: written to stdout directly it
        would land in the middle of a bar being redrawn."""
        if self.console.is_terminal and _stdout_is_a_tty():
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stdout.write(f"{line}\n")
            sys.stdout.flush()

    def file(self, name: str, size: int) -> FileBar:
        """A new bar for ``name`` of ``size`` bytes."""
        task = self._progress.add_task(escape(_shorten(name)), total=size)
        return FileBar(self, task)

    def _set(self, task: TaskID, done: int, previous: int | None) -> None:
        if previous is None:
            # Where a resumed transfer starts is not speed: no sample for it.
            self._progress.reset(task, completed=done)
            previous = 0
        else:
            self._progress.update(task, completed=done)
        if self._total is not None:
            self._progress.update(self._total, advance=done - previous)

    def _end(self, task: TaskID, ok: bool) -> None:
        if not ok:
            self._progress.update(task, description=f"[red]{self._description(task)} (failed)")
        if self._hide_finished:
            self._progress.update(task, visible=False)

    def _description(self, task: TaskID) -> str:
        return next(t.description for t in self._progress.tasks if t.id == task)


class FileBar:
    """One file's bar. Call it with the bytes done so far (it may go back after a retry)."""

    def __init__(self, owner: TransferProgress, task: TaskID) -> None:
        self._owner = owner
        self._task = task
        self._done: int | None = None

    def __call__(self, done: int) -> None:
        self._owner._set(self._task, done, self._done)
        self._done = done

    def finish(self, ok: bool = True) -> None:
        self._owner._end(self._task, ok)


def _stdout_is_a_tty() -> bool:
    try:
        return os.isatty(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _shorten(name: str, width: int = 32) -> str:
    return name if len(name) <= width else f"{name[: width - 1]}…"
