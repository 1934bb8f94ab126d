"""Folder share links: what ``/s/<token>`` shows of a shared folder, and which requests count.

Everything a link reaches is computed from the shared folder down (the catalog's zip
selection of it), so a path or a file id outside that subtree is simply not there: a
subfolder never opens above the share. Per-file downloads and "Download all" (one zip)
each count one download against ``max_downloads`` by the rule of
``filebay.sharing.downloads``; a download ticket is bound to what it was counted for (one
file, or the zip), so it resumes that and lets nothing else through uncounted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from filebay.catalog.archives import ArchiveFile, ArchiveFolder, Selection
from filebay.catalog.files import Catalog, FileRecord
from filebay.catalog.shares import Share, ShareLookup
from filebay.errors import NotFound, RangeNotSatisfiable
from filebay.sharing.downloads import Conditions, counts_as_download
from filebay.sharing.grants import GrantCookie, Purpose, ShareGrants
from filebay.sharing.links import expired, find_link, gone, open_link
from filebay.transfer.content import check_preconditions
from filebay.transfer.ranges import if_range_allows, not_modified, parse_range

FOLDER = "folder"
#: The item of "Download all".
ZIP = "zip"


@dataclass(frozen=True, slots=True)
class SharedFolder:
    share: Share
    #: The shared folder's name (the top of every path below).
    name: str
    #: Paths relative to the shared folder ("" is the folder itself).
    folders: list[ArchiveFolder]
    files: list[ArchiveFile]

    def selection(self) -> Selection:
        return Selection(self.folders, self.files)

    def view(self, path: str) -> tuple[list[str], list[FileRecord]]:
        """The subfolder names and the files directly in ``path``; ``gone()`` when the
        share has no such folder."""
        path = path.strip("/")
        if path and not any(f.path == path for f in self.folders):
            raise gone()
        prefix = f"{path}/" if path else ""
        names = sorted(
            f.path[len(prefix) :]
            for f in self.folders
            if f.path.startswith(prefix) and f.path != path and "/" not in f.path[len(prefix) :]
        )
        files = [
            f.record
            for f in self.files
            if f.path.startswith(prefix) and "/" not in f.path[len(prefix) :]
        ]
        return names, sorted(files, key=lambda r: r.name)

    def file(self, file_id: str) -> FileRecord:
        for item in self.files:
            if item.record.id == file_id:
                return item.record
        raise gone()


async def shared_folder(catalog: Catalog, share: Share) -> SharedFolder:
    """The folder behind a folder link, whole; ``gone()`` once it is deleted or trashed."""
    try:
        selection = await catalog.select(share.owner, [], [share.file_id])
    except NotFound:
        raise gone() from None
    top = min((f.path for f in selection.folders), key=len, default="")

    def inside(path: str) -> str:
        return path[len(top) + 1 :] if path.startswith(top + "/") else ""

    folders = [ArchiveFolder(inside(f.path), f.modified_at) for f in selection.folders]
    files = [ArchiveFile(inside(f.path), f.record) for f in selection.files]
    return SharedFolder(share, top, folders, files)


async def open_folder_link(
    lookup: ShareLookup, catalog: Catalog, token: str, now: datetime
) -> SharedFolder:
    share = await find_link(lookup, token)
    if share.kind != FOLDER or not share.usable(now):
        raise gone()
    return await shared_folder(catalog, share)


async def open_any_link(lookup: ShareLookup, catalog: Catalog, token: str, now: datetime) -> Share:
    """A usable link of either kind whose file or folder is still there; ``gone()``."""
    if (await find_link(lookup, token)).kind == FOLDER:
        return (await open_folder_link(lookup, catalog, token, now)).share
    share, _record = await open_link(lookup, catalog, token, now)
    return share


def _bound(share: Share, item: str) -> Share:
    """The link as a ticket sees it: bound to one file, or to the zip."""
    return replace(share, id=f"{share.id}/{item}")


@dataclass(frozen=True, slots=True)
class FolderGate:
    """A content request of a folder link let in (password checked, link alive or the
    client finishing a counted download); ``count`` it once it is known to be a download."""

    share: Share
    folder: SharedFolder
    item: str
    #: The client holds the ticket of this very item (it resumes a counted download).
    resumed: bool

    async def count(self, lookup: ShareLookup, grants: ShareGrants, token: str) -> GrantCookie:
        """Count one download, atomically; ``gone()`` when the last one was taken
        meanwhile. The ticket to set."""
        if not await lookup.count_download(self.share.id, datetime.now(UTC)):
            raise gone()
        return grants.issue(Purpose.ticket, _bound(self.share, self.item), token)


async def admit(
    lookup: ShareLookup,
    catalog: Catalog,
    grants: ShareGrants,
    token: str,
    cookies: Mapping[str, str],
    item: str,
    now: datetime | None = None,
) -> FolderGate:
    """``item``: a file id, or ``ZIP``. ``gone()`` (404) for a dead or locked link, or one
    used up for this client."""
    now = now or datetime.now(UTC)
    share = await find_link(lookup, token)
    if share.kind != FOLDER or not grants.unlocked(share, cookies):
        raise gone()
    resumed = grants.holds(Purpose.ticket, _bound(share, item), cookies)
    if expired(share, now) or not (resumed or share.usable(now)):
        raise gone()
    return FolderGate(share, await shared_folder(catalog, share), item, resumed)


def file_counts(gate: FolderGate, record: FileRecord, conditions: Conditions) -> bool:
    check_preconditions(record, conditions.if_match, conditions.if_unmodified_since)
    return counts_as_download(record, conditions, resumed=gate.resumed)


def zip_counts(
    gate: FolderGate, conditions: Conditions, etag: str, size: int, modified: datetime
) -> bool:
    """The rule of ``counts_as_download`` for the folder's zip."""
    if conditions.method != "GET" or not_modified(conditions.if_none_match, etag):
        return False
    span = None
    if if_range_allows(conditions.if_range, etag, modified):
        try:
            span = parse_range(conditions.range, size)
        except RangeNotSatisfiable:
            if not gate.resumed:
                raise
            return False
    return not (gate.resumed and span is not None)
