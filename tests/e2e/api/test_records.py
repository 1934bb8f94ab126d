"""GET, PATCH and DELETE /api/files/{id}; unknown and malformed ids."""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import httpx
import pytest

from tests.e2e.api.support import blob_files, fresh_folder
from tests.harness.servers import Deployment


def upload(deployment: Deployment, http: httpx.Client, name: str, data: bytes = b"data") -> dict:
    # Each into a folder of its own: the names a test asks for are the names it gets.
    folder = fresh_folder(deployment, http)
    r = http.put(f"{deployment.upload}/api/upload/{name}?folder_id={folder}", content=data)
    assert r.status_code == 201, r.text
    return r.json()


def test_get_answers_the_record(deployment: Deployment, http: httpx.Client) -> None:
    record = upload(deployment, http, "get-me.txt")
    r = http.get(f"{deployment.metadata}/api/files/{record['id']}")
    assert r.status_code == 200
    assert r.json() == record
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("new", "stored"),
    [
        ("renamed.txt", "renamed.txt"),
        ("../../etc/passwd", "passwd"),
        ("a\\b\\c.txt", "c.txt"),
        ("tab\tand\x00nul.txt", "tabandnul.txt"),
        ("  spaced.txt  ", "spaced.txt"),
        ("..", "unnamed"),
        ("/", "unnamed"),
        ("日本語のファイル.txt", "日本語のファイル.txt"),
        ("x" * 251 + ".txt", "x" * 251 + ".txt"),  # exactly 255 bytes is fine
    ],
)
def test_rename_cleans_the_name(
    deployment: Deployment, http: httpx.Client, new: str, stored: str
) -> None:
    record = upload(deployment, http, "before.txt")
    time.sleep(0.01)
    r = http.patch(f"{deployment.metadata}/api/files/{record['id']}", json={"name": new})
    assert r.status_code == 200, r.text
    renamed = r.json()
    assert renamed["name"] == stored
    assert renamed["id"] == record["id"]
    assert renamed["sha256"] == record["sha256"]
    assert renamed["created_at"] == record["created_at"]
    assert datetime.fromisoformat(renamed["updated_at"]) > datetime.fromisoformat(
        record["updated_at"]
    )
    assert http.get(f"{deployment.metadata}/api/files/{record['id']}").json() == renamed
    content = http.get(f"{deployment.download}/api/files/{record['id']}/content")
    assert content.content == b"data"
    assert "filename*=UTF-8''" in content.headers["content-disposition"]


@pytest.mark.parametrize("new", ["x" * 256, "é" * 128, "a/" * 200 + "short.txt"])
def test_rename_to_over_255_bytes_answers_400(
    deployment: Deployment, http: httpx.Client, new: str
) -> None:
    record = upload(deployment, http, "keep-me.txt")
    r = http.patch(f"{deployment.metadata}/api/files/{record['id']}", json={"name": new})
    assert r.status_code == 400
    assert "255" in r.json()["detail"]
    assert http.get(f"{deployment.metadata}/api/files/{record['id']}").json()["name"] == (
        "keep-me.txt"
    )


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": 5}, {"title": "x"}, [], "name", {"folder_id": 5}]
)
def test_rename_with_a_bad_json_body_answers_422(
    deployment: Deployment, http: httpx.Client, body: object
) -> None:
    record = upload(deployment, http, "keep-me.txt")
    r = http.patch(f"{deployment.metadata}/api/files/{record['id']}", json=body)
    assert r.status_code == 422


def test_rename_with_a_body_that_is_not_json_answers_4xx(
    deployment: Deployment, http: httpx.Client
) -> None:
    record = upload(deployment, http, "keep-me.txt")
    r = http.patch(
        f"{deployment.metadata}/api/files/{record['id']}",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)


def test_delete_answers_204_then_record_and_content_are_gone(
    deployment: Deployment, http: httpx.Client
) -> None:
    record = upload(deployment, http, f"doomed-{secrets.token_hex(4)}.txt")
    rid = record["id"]
    blob = deployment.data_dir / "blobs" / rid[:2] / rid[2:4] / rid
    assert blob in blob_files(deployment.data_dir)
    r = http.delete(f"{deployment.metadata}/api/files/{rid}")
    assert r.status_code == 204
    assert r.content == b""
    assert blob.exists(), "a delete moves to the trash (DESIGN §8.2): the bytes stay until purged"
    assert http.get(f"{deployment.metadata}/api/files/{rid}").status_code == 404
    assert http.get(f"{deployment.download}/api/files/{rid}/content").status_code == 404
    assert http.head(f"{deployment.download}/api/files/{rid}/content").status_code == 404
    assert http.delete(f"{deployment.metadata}/api/files/{rid}").status_code == 404
    r = http.patch(f"{deployment.metadata}/api/files/{rid}", json={"name": "x"})
    assert r.status_code == 404
    items = http.get(f"{deployment.metadata}/api/files", params={"q": record["name"]}).json()
    assert items["items"] == []


def test_a_permanent_delete_removes_the_bytes_at_once(
    deployment: Deployment, http: httpx.Client
) -> None:
    record = upload(deployment, http, f"gone-{secrets.token_hex(4)}.txt")
    rid = record["id"]
    blob = deployment.data_dir / "blobs" / rid[:2] / rid[2:4] / rid
    assert blob.exists()
    r = http.delete(f"{deployment.metadata}/api/files/{rid}", params={"permanent": "true"})
    assert r.status_code == 204
    assert not blob.exists()
    assert http.get(f"{deployment.metadata}/api/files/{rid}").status_code == 404
    assert http.delete(f"{deployment.metadata}/api/files/{rid}").status_code == 404


UNKNOWN = secrets.token_hex(16)
MALFORMED = [
    "abc",
    "0" * 31,
    "0" * 33,
    "G" * 32,
    UNKNOWN.upper(),
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%00",
    f"{UNKNOWN}%00",
    f"{UNKNOWN}%0a",
    "%20",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("file_id", [UNKNOWN, *MALFORMED])
def test_unknown_and_malformed_ids_answer_404_everywhere(
    deployment: Deployment, http: httpx.Client, file_id: str
) -> None:
    meta = f"{deployment.metadata}/api/files/{file_id}"
    content = f"{deployment.download}/api/files/{file_id}/content"
    answers = {
        "get": http.get(meta),
        "patch": http.patch(meta, json={"name": "x"}),
        "delete": http.delete(meta),
        "content": http.get(content),
        "head": http.head(content),
        "range": http.get(content, headers={"Range": "bytes=0-0"}),
    }
    for what, r in answers.items():
        assert r.status_code == 404, (what, r.status_code, r.text)
        if what != "head":
            assert isinstance(r.json()["detail"], str)
