"""filebay.sharing.downloads: which request of a link's bytes is a download, and the gate
every such request passes (the password first)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import pytest

from filebay.auth.secrets import secret_hash
from filebay.catalog.shares import Share
from filebay.errors import NotFound, PreconditionFailed, RangeNotSatisfiable
from filebay.sharing.downloads import (
    Conditions,
    Download,
    counts_as_download,
    open_download,
    previewable,
)
from filebay.sharing.grants import Purpose, ShareGrants
from filebay.sharing.links import SHARE_GONE
from filebay.transfer.ranges import http_date
from tests.unit.sharing.fakes import (
    DATA_SHA,
    NOW,
    FakeCatalog,
    FakeShares,
    record,
    share,
)

ETAG = f'"{DATA_SHA}"'
GET = Conditions(method="GET")
HEAD = Conditions(method="HEAD")
TOKEN = "tok"
GRANTS = ShareGrants("unit-test key")


# --- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "resumed", "counts"),
    [
        (GET, False, True),
        (Conditions(method="GET", range="bytes=0-9"), False, True),  # a new client's Range
        (GET, True, True),  # the ticket holder fetching it whole again: a new download
        (Conditions(method="GET", range="bytes=10-"), True, False),  # resuming
        # A resume whose If-Range no longer matches gets the whole file: counted.
        (Conditions(method="GET", range="bytes=10-", if_range='"old"'), True, True),
        (HEAD, False, False),
        (Conditions(method="HEAD", range="bytes=0-9"), False, False),
        (Conditions(method="GET", if_none_match=ETAG), False, False),  # 304
        (Conditions(method="GET", if_none_match="*"), False, False),
        (Conditions(method="GET", if_none_match=f'W/{ETAG}, "x"'), False, False),
        (Conditions(method="GET", if_none_match='"other"'), False, True),
        # An If-Range that no longer matches: the whole file is sent, the range ignored.
        (Conditions(method="GET", range="bytes=5000-", if_range='"old"'), False, True),
    ],
)
def test_what_counts(conditions: Conditions, resumed: bool, counts: bool) -> None:
    assert counts_as_download(record(), conditions, resumed=resumed) is counts


def test_an_unsatisfiable_range_is_refused_before_counting() -> None:
    for conditions in (
        Conditions(method="GET", range="bytes=1000-"),
        Conditions(method="GET", range="bytes=1000-", if_range=ETAG),
        Conditions(method="GET", range="bytes=1000-", if_range=http_date(record().created_at)),
    ):
        with pytest.raises(RangeNotSatisfiable):
            counts_as_download(record(), conditions, resumed=False)
    # (The ticket holder's 416 is the content response's to give.)
    ranged = Conditions(method="GET", range="bytes=1000-")
    assert not counts_as_download(record(), ranged, resumed=True)


def test_a_preview_only_without_a_limit_and_for_safe_types() -> None:
    png, html = record(content_type="image/png"), record(content_type="text/html")
    assert previewable(share(), png)
    assert not previewable(share(max_downloads=5), png)
    assert not previewable(share(), html)


# --- the gate --------------------------------------------------------------------------------


class Link:
    """One link in a fake table, opened as the download service would."""

    def __init__(self, item: Share) -> None:
        self.shares = FakeShares()
        self.shares.put(secret_hash(TOKEN), item)
        self.catalog = FakeCatalog(record())
        self.id = item.id

    def open(
        self,
        cookies: Mapping[str, str] | None = None,
        conditions: Conditions = GET,
        *,
        after: timedelta = timedelta(0),
    ) -> Download:
        return asyncio.run(
            open_download(
                self.shares,
                self.catalog,
                GRANTS,
                TOKEN,
                cookies or {},
                conditions,
                now=NOW + after,
            )
        )

    def refused(
        self, cookies: Mapping[str, str] | None = None, conditions: Conditions = GET
    ) -> None:
        with pytest.raises(NotFound) as caught:
            self.open(cookies, conditions)
        assert caught.value.detail == SHARE_GONE

    @property
    def downloads(self) -> int:
        return self.shares.current(self.id).downloads


def ticket_of(download: Download) -> dict[str, str]:
    assert download.ticket is not None
    return {download.ticket.name: download.ticket.value}


def test_a_full_get_counts_once_and_hands_out_a_ticket() -> None:
    link = Link(share(max_downloads=2))
    first = link.open()
    assert first.counted and first.record == record() and link.downloads == 1
    assert first.ticket is not None and first.ticket.name.startswith("filebay_ticket_")
    assert first.ticket.path == f"/s/{TOKEN}"
    ticket = ticket_of(first)
    # Resuming, HEAD: not counted, no new ticket.
    for conditions in (Conditions(method="GET", range="bytes=10-"), HEAD):
        again = link.open(ticket, conditions)
        assert not again.counted and again.ticket is None
    assert link.downloads == 1
    # A full GET again, ticket or not, is a new download.
    assert link.open(ticket, GET).counted
    assert link.downloads == 2
    link.refused(ticket, GET)  # and then the limit stops it


def test_the_limit_stops_new_clients_not_the_ticket_holder() -> None:
    link = Link(share(max_downloads=1))
    ticket = ticket_of(link.open())
    link.refused()  # a new client, Range or not, HEAD or not
    link.refused(conditions=Conditions(method="GET", range="bytes=0-9"))
    link.refused(conditions=HEAD)
    assert not link.open(ticket, Conditions(method="GET", range="bytes=0-9")).counted
    assert link.downloads == 1


def test_the_last_download_taken_meanwhile_is_gone() -> None:
    """The link looked usable, but the conditional count found it used up."""
    link = Link(share(max_downloads=1))

    async def used_up(share_id: str, now: object) -> bool:
        return False

    link.shares.count_download = used_up  # type: ignore[method-assign]
    link.refused()


def test_an_expired_link_ends_every_ticket() -> None:
    link = Link(share(expires_at=NOW + timedelta(seconds=10)))
    ticket = ticket_of(link.open())
    with pytest.raises(NotFound):
        link.open(ticket, after=timedelta(seconds=10))


@pytest.mark.parametrize(
    "conditions",
    [
        GET,
        HEAD,
        Conditions(method="GET", range="bytes=0-9"),
        Conditions(method="HEAD", range="bytes=0-9"),
        Conditions(method="GET", if_none_match=ETAG),
    ],
)
def test_a_locked_link_is_gone_on_every_path(conditions: Conditions) -> None:
    link = Link(share(password_hash="$argon2id$stand-in", max_downloads=3))
    link.refused(conditions=conditions)
    # A ticket (of this very link) does not stand in for the password.
    ticket = GRANTS.issue(Purpose.ticket, link.shares.current(link.id), TOKEN)
    link.refused({ticket.name: ticket.value}, conditions)
    assert link.downloads == 0
    unlock = GRANTS.issue(Purpose.unlock, link.shares.current(link.id), TOKEN)
    assert link.open({unlock.name: unlock.value}, conditions).record == record()


def test_what_sends_no_bytes_counts_nothing() -> None:
    link = Link(share(max_downloads=1))
    with pytest.raises(PreconditionFailed):
        link.open(conditions=Conditions(method="GET", if_match='"' + "0" * 64 + '"'))
    with pytest.raises(RangeNotSatisfiable):
        link.open(conditions=Conditions(method="GET", range="bytes=1000-"))
    assert not link.open(conditions=Conditions(method="GET", if_none_match=ETAG)).counted
    assert not link.open(conditions=HEAD).counted
    assert link.downloads == 0
    assert link.open(conditions=Conditions(method="GET", if_match=ETAG)).counted
    assert link.downloads == 1


def test_a_deleted_file_or_an_unknown_token_is_gone() -> None:
    link = Link(share())
    link.catalog.records.clear()
    link.refused()
    with pytest.raises(NotFound):
        asyncio.run(open_download(link.shares, link.catalog, GRANTS, "other", {}, GET, now=NOW))
