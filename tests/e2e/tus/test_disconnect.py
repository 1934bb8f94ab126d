"""A client that vanishes in the middle of a PATCH: without a checksum what arrived is kept
(tus resumes from there); with one, nothing of that chunk is."""

from __future__ import annotations

import base64
import hashlib
import os

from tests.e2e.tus.support import OFFSET_TYPE, Site, patch_and_vanish, sha256, upload_id
from tests.harness.http import client
from tests.harness.waiting import wait_until

SIZE = 2 * 1024 * 1024
SENT = 700 * 1024


def _headers(site: Site, offset: int, **extra: str) -> dict[str, str]:
    return site.tus(**{"Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE, **extra})


def _wait_unlocked(site: Site, url: str) -> None:
    """Until the server has dealt with the dead request: a PATCH at a wrong offset answers
    409 once the upload is no longer locked (423 while it is)."""

    def free() -> bool:
        r = site.patch(url, SIZE, b"x")
        assert r.status_code in (409, 423), r.status_code
        return r.status_code == 409

    wait_until(free, 15, "the dead request releases the upload")


def test_without_checksum_the_bytes_that_arrived_are_kept(site: Site) -> None:
    data = os.urandom(SIZE)
    url = site.create(SIZE)
    assert site.patch(url, 0, data[:1000]).status_code == 204
    patch_and_vanish(url, _headers(site, 1000), SIZE - 1000, data[1000 : 1000 + SENT])
    _wait_unlocked(site, url)
    offset = site.offset(url)
    assert 1000 < offset <= 1000 + SENT
    assert site.staged(upload_id(url)).stat().st_size == offset
    # The upload can be finished from there.
    r = site.patch(url, offset, data[offset:])
    assert r.status_code == 204, r.text
    assert site.record(upload_id(url))["sha256"] == sha256(data)
    assert site.content(upload_id(url)) == data


def test_with_checksum_the_offset_stays(site: Site) -> None:
    data = os.urandom(SIZE)
    url = site.create(SIZE)
    assert site.patch(url, 0, data[:1000]).status_code == 204
    digest = base64.b64encode(hashlib.sha256(data[1000:]).digest()).decode()
    headers = _headers(site, 1000, **{"Upload-Checksum": f"sha256 {digest}"})
    patch_and_vanish(url, headers, SIZE - 1000, data[1000 : 1000 + SENT])
    _wait_unlocked(site, url)
    assert site.offset(url) == 1000
    assert site.staged(upload_id(url)).stat().st_size == 1000
    with client() as c:
        r = c.patch(url, headers=headers, content=data[1000:])
    assert r.status_code == 204, r.text
    assert site.record(upload_id(url))["sha256"] == sha256(data)
