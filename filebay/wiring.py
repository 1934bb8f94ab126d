"""What each service opens on start: catalog, blob store, user directory, keys."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

from filebay.auth.authenticator import Authenticator
from filebay.auth.jwt import KeySource, LocalKeys, RemoteJwks
from filebay.auth.keys import KeyRing
from filebay.auth.passwords import hash_password, random_password
from filebay.auth.principal import ADMIN
from filebay.catalog.remote.client import HttpCatalog
from filebay.catalog.sql.audit import SqlAuditLog
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.folders import SqlFolders
from filebay.catalog.sql.identities import SqlIdentities
from filebay.catalog.sql.shares import SqlShares
from filebay.catalog.sql.trash import SqlTrash
from filebay.catalog.sql.uploads import SqlUploads
from filebay.catalog.sql.users import SqlDirectory
from filebay.catalog.users import Directory
from filebay.config import Service, Settings
from filebay.errors import Conflict
from filebay.runtime import Runtime
from filebay.sharing.grants import ShareGrants
from filebay.storage import open_blob_store
from filebay.upkeep.identity import establish_on_start
from filebay.upkeep.serverlock import ServerLock

log = logging.getLogger("filebay")

DEFAULT_METADATA_URL = "http://127.0.0.1:8002"
DEFAULT_AUTH_URL = "http://127.0.0.1:8004"


async def ensure_admin(directory: Directory, settings: Settings) -> None:
    """First start: create ``admin`` with FILEBAY_ADMIN_PASSWORD or a random password,
    printed once."""
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    if await directory.count_users() > 0:
        if given:
            # Silently ignored, it looked like a password that does not work (issue 18).
            log.warning(
                "FILEBAY_ADMIN_PASSWORD is ignored: it only sets the password of 'admin' on "
                "the first start (users exist already); to change it run "
                "`filebay user passwd admin`"
            )
        return
    password = given or random_password()
    try:
        await directory.create_user(ADMIN, await hash_password(password), "admin", None)
    except Conflict:
        return  # another replica was first
    if not given:
        # Printed, not logged: it must not end up in log aggregation.
        print(
            f"\nfilebay: created user 'admin' with password: {password}\n"
            "         (shown once; change it with `filebay user passwd admin`)\n",
            file=sys.stderr,
            flush=True,
        )


def _remote_keys(settings: Settings) -> KeySource:
    # The browser's URL and the services' own way there differ behind Compose or a proxy.
    return RemoteJwks(settings.auth_internal_url or settings.auth_url or DEFAULT_AUTH_URL)


async def server_lock(settings: Settings) -> Callable[[], Awaitable[None]]:
    """Hold the data dir's server lock while this process serves (``filebay fsck`` reads it
    to tell a crash's temp files from uploads in flight); how to let it go."""
    if settings.storage != "local":
        return _nothing
    held = await asyncio.to_thread(ServerLock.hold, settings.data_dir)
    return held.release


async def _nothing() -> None:
    return None


def share_grants(settings: Settings) -> ShareGrants | None:
    """The key of share-link cookies, where ``/s/{token}`` is served: only there is it read
    (or generated into the data dir)."""
    if settings.service in (Service.all, Service.download):
        return ShareGrants.from_settings(settings)
    return None


async def open_local(settings: Settings, *, signs: bool, remote_keys: bool = False) -> Runtime:
    """The database is here: all-in-one, auth and metadata services."""
    catalog = await SqlCatalog.open(settings.effective_database_url)
    try:
        store, close_store = await open_blob_store(settings)
    except BaseException:
        await catalog.close()
        raise
    directory = SqlDirectory(catalog.engine)
    lock = await server_lock(settings)
    folders = SqlFolders(catalog.engine)
    # FILEBAY_TRASH_DAYS=0: a file displaced by on_conflict=replace is deleted at once.
    catalog.keep_trash = folders.keep_trash = settings.trash_days > 0
    shares = SqlShares(catalog.engine)
    ring = KeyRing.load(settings.data_dir, settings.jwt_private_key_file) if signs else None
    keys: KeySource = LocalKeys(ring) if ring is not None else _remote_keys(settings)
    if signs:
        await ensure_admin(directory, settings)
    await establish_on_start(catalog, store)
    return Runtime(
        settings=settings,
        catalog=catalog,
        store=store,
        authenticator=Authenticator(directory, keys, settings.revocation_seconds),
        uploads=SqlUploads(catalog.engine),
        share_lookup=shares,
        login_limiter=directory,
        shares=shares,
        folders=folders,
        trash=SqlTrash(catalog.engine),
        directory=directory,
        keyring=ring,
        share_grants=share_grants(settings),
        identities=SqlIdentities(catalog.engine),
        audit=SqlAuditLog(catalog.engine),
        closers=[close_store, catalog.close, lock],
    )


async def open_remote(settings: Settings) -> Runtime:
    """Upload and download: the catalog is the metadata service, keys come from auth."""
    store, close_store = await open_blob_store(settings)
    catalog = HttpCatalog(
        settings.metadata_internal_url or settings.metadata_url or DEFAULT_METADATA_URL,
        settings.resolved_service_token(),
        timeout=settings.catalog_timeout,
    )
    return Runtime(
        settings=settings,
        catalog=catalog,
        store=store,
        authenticator=Authenticator(catalog, _remote_keys(settings), settings.revocation_seconds),
        uploads=catalog,
        share_lookup=catalog,
        login_limiter=catalog,
        share_grants=share_grants(settings),
        closers=[close_store, catalog.close, await server_lock(settings)],
    )
