"""GET /api/files: keyset pages, search, sort, and refused parameters."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from filebay.ids import new_id
from tests.e2e.api.support import Part, multipart_body, multipart_type
from tests.harness.servers import Deployment

COUNT = 55  # more than the default page of 50
SORTS = ["created_at", "-created_at", "name", "-name", "size", "-size"]


@dataclass
class Listed:
    tag: str
    records: list[dict[str, Any]]


@pytest.fixture(scope="module")
def listed(deployment: Deployment) -> Listed:
    """COUNT files sharing a tag, with repeated names and sizes (ties the cursor must break)."""
    tag = secrets.token_hex(5)
    parts = [
        # Same length, lowercase and digits only: every database collation orders them alike.
        Part("file", b"x" * ((i % 5) * 10), filename=f"{tag}x{i // 2:02d}.txt".encode())
        for i in range(COUNT)
    ]
    r = httpx.post(
        f"{deployment.upload}/api/files",
        content=multipart_body(parts),
        headers={"Content-Type": multipart_type()},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return Listed(tag, r.json()["files"])


def sort_key(sort: str, record: dict[str, Any]) -> tuple[Any, str]:
    column = sort.lstrip("-")
    value = record[column]
    if column == "created_at":
        value = datetime.fromisoformat(value)
    return value, record["id"]


def walk(base: str, http: httpx.Client, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item over every page, and how many pages that took."""
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = http.get(f"{base}/api/files", params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        pages += 1
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert page["items"], "a page with a next cursor must not be empty"
        assert len(page["items"]) == int(params.get("limit", 50))


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 7, 55, 1000])
def test_pages_walk_every_file_exactly_once_in_order(
    deployment: Deployment, http: httpx.Client, listed: Listed, sort: str, limit: int
) -> None:
    items, pages = walk(deployment.metadata, http, q=listed.tag, sort=sort, limit=limit)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == COUNT
    assert set(ids) == {r["id"] for r in listed.records}
    expected = sorted(listed.records, key=lambda r: sort_key(sort, r), reverse=sort[0] == "-")
    assert ids == [r["id"] for r in expected]
    assert pages == -(-COUNT // limit)


def test_default_is_newest_first_fifty_per_page(
    deployment: Deployment, http: httpx.Client, listed: Listed
) -> None:
    page = http.get(f"{deployment.metadata}/api/files", params={"q": listed.tag}).json()
    assert len(page["items"]) == 50
    assert page["next_cursor"]
    newest = sorted(listed.records, key=lambda r: sort_key("created_at", r), reverse=True)
    assert [i["id"] for i in page["items"]] == [r["id"] for r in newest[:50]]


def test_list_items_are_public_records(
    deployment: Deployment, http: httpx.Client, listed: Listed
) -> None:
    items, _ = walk(deployment.metadata, http, q=listed.tag, limit=1000)
    by_id = {r["id"]: r for r in listed.records}
    for item in items:
        assert item == by_id[item["id"]]


def test_walk_without_search_sees_each_file_once(
    deployment: Deployment, http: httpx.Client, listed: Listed
) -> None:
    items, _ = walk(deployment.metadata, http, sort="size", limit=9)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert {r["id"] for r in listed.records} <= set(ids)


def test_search_is_case_insensitive_and_treats_wildcards_literally(
    deployment: Deployment, http: httpx.Client
) -> None:
    tag = secrets.token_hex(5)
    names = [f"{tag}-Quarterly-REPORT.pdf", f"{tag}-100%.txt", f"{tag}_under.txt", f"{tag}-x.txt"]
    ids = {}
    for name in names:
        r = http.put(f"{deployment.upload}/api/upload/{name.replace('%', '%25')}", content=b"1")
        assert r.status_code == 201
        ids[name] = r.json()["id"]

    def search(q: str) -> set[str]:
        items, _ = walk(deployment.metadata, http, q=q, limit=1000)
        return {item["name"] for item in items}

    assert search(f"{tag}-quarterly-report") == {names[0]}
    assert search(f"{tag.upper()}-QUARTERLY") == {names[0]}
    assert search(tag) == set(names)
    assert search(f"{tag}-100%") == {names[1]}
    assert search(f"{tag}%") == set()  # '%' is a character, not "anything"
    assert search(f"{tag}_") == {names[2]}
    assert search(f"{tag}-_.txt") == set()
    assert search(f"nothing-{tag}") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "1001"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"sort": "bogus"},
        {"sort": "owner"},
        {"sort": "--name"},
        {"q": "x" * 256},
        {"cursor": "not a cursor"},
        {"cursor": "!!!!"},
        {"cursor": base64.urlsafe_b64encode(b"not json").decode()},
        {"cursor": base64.urlsafe_b64encode(b'["name", 5, "x"]').decode(), "sort": "name"},
        {"cursor": base64.urlsafe_b64encode(b'["size", "big", "x"]').decode(), "sort": "size"},
        {"cursor": base64.urlsafe_b64encode(b'["size", true, "x"]').decode(), "sort": "size"},
        {
            "cursor": base64.urlsafe_b64encode(b'["created_at", {"t": "yesterday"}, "x"]').decode(),
            "sort": "created_at",
        },
        {
            "cursor": base64.urlsafe_b64encode(
                b'["-created_at", {"t": "2024-01-01T00:00:00"}, "x"]'
            ).decode()
        },
        {"cursor": base64.urlsafe_b64encode(b'["name", "a"]').decode(), "sort": "name"},
        {"cursor": base64.urlsafe_b64encode(b"[[[[[[[[[[[[[[[[[[[[").decode()},
        {"cursor": "A" * 5000},
        # A lone surrogate (JSON allows "\ud800"): SQLite could not encode it and answered 500.
        {
            "cursor": base64.urlsafe_b64encode(
                b'["name", "\\ud800", "' + new_id().encode() + b'"]'
            ).decode(),
            "sort": "name",
        },
        {"cursor": base64.urlsafe_b64encode(b'{"a": 1, "b": 2, "c": 3}').decode()},
    ],
)
def test_bad_list_parameters_answer_400(
    deployment: Deployment, http: httpx.Client, params: dict[str, str]
) -> None:
    r = http.get(f"{deployment.metadata}/api/files", params=params)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["detail"], str)


def test_cursor_of_another_sort_answers_400(
    deployment: Deployment, http: httpx.Client, listed: Listed
) -> None:
    first = http.get(
        f"{deployment.metadata}/api/files", params={"q": listed.tag, "limit": 5, "sort": "name"}
    ).json()
    cursor = first["next_cursor"]
    assert cursor
    for sort in ("-name", "size", "created_at"):
        r = http.get(f"{deployment.metadata}/api/files", params={"cursor": cursor, "sort": sort})
        assert r.status_code == 400
        assert r.json()["code"] == "invalid_cursor"


def test_cursor_survives_a_round_trip_through_json(
    deployment: Deployment, http: httpx.Client, listed: Listed
) -> None:
    first = http.get(
        f"{deployment.metadata}/api/files", params={"q": listed.tag, "limit": 3, "sort": "-size"}
    ).json()
    cursor = json.loads(json.dumps(first["next_cursor"]))
    second = http.get(
        f"{deployment.metadata}/api/files",
        params={"q": listed.tag, "limit": 3, "sort": "-size", "cursor": cursor},
    ).json()
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
