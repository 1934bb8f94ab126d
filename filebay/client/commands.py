"""The client commands: ``login``, ``logout``, ``upload``, ``ls``, ``get``, ``rm``, ``rename``.

Exit codes: 0 done, 1 failed, 2 wrong usage, 3 not logged in (or the server said 401).
Results go to stdout (ids, tables, JSON); progress and messages go to stderr."""

from __future__ import annotations

import functools
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from filebay.catalog.files import SortKey
from filebay.client.config import (
    Connection,
    Credentials,
    credentials_path,
    delete_credentials,
    load_credentials,
    resolve_connection,
    save_credentials,
)
from filebay.client.downloader import Download, destination
from filebay.client.http import (
    EXIT_FAILURE,
    EXIT_UNAUTHORIZED,
    ApiError,
    CliError,
    check,
    json_of,
    network_error,
    open_client,
)
from filebay.client.pacing import RateLimiter, parse_rate
from filebay.client.progress import TransferProgress
from filebay.client.upload_state import UploadState
from filebay.client.uploader import MIB, FileUploader, UploadOptions
from filebay.config import DEFAULT_SERVER_URL, ClientSettings
from filebay.sizes import human_size

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
R = TypeVar("R")

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
FileId = Annotated[str, typer.Argument(help="The file's id (as `filebay ls` shows it).")]


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn ``CliError`` and network failures into one red line and the exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            err.print(f"[red]error:[/red] {escape(exc.message)}")
            raise typer.Exit(exc.exit_code) from None
        except httpx.HTTPError as exc:
            try:
                where = str(exc.request.url.copy_with(path="/", query=None)).rstrip("/")
            except RuntimeError:  # no request attached
                where = "the server"
            err.print(f"[red]error:[/red] {escape(network_error(exc, where).message)}")
            raise typer.Exit(EXIT_FAILURE) from None

    return run


def connection(server: str | None, token: str | None) -> Connection:
    return resolve_connection(server, token, ClientSettings(), load_credentials())


@contextmanager
def api(server: str | None, token: str | None) -> Iterator[tuple[Connection, httpx.Client]]:
    conn = connection(server, token)
    try:
        with open_client(conn.server, conn.token) as client:
            yield conn, client
    except httpx.TransportError as exc:
        failure = network_error(exc, conn.server)
        if conn.token is None:
            failure.message += "; not logged in either: run `filebay login --server URL`"
        raise failure from exc


# -- login / logout


@reports_errors
def login(
    server: Server = None,
    username: Annotated[
        str, typer.Option("--username", "-u", prompt=True, help="Your filebay user name.")
    ] = "",
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            help="Your password (asked for when not given; the flag is visible to `ps`).",
        ),
    ] = "",
    token_name: Annotated[
        str | None,
        typer.Option(
            "--token-name",
            help="Name of the API token created for this computer (default: its host name).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Log in and store an API token for later commands (in your config folder, mode 0600)."""
    stored = load_credentials()
    url = connection(server, None).server
    name = token_name or f"filebay CLI on {socket.gethostname()}"[:255]
    with open_client(url, None) as client:
        response = client.post("/api/auth/token", data={"username": username, "password": password})
        if response.status_code == 401:
            raise CliError(f"login to {url} failed: wrong user name or password", EXIT_UNAUTHORIZED)
        jwt = json_of(check(response, 200, action="logging in"), "access_token")["access_token"]
        response = client.post(
            "/api/tokens", json={"name": name}, headers={"Authorization": f"Bearer {jwt}"}
        )
        created = json_of(check(response, 201, action="creating an API token"), "id", "token")
    credentials = Credentials(
        server=url,
        token=created["token"],
        token_id=str(created["id"]),
        token_name=str(created.get("name", name)),
        username=username,
    )
    path = save_credentials(credentials)
    if stored is not None and stored.server == url and stored.token_id:
        # A new login replaces the old token: revoke it rather than leave it valid forever.
        _revoke(stored)
    err.print(f"logged in to {url} as {escape(username)}; API token {escape(name)!r} in {path}")


def _revoke(credentials: Credentials) -> bool:
    """Revoke the stored token on its server; ``True`` when it is no longer valid there."""
    with open_client(credentials.server, credentials.token) as client:
        try:
            response = client.delete(f"/api/tokens/{credentials.token_id}")
        except httpx.HTTPError:
            return False
    # 401: the token is already invalid; 404: already revoked.
    return response.status_code in (204, 401, 404)


@reports_errors
def logout() -> None:
    """Revoke the stored API token on the server and forget it."""
    stored = load_credentials()
    if stored is None:
        delete_credentials()
        err.print("not logged in")
        return
    if stored.token_id and not _revoke(stored):
        raise CliError(
            f"could not revoke the token on {stored.server}; try again, or revoke it in the web "
            f"UI and delete {credentials_path()}"
        )
    delete_credentials()
    err.print(f"logged out of {stored.server}")


# -- upload


@reports_errors
def upload(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files to upload.", exists=True, dir_okay=False, readable=True, show_default=False
        ),
    ],
    server: Server = None,
    token: Token = None,
    chunk_size: Annotated[
        float,
        typer.Option(
            "--chunk-size",
            min=0.0625,
            help="MiB sent per request; a failed request resends at most this much.",
        ),
    ] = 8,
    limit_rate: Annotated[
        str | None,
        typer.Option(
            "--limit-rate",
            help="Cap the upload speed, in bytes per second with an optional K, M or G (e.g. 2M).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Upload files; an interrupted upload resumes where it stopped, even in a later run.

    Uses the tus protocol at /api/tus/ and prints each file's id and name."""
    limiter = RateLimiter(parse_rate(limit_rate)) if limit_rate else None
    options = UploadOptions(chunk_size=max(1, int(chunk_size * MIB)), limiter=limiter)
    sizes = {path: path.stat().st_size for path in files}
    failed: list[tuple[Path, str]] = []
    bars = TransferProgress(err, total=sum(sizes.values()), files=len(files))
    with api(server, token) as (conn, client), bars:

        def log(message: str) -> None:
            bars.console.print(escape(message), highlight=False)

        uploader = FileUploader(client, conn.server, UploadState(), options, log)
        for path in files:
            bar = bars.file(path.name, sizes[path])
            try:
                result = uploader.upload(path, bar)
            except ApiError as exc:
                bar.finish(ok=False)
                if exc.status == 401:
                    raise
                failed.append((path, exc.message))
                continue
            except (CliError, OSError) as exc:
                bar.finish(ok=False)
                failed.append((path, getattr(exc, "message", None) or str(exc)))
                continue
            bar.finish()
            typer.echo(f"{result.file_id}\t{result.name}")
    for path, reason in failed:
        err.print(f"[red]failed:[/red] {escape(str(path))}: {escape(reason)}")
    if failed:
        raise typer.Exit(EXIT_FAILURE)


# -- ls, get, rm, rename


@reports_errors
def ls(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the records as JSON instead of a table.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="Records per page (at most 1000).")
    ] = 50,
    query: Annotated[
        str | None,
        typer.Option(
            "--query", "-q", help="Only names containing this (any case).", show_default=False
        ),
    ] = None,
    sort: Annotated[
        SortKey, typer.Option("--sort", help="Sort key; a leading '-' sorts descending.")
    ] = SortKey.created_at_desc,
    every: Annotated[
        bool, typer.Option("--all", help="Fetch every page, not only the first.")
    ] = False,
    server: Server = None,
    token: Token = None,
) -> None:
    """List your files, newest first."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    with api(server, token) as (_conn, client):
        while True:
            params: dict[str, Any] = {"limit": limit, "sort": sort.value}
            if query:
                params["q"] = query
            if cursor:
                params["cursor"] = cursor
            response = check(client.get("/api/files", params=params), 200, action="listing")
            page = json_of(response, "items")
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not every or not cursor:
                break
    if as_json:
        document = {"items": items, "next_cursor": cursor}
        if out.is_terminal:
            out.print_json(json.dumps(document))
        else:
            typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    table = Table(
        Column("id", no_wrap=True),
        Column("name", overflow="fold"),
        Column("size", justify="right", no_wrap=True),
        Column("created", no_wrap=True),
        "owner",
    )
    for item in items:
        created = str(item.get("created_at", ""))[:19].replace("T", " ")
        table.add_row(
            item["id"],
            escape(str(item["name"])),
            human_size(int(item["size"])),
            created,
            escape(str(item.get("owner", ""))),
        )
    out.print(table)
    if cursor:
        err.print("more files: use --all, or --limit for bigger pages")


@reports_errors
def get(
    file_id: FileId,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to save it (a folder keeps the file's name). Default: its name, here.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output file if it already exists.")
    ] = False,
    server: Server = None,
    token: Token = None,
) -> None:
    """Download a file, resuming a partial download and checking its SHA-256."""
    with api(server, token) as (_conn, client):
        response = check(client.get(f"/api/files/{file_id}"), 200, action=f"file {file_id}")
        record = json_of(response, "id", "name", "size", "sha256")
        dest = destination(str(record["name"]), output)
        if dest.exists() and not force:
            raise CliError(f"{dest} already exists; use --force to replace it")
        with TransferProgress(err) as bars:
            bar = bars.file(dest.name, int(record["size"]))

            def log(message: str) -> None:
                bars.console.print(escape(message), highlight=False)

            try:
                result = Download(client, record, dest, progress=bar, log=log).run()
            except CliError:
                bar.finish(ok=False)
                raise
            bar.finish()
    if result.resumed_from:
        err.print(f"resumed at byte {result.resumed_from}")
    err.print(f"saved {escape(str(result.path))} ({human_size(result.size)}, SHA-256 verified)")
    typer.echo(str(result.path))


@reports_errors
def rm(
    file_ids: Annotated[list[str], typer.Argument(help="Ids of the files to delete.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Delete files (their records and their bytes)."""
    failed = 0
    with api(server, token) as (_conn, client):
        for file_id in file_ids:
            try:
                check(client.delete(f"/api/files/{file_id}"), 204, action=f"deleting {file_id}")
            except ApiError as exc:
                if exc.status == 401:
                    raise
                err.print(f"[red]error:[/red] {escape(exc.message)}")
                failed += 1
                continue
            err.print(f"deleted {file_id}")
    if failed:
        raise typer.Exit(EXIT_FAILURE)


@reports_errors
def rename(
    file_id: FileId,
    name: Annotated[str, typer.Argument(help="The new name.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Rename a file."""
    with api(server, token) as (_conn, client):
        response = client.patch(f"/api/files/{file_id}", json={"name": name})
        record = json_of(check(response, 200, action=f"renaming {file_id}"), "id", "name")
    typer.echo(f"{record['id']}\t{record['name']}")


def register(app: typer.Typer) -> None:
    """Add the client commands to ``app``."""
    for command in (login, logout, upload, ls, get, rm, rename):
        app.command(command.__name__)(command)
