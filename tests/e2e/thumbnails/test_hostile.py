"""Broken and hostile files through a real server: each answers 404 quickly, and while they
are being refused, other requests (a thumbnail, a download, a listing) are answered fast."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import media
from tests.harness.http import client, timed
from tests.harness.portal import Portal

HOSTILE = {
    "truncated.png": media.truncated_png(),
    "bomb.png": media.decompression_bomb(),
    "huge.png": media.png_header(30_000, 30_000),
    "random.jpg": media.random_bytes(),
    "fake.pdf": media.fake_pdf(),
    "random.mp4": media.random_bytes(),
}
#: Generous for a busy two-core machine; a renderer is killed after 10 s, and these must be
#: refused well before that.
QUICK = 5.0


def thumb_url(portal: Portal, file_id: str, size: int = 256) -> str:
    return f"{portal.download}/api/files/{file_id}/thumbnail?size={size}"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_answers_404_quickly(
    portal: Portal, alice: dict[str, str], name: str
) -> None:
    record = portal.put_file(alice, name, HOSTILE[name])
    answer, seconds = timed(lambda: portal.http.get(thumb_url(portal, record["id"]), headers=alice))
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "no_thumbnail"
    assert seconds < QUICK, f"{seconds:.1f} s"
    # Asked again, it is not decoded again: the answer is kept.
    again, seconds = timed(lambda: portal.http.get(thumb_url(portal, record["id"]), headers=alice))
    assert again.status_code == 404 and seconds < 1.0


def test_other_requests_are_answered_fast_while_bombs_are_refused(
    portal: Portal, alice: dict[str, str]
) -> None:
    bombs = [portal.put_file(alice, f"bomb{i}.png", HOSTILE["bomb.png"])["id"] for i in range(3)]
    bombs += [portal.put_file(alice, f"huge{i}.png", HOSTILE["huge.png"])["id"] for i in range(3)]
    good = portal.put_file(alice, "good.jpg", media.jpeg(1200, 900))["id"]
    text = portal.put_file(alice, "plain.txt", b"plain")["id"]

    def get(url: str) -> tuple[int, float]:
        with client() as http:
            answer, seconds = timed(lambda: http.get(url, headers=alice))
            return answer.status_code, seconds

    hostile_urls = [thumb_url(portal, bomb) for bomb in bombs]
    with ThreadPoolExecutor(len(hostile_urls) + 3) as pool:
        refused = [pool.submit(get, url) for url in hostile_urls]
        time.sleep(0.05)  # the bombs are in first
        normal = [
            pool.submit(get, thumb_url(portal, good, 64)),
            pool.submit(get, f"{portal.download}/api/files/{text}/content"),
            pool.submit(get, f"{portal.metadata}/api/files?limit=5"),
        ]
        for future in normal:
            status, seconds = future.result()
            assert status == 200 and seconds < QUICK, (status, seconds)
        for future in refused:
            status, seconds = future.result()
            assert status == 404 and seconds < 2 * QUICK, (status, seconds)
