"""What a service has, resolved once at start-up by wiring (``filebay.wiring``).

Every service has settings, a catalog, a blob store, an authenticator, upload sessions,
share lookup and a login limiter. The optional capabilities exist only where the database
is local (``directory``, ``shares``), where JWTs are signed (``keyring``), or where the blob
store can stage resumable uploads (``staging``). The HTTP edge refuses to start a service
whose routes need a capability its runtime lacks (``filebay.http.app``), so no request
ever meets a missing one.

In the split shape one ``HttpCatalog`` plays ``catalog``, ``uploads``, ``share_lookup`` and
``login_limiter``; locally they are separate SQL objects. The fields name the role (the
contract a caller relies on), not the object behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from filebay.auth.authenticator import Authenticator
from filebay.auth.keys import KeyRing
from filebay.catalog.audit import AuditLog
from filebay.catalog.files import Catalog
from filebay.catalog.folders import Folders
from filebay.catalog.identities import Identities
from filebay.catalog.shares import ShareLookup, Shares
from filebay.catalog.trash import Trash
from filebay.catalog.uploads import UploadSessions
from filebay.catalog.users import Directory, LoginLimiter
from filebay.config import Settings
from filebay.sharing.grants import ShareGrants
from filebay.storage.base import BlobStore, Staging

#: The capabilities a service may lack that are ``Runtime`` fields (``None`` when lacking).
OPTIONAL_FIELDS = (
    "directory",
    "shares",
    "folders",
    "trash",
    "keyring",
    "share_grants",
    "identities",
    "audit",
)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    catalog: Catalog
    store: BlobStore
    authenticator: Authenticator
    uploads: UploadSessions
    share_lookup: ShareLookup
    login_limiter: LoginLimiter
    #: Only where the database is local (all-in-one, auth, metadata): users and API tokens.
    directory: Directory | None = None
    #: Only where the database is local: creating, listing and revoking share links.
    shares: Shares | None = None
    #: Only where the database is local: the folder tree (browse, move, resolve paths).
    folders: Folders | None = None
    #: Only where the database is local: the trash (move to, list, restore, purge).
    trash: Trash | None = None
    #: Only where JWTs are signed (all-in-one, auth).
    keyring: KeyRing | None = None
    #: Only where share links are served (all-in-one, download): their cookies' key.
    share_grants: ShareGrants | None = None
    #: Only where the database is local: single sign-on links and sign-ins under way.
    identities: Identities | None = None
    #: Only where the database is local: the audit log.
    audit: AuditLog | None = None
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    def capabilities(self) -> frozenset[str]:
        """The optional capabilities this runtime has, by name."""
        has = {name for name in OPTIONAL_FIELDS if getattr(self, name) is not None}
        if isinstance(self.store, Staging):
            has.add("staging")
        return frozenset(has)

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()
