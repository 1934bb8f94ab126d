"""Many transfers in one command: a bar each, a failure fails that one only (but a 401
stops them all), results above the bars, failures listed at the end (exit 1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import typer
from rich.markup import escape

from filebay.client.cli.terminal import err
from filebay.client.errors import EXIT_FAILURE, ApiError, ClientError
from filebay.client.progress import FileBar, TransferProgress

J = TypeVar("J")


@dataclass
class Batch(Generic[J]):
    """Jobs of ``size(job)`` bytes, each labelled ``label(job)``."""

    jobs: Sequence[J]
    label: Callable[[J], str]
    size: Callable[[J], int]
    failed: list[tuple[str, str]] = field(default_factory=list)

    def run(self, bars: TransferProgress, transfer: Callable[[J, FileBar], str | None]) -> None:
        """``transfer(job, bar)`` for each job; the line it returns is a result for stdout."""
        for job in self.jobs:
            bar = bars.file(self.label(job), self.size(job))
            try:
                line = transfer(job, bar)
            except ApiError as exc:
                bar.finish(ok=False)
                if exc.status == 401:
                    raise
                self.failed.append((self.label(job), exc.message))
                continue
            except (ClientError, OSError) as exc:
                bar.finish(ok=False)
                self.failed.append((self.label(job), getattr(exc, "message", None) or str(exc)))
                continue
            bar.finish()
            if line is not None:
                bars.result(line)

    def report(self) -> None:
        """List what failed; exit 1 when something did."""
        for label, reason in self.failed:
            err.print(f"[red]failed:[/red] {escape(label)}: {escape(reason)}", highlight=False)
        if self.failed:
            raise typer.Exit(EXIT_FAILURE)
