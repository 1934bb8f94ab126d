"""`filebay serve --workers`: a number of processes, or auto (one per usable core)."""

from __future__ import annotations

import os

import pytest
import typer

from filebay_server.cli import worker_count


def test_auto_is_one_process_per_usable_core() -> None:
    assert worker_count("auto") == len(os.sched_getaffinity(0))


def test_a_number_is_that_many() -> None:
    assert (worker_count("1"), worker_count("3")) == (1, 3)


@pytest.mark.parametrize("value", ["0", "-1", "two", "", "1.5"])
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(typer.BadParameter):
        worker_count(value)
