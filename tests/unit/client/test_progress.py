"""Progress bars: per file and total, fed with the bytes done (which may go back)."""

from __future__ import annotations

import io

from rich.console import Console

from filebay.client.progress import TransferProgress


def _console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=False)


def test_total_bar_sums_the_files_and_follows_a_rewind() -> None:
    bars = TransferProgress(_console(), total=300, files=2)
    with bars:
        first = bars.file("a.bin", 100)
        first(0)
        first(60)
        first(40)  # a retry: the server had only 40
        first(100)
        first.finish()
        second = bars.file("b.bin", 200)
        second(150)  # resumed at 150
        second(200)
        second.finish()
        tasks = {t.description: t for t in bars._progress.tasks}
    assert tasks["[bold]total"].completed == 300
    assert tasks["a.bin"].completed == 100
    assert tasks["b.bin"].completed == 200


def test_one_file_has_no_total_bar_and_names_are_not_markup() -> None:
    console = _console()
    bars = TransferProgress(console, total=10, files=1)
    with bars:
        bar = bars.file("[red]x[/red].txt", 10)
        bar(10)
        bar.finish(ok=False)
    assert len(bars._progress.tasks) == 1
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[red]x[/red].txt (failed)" in output  # shown as is, not as red "x.txt"
