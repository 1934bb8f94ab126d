"""``filebay user``: manage users from the shell (works with the server running or not)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from filebay.config import Settings
from filebay.errors import FilebayError

if TYPE_CHECKING:  # the database stack loads only when a user command runs
    from filebay.catalog.sql.files import SqlCatalog
    from filebay.catalog.sql.users import SqlDirectory

user_app = typer.Typer(help="Manage users (add, list, passwd, disable, enable, del).")
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

Username = Annotated[str, typer.Argument(help="The user's login name.")]
Password = Annotated[
    str,
    typer.Option(prompt=True, confirmation_prompt=True, hide_input=True, help="The new password."),
]


def _run(action: Callable[[SqlCatalog, SqlDirectory, Settings], Awaitable[T]]) -> T:
    from filebay.catalog.sql.files import SqlCatalog
    from filebay.catalog.sql.users import SqlDirectory

    settings = Settings()

    async def run() -> T:
        catalog = await SqlCatalog.open(settings.effective_database_url)
        try:
            return await action(catalog, SqlDirectory(catalog.engine), settings)
        finally:
            await catalog.close()

    try:
        return asyncio.run(run())
    except FilebayError as exc:
        err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from exc


@user_app.command("add")
def add(
    username: Username,
    password: Password,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    quota_mib: Annotated[
        int | None, typer.Option("--quota-mib", help="Storage quota in MiB (default: none).")
    ] = None,
    quota_files: Annotated[
        int | None,
        typer.Option("--quota-files", min=0, help="How many files they may hold (default: any)."),
    ] = None,
) -> None:
    """Create a user."""

    from filebay.auth.accounts import check_password, check_role, check_username
    from filebay.auth.passwords import hash_password

    async def action(_c: SqlCatalog, directory: SqlDirectory, _s: Settings) -> Any:
        return await directory.create_user(
            check_username(username),
            await hash_password(check_password(password)),
            check_role("admin" if admin else "user"),
            quota_mib * 1024 * 1024 if quota_mib is not None else None,
            quota_files=quota_files,
        )

    user = _run(action)
    console.print(f"created {user.role} {user.username}")


@user_app.command("list")
def list_users() -> None:
    """List users."""

    async def action(_c: SqlCatalog, directory: SqlDirectory, _s: Settings) -> Any:
        return await directory.list_users()

    table = Table("username", "role", "quota", "files", "status", "created")
    for user in _run(action):
        quota = "-" if user.quota_bytes is None else f"{user.quota_bytes // 1048576} MiB"
        files = "-" if user.quota_files is None else str(user.quota_files)
        status = "disabled" if user.disabled else "active"
        table.add_row(user.username, user.role, quota, files, status, user.created_at.isoformat())
    console.print(table)


@user_app.command("passwd")
def passwd(username: Username, password: Password) -> None:
    """Set a new password (ends the user's sessions and API tokens)."""

    from filebay.auth.accounts import update_account

    async def action(_c: SqlCatalog, directory: SqlDirectory, _s: Settings) -> Any:
        return await update_account(directory, username, password=password)

    _run(action)
    console.print(f"password of {username} changed; their sessions and API tokens are ended")


@user_app.command("disable")
def disable(username: Username) -> None:
    """Disable a user: logins stop, sessions and API tokens end, share links answer 404."""

    from filebay.auth.accounts import update_account

    async def action(_c: SqlCatalog, directory: SqlDirectory, _s: Settings) -> Any:
        return await update_account(directory, username, disabled=True)

    _run(action)
    console.print(f"{username} disabled")


@user_app.command("enable")
def enable(username: Username) -> None:
    """Enable a disabled user again."""

    from filebay.auth.accounts import update_account

    async def action(_c: SqlCatalog, directory: SqlDirectory, _s: Settings) -> Any:
        return await update_account(directory, username, disabled=False)

    _run(action)
    console.print(f"{username} enabled")


@user_app.command("tokens")
def tokens(
    username: Username,
    revoke: Annotated[
        str | None, typer.Option("--revoke", metavar="ID", help="Revoke this token.")
    ] = None,
    revoke_all: Annotated[bool, typer.Option("--all", help="Revoke every token.")] = False,
) -> None:
    """List a user's API tokens, or revoke one or all of them."""

    async def action(_c: SqlCatalog, directory: SqlDirectory, _s: Settings) -> Any:
        await directory.get_user(username)
        if revoke_all:
            return await directory.delete_api_tokens(username)
        if revoke is not None:
            await directory.delete_api_token(revoke, username)
            return 1
        return await directory.list_api_tokens(username)

    result = _run(action)
    if isinstance(result, int):
        # A service may trust a cached check for up to FILEBAY_REVOCATION_SECONDS.
        console.print(f"revoked {result} token(s) of {username}")
        return
    table = Table("id", "name", "created", "last used")
    for token in result:
        last = token.last_used_at.isoformat() if token.last_used_at else "never"
        table.add_row(token.id, token.name, token.created_at.isoformat(), last)
    console.print(table)


@user_app.command("del")
def delete(
    username: Username,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a user and every file they own."""
    if not yes:
        typer.confirm(f"Delete {username} and all their files?", abort=True)

    from filebay.auth.accounts import delete_account
    from filebay.storage import open_blob_store

    async def action(catalog: SqlCatalog, directory: SqlDirectory, settings: Settings) -> Any:
        store, close = await open_blob_store(settings)
        try:
            return await delete_account(directory, catalog, store, username)
        finally:
            await close()

    count = _run(action)
    console.print(f"{username} deleted with {count} files")
