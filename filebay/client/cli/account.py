"""``filebay login`` and ``filebay logout``: an API token per computer, kept in the config
folder (mode 0600), revoked on the server when it is replaced or forgotten."""

from __future__ import annotations

import socket
from typing import Annotated

import httpx
import typer

from filebay.client.api import Client
from filebay.client.cli.terminal import Server, connection, reports_errors, say
from filebay.client.config import (
    Credentials,
    credentials_path,
    delete_credentials,
    load_credentials,
    save_credentials,
)
from filebay.client.errors import EXIT_UNAUTHORIZED, ApiError, ClientError


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
    try:
        with Client.login(url, username, password) as client:
            created = client.create_api_token(name)
    except ApiError as exc:
        if exc.status == 401:
            raise ClientError(
                f"login to {url} failed: wrong user name or password", EXIT_UNAUTHORIZED
            ) from None
        raise
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
    say(f"logged in to {url} as {username}; API token {name!r} in {path}")


def _revoke(credentials: Credentials) -> bool:
    """Revoke the stored token on its server; ``True`` when it is no longer valid there."""
    assert credentials.token_id is not None
    with Client(credentials.server, credentials.token) as client:
        try:
            return client.revoke_api_token(credentials.token_id)
        except httpx.HTTPError:
            return False


@reports_errors
def logout() -> None:
    """Revoke the stored API token on the server and forget it."""
    stored = load_credentials()
    if stored is None:
        delete_credentials()
        say("not logged in")
        return
    if stored.token_id and not _revoke(stored):
        raise ClientError(
            f"could not revoke the token on {stored.server}; try again, or revoke it in the web "
            f"UI and delete {credentials_path()}"
        )
    delete_credentials()
    say(f"logged out of {stored.server}")
