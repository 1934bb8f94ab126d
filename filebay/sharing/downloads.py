"""A share link's bytes: who may have them, and which request counts as a download.

The rule (``counts_as_download``): a GET that sends the file's bytes to a new client counts,
once, against ``max_downloads``. Not counted: HEAD; a 304 (a cache revalidating sends no
bytes); a 412 (a failed ``If-Match`` / ``If-Unmodified-Since``) or a 416 (an unsatisfiable
Range), which send no bytes either; and a ranged GET of a client that holds the link's
download ticket, a grant set by its first counted GET (``filebay.sharing.grants``): a browser
resuming with Range finishes what it started, even once the limit is reached by others. A
full GET is a new download, ticket or not (a ticket once made every GET free for its life,
so a one-download link could be fetched again and again from one browser); a client without
the ticket is a new download, Range or not.

The count is one conditional update (``ShareLookup.count_download``): concurrent clients
cannot pass the limit. The password (an unlock grant) is checked first on every path, GET,
HEAD and Range alike, and a ticket never stands in for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from filebay.catalog.files import Catalog, FileRecord
from filebay.catalog.shares import Share, ShareLookup
from filebay.errors import RangeNotSatisfiable
from filebay.sharing.grants import GrantCookie, Purpose, ShareGrants
from filebay.sharing.links import expired, file_of, find_link, gone
from filebay.transfer.content import check_preconditions
from filebay.transfer.disposition import can_inline
from filebay.transfer.ranges import if_range_allows, not_modified, parse_range


@dataclass(frozen=True, slots=True)
class Conditions:
    """What of a content request decides whether it is a download."""

    method: str
    range: str | None = None
    if_none_match: str | None = None
    if_range: str | None = None
    if_match: str | None = None
    if_unmodified_since: str | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """A content request let through: the link, its file, and the ticket to set when this
    request was counted (``None`` otherwise)."""

    share: Share
    record: FileRecord
    ticket: GrantCookie | None = None

    @property
    def counted(self) -> bool:
        return self.ticket is not None


def counts_as_download(record: FileRecord, conditions: Conditions, *, resumed: bool) -> bool:
    """Whether this request, answered, sends ``record``'s bytes to a new client (see the
    module's rule). ``RangeNotSatisfiable`` for a 416, before anything is counted; the
    caller has checked the preconditions (412) already."""
    if conditions.method != "GET":
        return False
    etag = f'"{record.sha256}"'
    if not_modified(conditions.if_none_match, etag):
        return False
    span = None
    if if_range_allows(conditions.if_range, etag, record.created_at):
        if resumed:
            # The ticket holder's 416 is the content response's to give, uncounted.
            try:
                span = parse_range(conditions.range, record.size)
            except RangeNotSatisfiable:
                return False
        else:
            span = parse_range(conditions.range, record.size)  # raises for a 416
    # Only a range the answer honours resumes; a full body is a download again.
    return not (resumed and span is not None)


async def open_download(
    lookup: ShareLookup,
    catalog: Catalog,
    grants: ShareGrants,
    token: str,
    cookies: Mapping[str, str],
    conditions: Conditions,
    *,
    now: datetime | None = None,
) -> Download:
    """Let a content request of the link ``token`` through, counting it when it is a
    download; ``gone()`` (404) for a dead link, a locked one, or one used up for this
    client. ``PreconditionFailed`` (412) and ``RangeNotSatisfiable`` (416) count nothing."""
    now = now or datetime.now(UTC)
    share = await find_link(lookup, token)
    if not grants.unlocked(share, cookies):
        raise gone()  # fail closed: the same 404 as a link that does not exist
    resumed = grants.holds(Purpose.ticket, share, cookies)
    # A ticket outlives the limit (the client finishes its download), not the expiry.
    if expired(share, now) or not (resumed or share.usable(now)):
        raise gone()
    record = await file_of(catalog, share)
    check_preconditions(record, conditions.if_match, conditions.if_unmodified_since)
    if not counts_as_download(record, conditions, resumed=resumed):
        return Download(share, record)
    if not await lookup.count_download(share.id, now):
        raise gone()  # someone else took the last download
    return Download(share, record, grants.issue(Purpose.ticket, share, token))


def previewable(share: Share, record: FileRecord) -> bool:
    """Whether the share page may show the file inline: a type that cannot run script, on a
    link without a download limit (a preview fetches the content, which would count)."""
    return share.max_downloads is None and can_inline(record.content_type)
