"""The tus protocol answer by answer: every status code the server gives, and why."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.tus.support import (
    MAX_UPLOAD,
    OFFSET_TYPE,
    REVOCATION_WAIT,
    TINY_QUOTA,
    TUS,
    Site,
    metadata_header,
    sha256,
    upload_id,
)
from tests.harness.http import client


def _checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def test_options_advertises_the_extensions(site: Site) -> None:
    with client() as c:
        for url in (site.endpoint, site.endpoint + "0" * 32):
            # No credentials needed: a client discovers the server before it logs in.
            r = c.options(url)
            assert r.status_code == 204
            assert r.headers["Tus-Version"] == TUS
            assert r.headers["Tus-Resumable"] == TUS
            extensions = r.headers["Tus-Extension"].split(",")
            for ext in (
                "creation",
                "creation-with-upload",
                "termination",
                "checksum",
                "expiration",
            ):
                assert ext in extensions
            assert int(r.headers["Tus-Max-Size"]) == MAX_UPLOAD
            assert r.headers["Tus-Checksum-Algorithm"].split(",") == ["sha1", "sha256"]


def _every_method(
    site: Site, url: str, headers: dict[str, str], body: bytes
) -> list[httpx.Response]:
    """The answers to a creation of ``len(body)`` bytes, and HEAD, PATCH (``body`` at 0)
    and DELETE of ``url``, all sent with ``headers``."""
    patch = {**headers, "Upload-Offset": "0", "Content-Type": OFFSET_TYPE}
    with client() as c:
        return [
            c.post(site.endpoint, headers={**headers, "Upload-Length": str(len(body))}),
            c.head(url, headers=headers),
            c.patch(url, headers=patch, content=body),
            c.delete(url, headers=headers),
        ]


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", ""])
def test_412_without_the_right_tus_resumable(site: Site, version: str | None) -> None:
    url = site.create(10)
    headers = site.headers()
    if version is not None:
        headers["Tus-Resumable"] = version
    for r in _every_method(site, url, headers, b"0123456789"):
        assert r.status_code == 412, (r.request.method, r.status_code)
        assert r.headers["Tus-Version"] == TUS
    assert site.offset(url) == 0


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain"])
def test_415_for_a_patch_of_the_wrong_content_type(site: Site, content_type: str | None) -> None:
    url = site.create(4)
    headers = site.tus(**{"Upload-Offset": "0"})
    if content_type:
        headers["Content-Type"] = content_type
    with client() as c:
        r = c.patch(url, headers=headers, content=b"abcd")
    assert r.status_code == 415
    assert site.offset(url) == 0


def test_409_for_an_offset_that_does_not_match(site: Site) -> None:
    url = site.create(10)
    assert site.patch(url, 0, b"01234").status_code == 204
    for wrong in (0, 3, 6, 10):
        r = site.patch(url, wrong, b"56789"[: 10 - wrong] if wrong < 10 else b"x")
        assert r.status_code == 409, wrong
    assert site.offset(url) == 5
    r = site.patch(url, 5, b"56789")
    assert r.status_code == 204
    assert site.record(upload_id(url))["sha256"] == sha256(b"0123456789")


def test_400_for_malformed_numbers(site: Site) -> None:
    url = site.create(10)
    with client() as c:
        for length in ("-1", "ten", "1e3", "99999999999999999999"):
            r = c.post(site.endpoint, headers=site.tus(**{"Upload-Length": length}))
            assert r.status_code == 400, length
        r = c.post(site.endpoint, headers=site.tus())
        assert r.status_code == 400  # no Upload-Length
        r = c.post(site.endpoint, headers=site.tus(**{"Upload-Defer-Length": "1"}))
        assert r.status_code == 400  # not advertised
        for offset in ("-1", "x", ""):
            r = site.patch(url, 0, b"0", **{"Upload-Offset": offset})
            assert r.status_code == 400, offset
    assert site.offset(url) == 0


def test_413_for_an_upload_length_over_the_maximum(site: Site) -> None:
    with client() as c:
        r = c.post(site.endpoint, headers=site.tus(**{"Upload-Length": str(MAX_UPLOAD + 1)}))
        assert r.status_code == 413
        assert r.headers["Tus-Resumable"] == TUS
        r = c.post(site.endpoint, headers=site.tus(**{"Upload-Length": str(MAX_UPLOAD)}))
        assert r.status_code == 201
        c.delete(site.url(r.headers["Location"]), headers=site.tus())


def test_413_for_a_patch_body_past_the_upload_length(site: Site) -> None:
    url = site.create(10)
    # Declared by Content-Length: refused before reading.
    r = site.patch(url, 0, b"x" * 11)
    assert r.status_code == 413
    assert site.offset(url) == 0
    assert site.patch(url, 0, b"01234").status_code == 204
    r = site.patch(url, 5, b"x" * 6)
    assert r.status_code == 413
    # Chunked, no length: refused while reading, and what was written is dropped.
    with client() as c:
        r = c.patch(
            url,
            headers=site.tus(**{"Upload-Offset": "5", "Content-Type": OFFSET_TYPE}),
            content=iter([b"567", b"89", b"toolong"]),
        )
    assert r.status_code == 413
    assert site.offset(url) == 5
    assert site.staged(upload_id(url)).stat().st_size == 5
    assert site.patch(url, 5, b"56789").status_code == 204
    assert site.record(upload_id(url))["sha256"] == sha256(b"0123456789")


def test_413_over_quota(site: Site) -> None:
    with client() as c:
        r = c.post(
            site.endpoint, headers=site.tus("tiny", **{"Upload-Length": str(TINY_QUOTA + 1)})
        )
        assert r.status_code == 413
        assert r.json()["code"] == "quota_exceeded"
        # Within the quota it works, and the quota counts what was stored.
        r = c.post(
            site.endpoint,
            headers=site.tus(
                "tiny",
                **{"Upload-Length": "600", "Content-Type": OFFSET_TYPE},
            ),
            content=os.urandom(600),
        )
        assert r.status_code == 201
        assert r.headers["Upload-Offset"] == "600"
        r = c.post(site.endpoint, headers=site.tus("tiny", **{"Upload-Length": "600"}))
        assert r.status_code == 413


def _put(site: Site, user: str, name: str, size: int) -> str:
    """A plain (not resumable) upload of ``size`` random bytes; its id."""
    with client() as c:
        r = c.put(
            f"{site.deployment.upload}/api/upload/{name}",
            headers=site.headers(user),
            content=os.urandom(size),
        )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_413_over_quota_at_the_end(site: Site) -> None:
    """An upload that fit when it was created, but no longer fits when it ends (an admin
    lowered the quota meanwhile): it is refused at its end, and nothing of it is kept. Its
    length was held all along: a plain upload could not take its room."""
    user = f"q{os.urandom(3).hex()}"
    site.enrol(user, quota_bytes=1000)
    resumable = site.create(700, user)
    with client() as c:
        refused = c.put(
            f"{site.deployment.upload}/api/upload/quick.bin",
            content=os.urandom(700),
            headers=site.headers(user),
        )
        assert refused.status_code == 413, refused.text
        quick = _put(site, user, "quick.bin", 300)  # 700 held + 300 = the whole quota
        lowered = c.patch(
            f"{site.deployment.auth}/api/users/{user}",
            json={"quota_bytes": 900},
            headers=site.headers("admin"),
        )
        assert lowered.status_code == 200, lowered.text
    # Services trust a checked token (and its quota) for FILEBAY_REVOCATION_SECONDS.
    time.sleep(REVOCATION_WAIT)
    r = site.patch(resumable, 0, os.urandom(700), user)
    assert r.status_code == 413
    assert r.json()["code"] == "quota_exceeded"
    with client() as c:
        listed = c.get(f"{site.deployment.metadata}/api/files", headers=site.headers(user)).json()
    assert [item["id"] for item in listed["items"]] == [quick]
    assert site.head(resumable, user).status_code == 404
    assert not site.staged(upload_id(resumable)).exists()


def _staged_bytes(site: Site, ids: list[str]) -> int:
    return sum(site.staged(i).stat().st_size for i in ids if site.staged(i).exists())


def test_unfinished_uploads_hold_their_length_of_the_quota(site: Site) -> None:
    """Bytes parked in unfinished uploads take disk space like stored files: a new upload
    that would pass the quota with them is refused when it is created (a user could
    otherwise open upload after upload, each just under the quota, and fill the disk)."""
    user = f"r{os.urandom(3).hex()}"
    site.enrol(user, quota_bytes=1000)
    _put(site, user, "stored.bin", 600)
    with client() as c:
        opened = []
        answers = []
        for _ in range(5):
            # creation-with-upload of 399 of 400 bytes, never finished
            r = c.post(
                site.endpoint,
                headers=site.tus(user, **{"Upload-Length": "400", "Content-Type": OFFSET_TYPE}),
                content=os.urandom(399),
            )
            answers.append(r.status_code)
            if r.status_code == 201:
                opened.append(upload_id(r.headers["Location"]))
    assert answers == [201, 413, 413, 413, 413]
    assert _staged_bytes(site, opened) == 399
    # Ending the unfinished upload gives its room back.
    with client() as c:
        r = c.delete(site.url(opened[0]), headers=site.tus(user))
        assert r.status_code == 204
    site.create(400, user)


def test_concurrent_creations_cannot_all_squeeze_into_the_quota(site: Site) -> None:
    user = f"c{os.urandom(3).hex()}"
    site.enrol(user, quota_bytes=1000)
    headers = site.tus(user, **{"Upload-Length": "300"})

    async def create_many() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as c:
            answers = await asyncio.gather(
                *(c.post(site.endpoint, headers=headers) for _ in range(12))
            )
        return sorted(r.status_code for r in answers)

    assert asyncio.run(create_many()) == [201] * 3 + [413] * 9


def test_a_failed_creation_with_upload_leaves_no_upload(site: Site) -> None:
    """An answer without a Location cannot be resumed or ended by anyone: the upload it
    created goes with it (it held staged bytes and quota until it expired)."""
    user = f"f{os.urandom(3).hex()}"
    site.enrol(user, quota_bytes=1000)
    bad_checksum = _checksum("sha256", b"something else")

    def chunked(data: bytes) -> Iterator[bytes]:
        yield data[: len(data) // 2]
        yield data[len(data) // 2 :]

    cases = [
        # declared body longer than Upload-Length: refused before anything is created
        ({"Upload-Length": "900"}, os.urandom(1000)),
        # the same, chunked: found out while reading
        ({"Upload-Length": "900"}, chunked(os.urandom(1000))),
        ({"Upload-Length": "900", "Upload-Checksum": bad_checksum}, os.urandom(500)),
        ({"Upload-Length": "900", "Content-Type": "text/plain"}, os.urandom(500)),
    ]
    with client() as c:
        for extra, body in cases:
            headers = site.tus(user, **{"Content-Type": OFFSET_TYPE, **extra})
            r = c.post(site.endpoint, headers=headers, content=body)
            assert r.status_code in (413, 415, 460), r.text
            assert "Location" not in r.headers
    assert not [p for p in (site.data_dir / "staging").iterdir() if _owned_by(site, user, p)]
    # Nothing holds the quota: the whole of it can still be opened at once.
    site.create(1000, user)


def _owned_by(site: Site, user: str, staged: Path) -> bool:
    return site.head(site.url(staged.name), user).status_code == 200


def test_x_http_method_override_turns_a_post_into_patch_or_delete(site: Site) -> None:
    """For clients behind proxies that drop PATCH and DELETE (tus-js-client's
    ``overridePatchMethod``): the header is the request's method."""
    url = site.create(10)
    with client() as c:
        r = c.post(
            url,
            headers=site.tus(
                **{
                    "X-HTTP-Method-Override": "PATCH",
                    "Upload-Offset": "0",
                    "Content-Type": OFFSET_TYPE,
                }
            ),
            content=b"01234",
        )
        assert r.status_code == 204
        assert r.headers["Upload-Offset"] == "5"
        assert site.offset(url) == 5
        r = c.post(url, headers=site.tus(**{"X-HTTP-Method-Override": "delete"}))
        assert r.status_code == 204
        assert site.head(url).status_code == 404
        # Anything else is not a method of an upload's URL.
        other = site.create(10)
        r = c.post(other, headers=site.tus(**{"X-HTTP-Method-Override": "GET"}))
        assert r.status_code == 405
        assert site.offset(other) == 0


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_checksums(site: Site, algorithm: str) -> None:
    url = site.create(8)
    right = _checksum(algorithm, b"abcd")
    wrong = _checksum(algorithm, b"abce")
    r = site.patch(url, 0, b"abcd", **{"Upload-Checksum": wrong})
    assert r.status_code == 460
    assert site.offset(url) == 0
    assert site.staged(upload_id(url)).stat().st_size == 0
    assert site.patch(url, 0, b"abcd", **{"Upload-Checksum": right}).status_code == 204
    assert site.offset(url) == 4
    r = site.patch(url, 4, b"efgh", **{"Upload-Checksum": _checksum(algorithm, b"efgX")})
    assert r.status_code == 460
    assert site.offset(url) == 4
    r = site.patch(url, 4, b"efgh", **{"Upload-Checksum": _checksum(algorithm, b"efgh")})
    assert r.status_code == 204
    assert site.record(upload_id(url))["sha256"] == sha256(b"abcdefgh")


@pytest.mark.parametrize(
    "header",
    [
        "md5 " + base64.b64encode(hashlib.md5(b"abcd").digest()).decode(),
        "crc32 AAAAAA==",
        "sha1 not-base64!",
        "sha256 " + base64.b64encode(b"short").decode(),
        "sha1",
    ],
)
def test_400_for_an_unknown_or_malformed_checksum(site: Site, header: str) -> None:
    url = site.create(4)
    r = site.patch(url, 0, b"abcd", **{"Upload-Checksum": header})
    assert r.status_code == 400
    assert site.offset(url) == 0


@pytest.mark.parametrize(
    "metadata",
    [
        "filename",
        "filename !!!",
        "filename YQ==,",
        "filename YQ== extra",
        "filename YQ==,filename Yg==",
        ",filename YQ==",
        "filename YQ",
    ],
)
def test_400_for_malformed_upload_metadata(site: Site, metadata: str) -> None:
    with client() as c:
        r = c.post(
            site.endpoint,
            headers=site.tus(**{"Upload-Length": "1", "Upload-Metadata": metadata}),
        )
    # "filename" alone is a key without a value: allowed by the spec.
    assert r.status_code == (201 if metadata == "filename" else 400), metadata


@pytest.mark.parametrize(
    ("metadata", "name", "content_type"),
    [
        ({"filename": "../x", "filetype": "text/csv"}, "x", "text/csv"),
        ({"name": "a/b\\c.txt", "type": "application/json"}, "c.txt", "application/json"),
        ({"filename": "first.txt", "name": "second.bin"}, "first.txt", "text/plain"),
        ({"filename": "..", "filetype": ""}, "unnamed", "application/octet-stream"),
        # No name but Uppy's relativePath: its last segment names the file, in folder x.
        ({"relativePath": "x/y"}, "y", "application/octet-stream"),
        ({"relativePath": "x/../y.txt", "name": "z.txt"}, "z.txt", "text/plain"),
        ({"filename": "tab\there\x00.pdf"}, "tabhere.pdf", "application/pdf"),
    ],
)
def test_metadata_names_the_record(
    site: Site, metadata: dict[str, str], name: str, content_type: str
) -> None:
    metadata = {**metadata, "folder_id": site.fresh_folder()}
    url = site.create(3, metadata=metadata)
    with client() as c:
        r = c.head(url, headers=site.tus())
    assert r.headers["Upload-Metadata"] == metadata_header(metadata)
    assert r.headers["Upload-Length"] == "3"
    assert r.headers["Cache-Control"] == "no-store"
    assert site.patch(url, 0, b"abc").status_code == 204
    record = site.record(upload_id(url))
    assert (record["name"], record["content_type"]) == (name, content_type)
    # relativePath's folders (never climbing) come below folder_id.
    below = [s for s in metadata.get("relativePath", "").split("/")[:-1] if s not in ("", "..")]
    assert str(record["path"]).split("/")[2:] == [*below, name]


def test_404_for_unknown_and_malformed_ids(site: Site) -> None:
    with client() as c:
        for file_id in ("0" * 32, "nothex", "../../etc/passwd", "A" * 32):
            url = site.endpoint + file_id
            assert c.head(url, headers=site.tus()).status_code == 404, file_id
            r = c.patch(
                url,
                headers=site.tus(**{"Upload-Offset": "0", "Content-Type": OFFSET_TYPE}),
                content=b"a",
            )
            assert r.status_code == 404, file_id
            assert c.delete(url, headers=site.tus()).status_code == 404, file_id


def test_another_users_upload_is_404(site: Site) -> None:
    url = site.create(6, "alice")
    assert site.patch(url, 0, b"abc").status_code == 204
    assert site.head(url, "bob").status_code == 404
    assert site.patch(url, 3, b"def", "bob").status_code == 404
    with client() as c:
        assert c.delete(url, headers=site.tus("bob")).status_code == 404
    # Untouched by all of that.
    assert site.offset(url) == 3
    assert site.patch(url, 3, b"def").status_code == 204
    # Finished, it is a file of alice's: still 404 for bob.
    assert site.head(url, "bob").status_code == 404
    assert site.head(url).status_code == 200
    with client() as c:
        r = c.get(
            f"{site.deployment.metadata}/api/files/{upload_id(url)}", headers=site.headers("bob")
        )
    assert r.status_code == 404


def test_401_without_credentials(site: Site) -> None:
    url = site.create(4)
    bad = {"Tus-Resumable": TUS}
    for headers in (bad, {**bad, "Authorization": "Bearer not-a-token"}):
        for r in _every_method(site, url, headers, b"abcd"):
            assert r.status_code == 401, r.request.method
    assert site.offset(url) == 0


def test_termination(site: Site) -> None:
    url = site.create(10)
    file_id = upload_id(url)
    assert site.patch(url, 0, b"01234").status_code == 204
    assert site.staged(file_id).stat().st_size == 5
    with client() as c:
        r = c.delete(url, headers=site.tus())
        assert r.status_code == 204
        assert r.headers["Tus-Resumable"] == TUS
        assert c.head(url, headers=site.tus()).status_code == 404
        assert site.patch(url, 5, b"56789").status_code == 404
        assert c.delete(url, headers=site.tus()).status_code == 404
    assert not site.staged(file_id).exists()
    with client() as c:
        r = c.get(f"{site.deployment.metadata}/api/files/{file_id}", headers=site.headers())
    assert r.status_code == 404


def test_termination_of_a_finished_upload_is_404(site: Site) -> None:
    """Termination is for unfinished uploads; a finished one is a file (DELETE /api/files)."""
    url = site.create(3)
    assert site.patch(url, 0, b"abc").status_code == 204
    with client() as c:
        assert c.delete(url, headers=site.tus()).status_code == 404
    assert site.record(upload_id(url))["size"] == 3


def test_creation_with_upload(site: Site) -> None:
    data = os.urandom(3000)
    with client() as c:
        r = c.post(
            site.endpoint,
            headers=site.tus(**{"Upload-Length": "3000", "Content-Type": OFFSET_TYPE}),
            content=data[:1000],
        )
        assert r.status_code == 201
        assert r.headers["Upload-Offset"] == "1000"
        assert "Upload-Expires" in r.headers
        url = site.url(r.headers["Location"])
        # The whole file in the POST: complete at once.
        r = c.post(
            site.endpoint,
            headers=site.tus(
                **{
                    "Upload-Length": "3000",
                    "Content-Type": OFFSET_TYPE,
                    "Upload-Checksum": _checksum("sha256", data),
                }
            ),
            content=data,
        )
        assert r.status_code == 201
        assert r.headers["Upload-Offset"] == "3000"
        assert site.record(upload_id(r.headers["Location"]))["sha256"] == sha256(data)
        # A body of the wrong type is refused.
        r = c.post(
            site.endpoint,
            headers=site.tus(**{"Upload-Length": "3", "Content-Type": "text/plain"}),
            content=b"abc",
        )
        assert r.status_code == 415
    assert site.offset(url) == 1000
    assert site.patch(url, 1000, data[1000:]).status_code == 204
    assert site.record(upload_id(url))["sha256"] == sha256(data)


def test_a_zero_length_upload_completes_at_creation(site: Site) -> None:
    url = site.create(0, metadata={"filename": "empty.txt", "folder_id": site.fresh_folder()})
    record = site.record(upload_id(url))
    assert record["size"] == 0
    assert record["sha256"] == sha256(b"")
    assert record["name"] == "empty.txt"
    r = site.head(url)
    assert r.status_code == 200
    assert r.headers["Upload-Offset"] == "0"
    assert r.headers["Upload-Length"] == "0"
    assert not site.staged(upload_id(url)).exists()


def test_head_and_patch_answers(site: Site) -> None:
    url = site.create(6)
    r = site.head(url)
    assert r.status_code == 200
    assert r.headers["Upload-Offset"] == "0"
    assert r.headers["Upload-Length"] == "6"
    assert r.headers["Tus-Resumable"] == TUS
    assert "Upload-Expires" in r.headers
    r = site.patch(url, 0, b"abc")
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == "3"
    assert "Upload-Expires" in r.headers
    assert r.headers["Tus-Resumable"] == TUS
    # An empty PATCH is allowed and changes nothing.
    r = site.patch(url, 3, b"")
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == "3"
    r = site.patch(url, 3, b"def")
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == "6"
    assert "Upload-Expires" not in r.headers
    # A finished upload reads as complete.
    r = site.head(url)
    assert (r.headers["Upload-Offset"], r.headers["Upload-Length"]) == ("6", "6")
    assert site.patch(url, 6, b"").status_code == 404
