"""The client commands of ``filebay``, a thin layer over the SDK (``filebay.client.Client``):
``login``, ``logout``, ``upload``, ``get``, ``ls``, ``mkdir``, ``mv``, ``cp``, ``rename``, ``rm``.

Exit codes: 0 done, 1 failed, 2 wrong usage, 3 not logged in (or the server said 401),
130 interrupted (Ctrl-C). Results go to stdout; progress and messages go to stderr."""

from __future__ import annotations

import typer

from filebay.client.cli.account import login, logout
from filebay.client.cli.browse import cp, ls, mkdir, mv, rename, rm
from filebay.client.cli.transfers import get, upload

COMMANDS = (login, logout, upload, get, ls, mkdir, mv, cp, rename, rm)


def register(app: typer.Typer) -> None:
    """Add the client commands to ``app``."""
    for command in COMMANDS:
        app.command(command.__name__)(command)
