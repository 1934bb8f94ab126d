"""GET /api/files/{id}/thumbnail through real servers, in both shapes: each kind of file, made
once and then served from the blob store, cache headers, who may see it, and the thumbnails
going with their file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import media
from tests.harness.http import bearer, unique
from tests.harness.portal import Portal


def thumb_url(portal: Portal, file_id: str, size: int | str = 256) -> str:
    return f"{portal.download}/api/files/{file_id}/thumbnail?size={size}"


def thumbnail_blobs(portal: Portal, file_id: str) -> dict[str, Path]:
    """The thumbnails kept for a file, by name (``<key>.t<size>``, beside the file's blob)."""
    return {p.name: p for p in portal.blob_files() if p.name.startswith(f"{file_id}.")}


@pytest.mark.parametrize(
    ("name", "data", "size", "expected"),
    [
        ("photo.jpg", media.jpeg(800, 600), 256, (256, 192)),
        ("logo.png", media.png(300, 200, alpha=True), 64, (64, 43)),
        ("doc.pdf", media.pdf(200, 300), 1024, (683, 1024)),  # pages scale to the size
        ("clip.mp4", media.mp4(320, 240), 64, (64, 48)),
    ],
    ids=["jpeg", "png", "pdf", "video"],
)
def test_each_kind_gets_a_webp_thumbnail(
    portal: Portal,
    alice: dict[str, str],
    name: str,
    data: bytes,
    size: int,
    expected: tuple[int, int],
) -> None:
    record = portal.put_file(alice, name, data)
    answer = portal.http.get(thumb_url(portal, record["id"], size), headers=alice)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/webp"
    assert media.format_of(answer.content) == "WEBP"
    if name.endswith(".pdf"):  # pdftoppm rounds: within a pixel
        width, height = media.size_of(answer.content)
        assert abs(width - expected[0]) <= 1 and abs(height - expected[1]) <= 1
    else:
        assert media.size_of(answer.content) == expected


def test_made_once_then_served_from_the_store_with_cache_headers(
    portal: Portal, alice: dict[str, str]
) -> None:
    record = portal.put_file(alice, "big.jpg", media.jpeg(1600, 1200))
    url = thumb_url(portal, record["id"], 256)
    first = portal.http.get(url, headers=alice)
    assert first.status_code == 200, first.text
    kept = thumbnail_blobs(portal, record["id"])
    assert list(kept) == [f"{record['id']}.t256"]
    blob = kept[f"{record['id']}.t256"]
    assert blob.read_bytes() == first.content
    assert blob.parent == next(p for p in portal.blob_files() if p.name == record["id"]).parent
    made_at = blob.stat().st_mtime_ns

    etag = first.headers["etag"]
    assert etag.startswith('"') and record["sha256"] in etag
    assert first.headers["cache-control"].startswith("private")
    assert first.headers["x-content-type-options"] == "nosniff"

    second = portal.http.get(url, headers=alice)
    assert (second.status_code, second.content) == (200, first.content)
    assert second.headers["etag"] == etag
    assert blob.stat().st_mtime_ns == made_at  # served from the store, not made again

    again = portal.http.get(url, headers={**alice, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other_size = portal.http.get(thumb_url(portal, record["id"], 64), headers=alice)
    assert other_size.headers["etag"] != etag
    assert set(thumbnail_blobs(portal, record["id"])) == {
        f"{record['id']}.t256",
        f"{record['id']}.t64",
    }


def test_only_the_owner_sees_a_thumbnail(portal: Portal, alice: dict[str, str]) -> None:
    record = portal.put_file(alice, "mine.png", media.png())
    mallory = unique("mallory")
    portal.add_user(mallory)
    theirs = portal.http.get(thumb_url(portal, record["id"]), headers=bearer(portal.login(mallory)))
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "not_found"
    assert thumbnail_blobs(portal, record["id"]) == {}  # nothing was made for them

    nobody = portal.http.get(thumb_url(portal, record["id"]))
    assert nobody.status_code == 401
    unknown = portal.http.get(thumb_url(portal, os.urandom(16).hex()), headers=alice)
    assert unknown.status_code == 404
    malformed = portal.http.get(thumb_url(portal, "..%2F..%2Fetc"), headers=alice)
    assert malformed.status_code == 404


@pytest.mark.parametrize("size", ["0", "100", "512", "4096", "-64", "big", ""])
def test_a_bad_size_is_a_400_in_the_usual_shape(
    portal: Portal, alice: dict[str, str], size: str
) -> None:
    record = portal.put_file(alice, "sized.png", media.png())
    answer = portal.http.get(thumb_url(portal, record["id"], size), headers=alice)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) >= {"detail", "code"} and body["detail"]


def test_files_without_a_picture_answer_404(portal: Portal, alice: dict[str, str]) -> None:
    for name, data in [
        ("notes.txt", b"hello"),
        ("vector.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("empty.png", b""),
    ]:
        record = portal.put_file(alice, name, data)
        answer = portal.http.get(thumb_url(portal, record["id"]), headers=alice)
        assert answer.status_code == 404, name
        assert answer.json()["code"] == "no_thumbnail"


def test_deleting_a_file_removes_its_thumbnails(portal: Portal, alice: dict[str, str]) -> None:
    record = portal.put_file(alice, "gone.jpg", media.jpeg())
    for size in (64, 256, 1024):
        assert portal.http.get(thumb_url(portal, record["id"], size), headers=alice).is_success
    assert len(thumbnail_blobs(portal, record["id"])) == 3
    bad = portal.put_file(alice, "bad.jpg", media.random_bytes())
    assert portal.http.get(thumb_url(portal, bad["id"]), headers=alice).status_code == 404
    assert len(thumbnail_blobs(portal, bad["id"])) == 1  # the "none" marker

    for file_id in (record["id"], bad["id"]):
        deleted = portal.http.delete(
            f"{portal.metadata}/api/files/{file_id}?permanent=true", headers=alice
        )
        assert deleted.status_code == 204
        assert thumbnail_blobs(portal, file_id) == {}
        assert not any(p.name == file_id for p in portal.blob_files())
    gone = portal.http.get(thumb_url(portal, record["id"]), headers=alice)
    assert gone.status_code == 404


def test_fsck_keeps_thumbnails_and_sweeps_those_of_no_file(
    portal: Portal, alice: dict[str, str]
) -> None:
    record = portal.put_file(alice, "kept.png", media.png())
    assert portal.http.get(thumb_url(portal, record["id"]), headers=alice).is_success
    # A thumbnail whose file is gone (a crash between deleting the two, say).
    stray_key = os.urandom(16).hex()
    stray = portal.data_dir / "blobs" / stray_key[:2] / stray_key[2:4] / f"{stray_key}.t64"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"webp")

    report = fsck(portal)
    assert f"{stray_key}.t64" in report.stdout
    assert f"{record['id']}.t256" not in report.stdout
    fsck(portal, "--repair")
    assert not stray.exists()
    assert f"{record['id']}.t256" in thumbnail_blobs(portal, record["id"])


def fsck(portal: Portal, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "filebay_server", "fsck", "--grace-seconds", "0", *args],
        env=portal.cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
