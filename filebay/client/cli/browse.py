"""Looking at and arranging the tree: ``ls``, ``mkdir``, ``mv``, ``cp``, ``rename``, ``rm``.
Every argument is an id or a path (see ``targets``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

import typer

from filebay.catalog.files import SortKey
from filebay.client.api import ROOT, Client
from filebay.client.cli import listing, targets
from filebay.client.cli.terminal import Server, Token, err, fail, out, reports_errors, say, session
from filebay.client.errors import EXIT_FAILURE, ApiError, ClientError, UsageError
from filebay.client.records import Entry, FolderRecord, Page, is_folder
from filebay.ids import is_valid_id

Target = Annotated[str, typer.Argument(help="An id (as `filebay ls` shows it) or a path.")]


@reports_errors
def ls(
    path: Annotated[
        str | None,
        typer.Argument(
            help="Folder or file to list, e.g. / or /photos. Default: all files, newest first.",
            show_default=False,
        ),
    ] = None,
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
        SortKey | None,
        typer.Option(
            "--sort",
            help="Sort key, '-' first for descending (default -created_at; in a folder, name).",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Fetch every page, not only the first.")
    ] = False,
    server: Server = None,
    token: Token = None,
) -> None:
    """List your files (newest first), or a folder's entries (folders first)."""
    with session(server, token) as client:
        if path is None:
            fetch = _files_pages(client, query, sort or SortKey.created_at_desc)
        else:
            entry = targets.lookup(client, path)
            if not is_folder(entry):
                _show(as_json, [dict(entry)], None)
                return
            fetch = _folder_pages(client, cast(FolderRecord, entry), query, sort)
        items, cursor = _collect(fetch, limit, every)
    _show(as_json, items, cursor)
    if cursor:
        say("more entries: use --all, or --limit for bigger pages")


#: One page of a listing: (limit, cursor) → page.
Fetch = Callable[[int, str | None], Page]


def _files_pages(client: Client, query: str | None, sort: SortKey) -> Fetch:
    return lambda limit, cursor: client.list_files(
        limit=limit, sort=sort.value, q=query, cursor=cursor
    )


def _folder_pages(
    client: Client, folder: FolderRecord, query: str | None, sort: SortKey | None
) -> Fetch:
    if query:  # a search narrowed to the folder: its files whose names match
        return lambda limit, cursor: client.list_files(
            limit=limit,
            sort=sort.value if sort else "name",
            q=query,
            cursor=cursor,
            folder_id=folder["id"],
        )
    return lambda limit, cursor: client.folder_items(
        folder["id"], limit=limit, sort=sort.value if sort else None, cursor=cursor
    )


def _collect(fetch: Fetch, limit: int, every: bool) -> tuple[list[dict[str, Any]], str | None]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = fetch(limit, cursor)
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not every or not cursor:
            return items, cursor


def _show(as_json: bool, items: list[dict[str, Any]], cursor: str | None) -> None:
    if as_json:
        listing.print_json(out, items, cursor)
    else:
        listing.print_table(out, items)


def _line(entry: Entry | dict[str, Any]) -> str:
    """The result line of a command that made or changed an entry: ``id<TAB>where``."""
    return f"{entry['id']}\t{entry.get('path') or entry['name']}"


@reports_errors
def mkdir(
    paths: Annotated[list[str], typer.Argument(help="Folders to make, e.g. /photos/2026.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Make folders, with any missing parent (like `mkdir -p`; an existing folder is fine)."""
    with session(server, token) as client:
        for path in paths:
            typer.echo(_line(targets.make_folders(client, path)))


def _move(client: Client, entry: Entry, into: str | None, name: str | None = None) -> Entry:
    """Move ``entry`` into the folder ``into`` and/or rename it (``None``: unchanged)."""
    if is_folder(entry):
        return client.update_folder(entry["id"], parent_id=into, name=name)
    return client.update_file(entry["id"], folder_id=into, name=name)


def _destination(client: Client, dst: str, sources: int) -> tuple[str, str | None]:
    """Where ``mv``/``cp`` put things: (folder id, new name or ``None`` to keep names)."""
    try:
        there = targets.lookup(client, dst)
    except ApiError as exc:
        if exc.status != 404:
            raise
        there = None
    if there is not None:
        if not is_folder(there):
            raise ClientError(f"{dst} already exists; remove or rename it first")
        return there["id"], None
    if sources > 1 or dst.endswith("/"):
        raise ClientError(f"{dst}: no such folder")
    parent, name = targets.split(dst)
    return targets.folder(client, parent)["id"], name


@reports_errors
def mv(
    paths: Annotated[
        list[str],
        typer.Argument(help="SRC… DST: what to move, then a folder (or, for one SRC, a new path)."),
    ],
    server: Server = None,
    token: Token = None,
) -> None:
    """Move (and rename) files and folders."""
    if len(paths) < 2:
        raise UsageError("mv needs SRC… DST")
    *sources, dst = paths
    with session(server, token) as client:
        into, name = _destination(client, dst, len(sources))
        for src in sources:
            typer.echo(_line(_move(client, targets.lookup(client, src), into, name)))


@reports_errors
def cp(
    src: Target,
    dst: Annotated[str, typer.Argument(help="A folder to copy into, or the copy's new path.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Copy a file on the server (no byte goes through this computer)."""
    with session(server, token) as client:
        entry = targets.lookup(client, src)
        if is_folder(entry):
            raise UsageError(f"{src} is a folder: cp copies files")
        into, name = _destination(client, dst, 1)
        typer.echo(_line(client.copy_file(entry["id"], folder_id=into, name=name)))


@reports_errors
def rename(
    target: Target,
    name: Annotated[str, typer.Argument(help="The new name.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Rename a file or a folder (it stays where it is)."""
    with session(server, token) as client:
        changed = _move(client, targets.lookup(client, target), None, name)
    typer.echo(f"{changed['id']}\t{changed['name']}")


def _delete(client: Client, target: str) -> None:
    """Delete what ``target`` names. An id is tried as a file, then as a folder."""
    if is_valid_id(target):
        try:
            client.delete_file(target)
        except ApiError as exc:
            if exc.status != 404:
                raise
            try:
                client.delete_folder(target)
            except ApiError:
                raise exc from None
        return
    entry = targets.lookup(client, target)
    if entry["id"] == ROOT:
        raise UsageError("the root folder cannot be deleted")
    if is_folder(entry):
        client.delete_folder(entry["id"])
    else:
        client.delete_file(entry["id"])


@reports_errors
def rm(
    names: Annotated[list[str], typer.Argument(help="Ids or paths to delete.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Delete files and folders (a folder goes with everything in it)."""
    failed = 0
    with session(server, token) as client:
        for target in names:
            try:
                _delete(client, target)
            except ApiError as exc:
                if exc.status == 401:
                    raise
                fail(exc.message)
                failed += 1
                continue
            err.print(f"deleted {target}", markup=False, highlight=False)
    if failed:
        raise typer.Exit(EXIT_FAILURE)
