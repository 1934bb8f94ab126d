"""What every command shares: the two consoles, the common options, the connection, and the
one place that turns failures (and Ctrl-C) into a line and an exit code.

Exit codes: 0 done, 1 failed, 2 wrong usage, 3 not logged in (or the server said 401),
130 interrupted. Results go to stdout (ids, tables, JSON); progress and messages to stderr."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from filebay.client.api import Client
from filebay.client.config import Connection, load_credentials, resolve_connection
from filebay.client.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    ApiError,
    ClientError,
    NotLoggedIn,
)
from filebay.client.http import network_error
from filebay.config import DEFAULT_SERVER_URL, ClientSettings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
R = TypeVar("R")

INTERRUPTED = "interrupted: run the same command again to resume"

Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        help=(
            "Server URL. Default: FILEBAY_URL, else the server you logged in to, "
            f"else {DEFAULT_SERVER_URL}."
        ),
        show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token to send. Default: FILEBAY_TOKEN, else the one `filebay login` stored.",
        show_default=False,
    ),
]


def say(message: str) -> None:
    """A message (not a result) on stderr."""
    err.print(escape(message), highlight=False)


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)


def _server_of(exc: httpx.HTTPError) -> str:
    try:
        return str(exc.request.url.copy_with(path="/", query=None)).rstrip("/")
    except RuntimeError:  # no request attached
        return "the server"


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn client errors, network failures and Ctrl-C into one line and the exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ClientError as exc:
            fail(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except httpx.HTTPError as exc:
            fail(network_error(exc, _server_of(exc)).message)
            raise typer.Exit(EXIT_FAILURE) from None
        except KeyboardInterrupt:
            # Uploads and downloads keep what they have (tus offset, ``.part``): say how to
            # go on, rather than click's bare "Aborted!".
            err.print(f"\n[yellow]{INTERRUPTED}[/yellow]", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return run


def connection(server: str | None, token: str | None) -> Connection:
    return resolve_connection(server, token, ClientSettings(), load_credentials())


def _not_logged_in(server: str) -> NotLoggedIn:
    return NotLoggedIn(
        f"not logged in to {server} (HTTP 401): run `filebay login --server {server}` "
        "or set FILEBAY_TOKEN"
    )


@contextmanager
def session(server: str | None, token: str | None) -> Iterator[Client]:
    """A ``Client`` for the chosen server and token. Without a token, a 401 means "not
    logged in" (exit 3), said in those words."""
    conn = connection(server, token)
    try:
        with Client(conn.server, conn.token) as client:
            yield client
    except ApiError as exc:
        if exc.status == 401 and conn.token is None:
            raise _not_logged_in(conn.server) from exc
        raise
    except httpx.TransportError as exc:
        failure = network_error(exc, conn.server)
        if conn.token is None:
            failure.message += "; not logged in either: run `filebay login --server URL`"
        raise failure from exc
