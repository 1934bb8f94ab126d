"""``filebay``: run the server, check the data, show the settings."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from filebay.config import Service, Settings
from filebay.observability.logs import configure_logging

app = typer.Typer(
    help="filebay: a self-hosted, multi-user file portal.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder for blobs, the SQLite file and keys (FILEBAY_DATA_DIR)."
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the catalog (FILEBAY_DATABASE_URL)."),
]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the CLI flags that were given on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)


@app.command()
def serve(
    service: Annotated[
        Service,
        typer.Option(help="Which service to run; 'all' runs the four in one process."),
    ] = Service.all,
    host: Annotated[str | None, typer.Option(help="Address to listen on (FILEBAY_HOST).")] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port; default 8000 for all, 8001 upload, 8002 metadata, 8003 download."),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    metadata_url: Annotated[
        str | None,
        typer.Option(help="Base URL of the metadata service, for upload and download."),
    ] = None,
    workers: Annotated[
        str, typer.Option(help="Worker processes (uvicorn): a number, or auto (one per core).")
    ] = "1",
    i_know_this_is_public: Annotated[
        bool,
        typer.Option(
            "--i-know-this-is-public",
            help="Allow FILEBAY_AUTH=off on an address other than loopback.",
        ),
    ] = False,
) -> None:
    """Run filebay: all services in one process, or one service of the split shape."""
    import uvicorn

    from filebay.http.protocol import PROTOCOL

    settings = load_settings(
        service=service,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        metadata_url=metadata_url,
    )
    check_exposure(settings, i_know_this_is_public)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    err.print(
        f"filebay {settings.service.value} on http://{settings.host}:{settings.effective_port} "
        f"(data: {settings.data_dir.resolve()})"
    )
    configure_logging(settings.log_level, settings.log_format)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.effective_port,
        "log_level": settings.log_level,
        # Our own access log names route templates; uvicorn's would print raw paths, and a
        # share link's path is a secret.
        "access_log": False,
        # X-Forwarded-For/-Proto only from the proxies named in FILEBAY_TRUST_PROXY.
        "proxy_headers": settings.trust_proxy is not None,
        "forwarded_allow_ips": settings.trust_proxy or "",
        "timeout_keep_alive": 30,
        # uvicorn's protocol with a deadline for each request's head (slow-header clients).
        "http": PROTOCOL,
        "server_header": False,
    }
    count = worker_count(workers)
    if count > 1:
        # Worker processes rebuild the app from the environment, so hand the flags over there.
        os.environ.update(settings.as_environment())
        uvicorn.run("filebay_server.app:create_app", factory=True, workers=count, **options)
    else:
        from filebay_server.app import create_app

        uvicorn.run(create_app(settings), **options)


def worker_count(value: str) -> int:
    """``--workers``: a positive number, or ``auto`` for one process per usable core."""
    if value == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    if not value.isdigit() or int(value) < 1:
        raise typer.BadParameter(
            "a number of processes (1 or more), or auto", param_hint="--workers"
        )
    return int(value)


def check_exposure(settings: Settings, confirmed: bool) -> None:
    """Refuse to serve without logins on a reachable address unless told so."""
    if settings.auth != "off" or confirmed or settings.i_know_this_is_public:
        return
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        err.print(
            f"[red]Refusing to start:[/red] FILEBAY_AUTH=off on {settings.host} lets anyone "
            "who can reach it read and delete every file. Listen on 127.0.0.1, turn auth on, "
            "or pass --i-know-this-is-public."
        )
        raise typer.Exit(2)


@app.command("config")
def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the effective settings, with secrets masked."""
    values = load_settings(data_dir=data_dir, database_url=database_url).masked()
    if as_json:
        console.print_json(json.dumps(values, default=str))
        return
    table = Table("setting", "value", title="filebay settings")
    for key, value in values.items():
        table.add_row(f"FILEBAY_{key.upper()}", "" if value is None else str(value))
    console.print(table)


@app.command()
def fsck(
    repair: Annotated[
        bool, typer.Option(help="Remove leftovers and records whose blob is gone.")
    ] = False,
    verify: Annotated[
        bool, typer.Option(help="Also read every blob and check its SHA-256.")
    ] = False,
    grace_seconds: Annotated[
        int | None,
        typer.Option(help="Orphans and temp files younger than this are left alone."),
    ] = None,
    restore_quarantine: Annotated[
        bool,
        typer.Option(
            help="Move every quarantined orphan blob back into place (nothing else is done)."
        ),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check catalog against blob store. Exit 0 clean, 1 damage or unrepaired leftovers."""
    from filebay.catalog.sql.files import SqlCatalog
    from filebay.catalog.sql.uploads import SqlUploads
    from filebay.storage import open_blob_store
    from filebay.upkeep.orphans import restore_all
    from filebay.upkeep.scanner import FSCK, Check, Policy, Sources, scan
    from filebay.upkeep.serverlock import no_server_running

    settings = load_settings(data_dir=data_dir, database_url=database_url)

    if restore_quarantine:

        async def restore() -> list[str]:
            store, close_store = await open_blob_store(settings)
            try:
                return await restore_all(store)
            finally:
                await close_store()

        restored = asyncio.run(restore())
        console.print(f"{len(restored)} quarantined blobs moved back")
        raise typer.Exit(0)

    async def run(idle: bool) -> Any:
        catalog = await SqlCatalog.open(settings.effective_database_url)
        store, close_store = await open_blob_store(settings)
        policy = Policy.of(settings, grace_seconds=grace_seconds)
        if idle and settings.storage == "local":
            # No server holds the data dir: every temp file is a crash's leftover.
            policy = dataclasses.replace(policy, temp_grace=timedelta(0))
        try:
            return await scan(
                Sources(catalog, store, uploads=SqlUploads(catalog.engine)),
                (FSCK | Check.VERIFY) if verify else FSCK,
                repair=repair,
                policy=policy,
            )
        finally:
            await close_store()
            await catalog.close()

    with no_server_running(settings.data_dir) as idle:
        report = asyncio.run(run(idle))
    table = Table("problem", "key", "detail", "repaired", title="filebay fsck")
    for f in report.findings:
        table.add_row(f.kind, f.key, f.detail, "yes" if f.repaired else "no")
    if report.findings:
        console.print(table)
    for f in report.findings:
        if f.kind == "refused":  # the reason in full, not cut to the table's width
            console.print(f"refused: {f.detail}", markup=False, soft_wrap=True)
    console.print(
        f"{report.records} records, {report.blobs} blobs, {len(report.findings)} problems"
        + (f", {report.quarantined} blobs in quarantine" if report.quarantined else "")
    )
    raise typer.Exit(0 if report.clean else 1)


def main() -> None:
    from filebay.client.commands import register
    from filebay_server.audit import audit_app
    from filebay_server.users import user_app

    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    register(app)
    app()
