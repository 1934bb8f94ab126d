"""Requests racing on one upload: the lease lets one write at a time, and a finished upload
is recorded once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import httpx

from tests.e2e.tus.support import OFFSET_TYPE, Site, sha256, upload_id
from tests.harness.http import client
from tests.harness.waiting import wait_until

PIECE = 64 * 1024


def test_two_patches_at_the_same_offset(site: Site) -> None:
    data = os.urandom(16 * PIECE)
    url = site.create(len(data))
    sent: list[int] = []
    answers: dict[str, httpx.Response] = {}

    def slow() -> Iterator[bytes]:
        for start in range(0, len(data), PIECE):
            yield data[start : start + PIECE]
            sent.append(start)
            time.sleep(0.05)

    def first() -> None:
        headers = site.tus(**{"Upload-Offset": "0", "Content-Type": OFFSET_TYPE})
        with client() as c:
            answers["first"] = c.patch(url, headers=headers, content=slow())

    thread = threading.Thread(target=first)
    thread.start()
    try:
        wait_until(lambda: len(sent) >= 3, 20, "the first PATCH is under way")
        answers["second"] = site.patch(url, 0, os.urandom(len(data)))
    finally:
        thread.join(60)
    assert answers["second"].status_code in (409, 423), answers["second"].text
    assert answers["first"].status_code == 204, answers["first"].text
    assert answers["first"].headers["Upload-Offset"] == str(len(data))
    assert site.record(upload_id(url))["sha256"] == sha256(data)
    assert site.content(upload_id(url)) == data


def _finish_while_heads_come(site: Site, data: bytes) -> None:
    url = site.create(len(data))
    assert site.patch(url, 0, data[:-1]).status_code == 204
    stop = threading.Event()
    seen: list[int] = []

    def heads() -> None:
        with httpx.Client(timeout=30) as c:
            while not stop.is_set():
                try:
                    seen.append(c.head(url, headers=site.tus()).status_code)
                except httpx.HTTPError:
                    seen.append(-1)

    thread = threading.Thread(target=heads)
    thread.start()
    try:
        time.sleep(0.05)
        last = site.patch(url, len(data) - 1, data[-1:])
    finally:
        stop.set()
        thread.join(30)
    assert last.status_code == 204, last.text
    assert set(seen) == {200}, seen
    assert site.record(upload_id(url))["sha256"] == sha256(data)
    assert site.head(url).headers["Upload-Offset"] == str(len(data))


def test_heads_while_the_last_patch_finishes(site: Site) -> None:
    """A HEAD that comes while the last PATCH publishes and records the file must neither
    record it a second time nor fail (it did: 500, or 502 through the metadata service)."""
    data = os.urandom(24 * 1024 * 1024)
    for _ in range(2):
        _finish_while_heads_come(site, data)
