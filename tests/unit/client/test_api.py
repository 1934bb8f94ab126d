"""The SDK's calls against an in-process fake: what each sends, what it returns, and errors
that carry the server's ``code``."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from filebay.client import ApiError, Client, ClientError

SERVER = "http://files.test"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> Client:
    return Client(SERVER, "secret", transport=httpx.MockTransport(handler))


def test_errors_carry_status_detail_code_and_body() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        body = {"detail": "name taken", "code": "name_taken", "existing_id": "f" * 32}
        return httpx.Response(409, json=body)

    with _client(handler) as fb, pytest.raises(ApiError) as caught:
        fb.create_folder("photos")
    error = caught.value
    assert (error.status, error.code, error.detail) == (409, "name_taken", "name taken")
    assert error.body["existing_id"] == "f" * 32
    assert error.exit_code == 1
    assert error.message == "creating folder photos: name taken (HTTP 409)"


def test_a_401_exits_3() -> None:
    unauthorized = _client(lambda _r: httpx.Response(401, json={"detail": "no"}))
    with unauthorized as fb, pytest.raises(ApiError) as caught:
        fb.me()
    assert caught.value.exit_code == 3


def test_iter_files_follows_the_cursor_and_sends_the_token() -> None:
    pages = {None: (["a", "b"], "c1"), "c1": (["c"], None)}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        items, cursor = pages[request.url.params.get("cursor")]
        body = {"items": [{"id": i} for i in items], "next_cursor": cursor}
        return httpx.Response(200, json=body)

    with _client(handler) as fb:
        assert [r["id"] for r in fb.iter_files(q="x", limit=2)] == ["a", "b", "c"]
    assert all(r.headers["Authorization"] == "Bearer secret" for r in seen)
    assert seen[0].url.params["q"] == "x" and "folder_id" not in seen[0].url.params


def test_put_sends_the_folder_and_the_conflict_rule() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "PUT"
        assert request.url.path == "/api/upload/a.txt"
        assert dict(request.url.params) == {"folder_id": "f" * 32, "on_conflict": "fail"}
        assert request.read() == b"hello"
        return httpx.Response(201, json={"id": "1" * 32, "name": "a.txt"})

    with _client(handler) as fb:
        assert fb.put("a.txt", b"hello", folder_id="f" * 32, on_conflict="fail")["id"] == "1" * 32


def test_moves_send_only_what_changes() -> None:
    bodies: list[tuple[str, str, dict[str, object]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path, json.loads(request.read())))
        return httpx.Response(200, json={"id": "1" * 32, "name": "n"})

    with _client(handler) as fb:
        fb.update_file("1" * 32, folder_id="root")
        fb.update_folder("2" * 32, name="new")
    assert bodies == [
        ("PATCH", f"/api/files/{'1' * 32}", {"folder_id": "root"}),
        ("PATCH", f"/api/folders/{'2' * 32}", {"name": "new"}),
    ]


def test_find_is_none_for_a_missing_path_and_raises_otherwise() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.params["path"]
        if path == "/here":
            return httpx.Response(200, json={"kind": "folder", "id": "3" * 32, "name": "here"})
        if path == "/missing":
            return httpx.Response(404, json={"detail": "not found", "code": "not_found"})
        return httpx.Response(400, json={"detail": "bad path", "code": "bad_request"})

    with _client(handler) as fb:
        assert fb.find("/here") == {"kind": "folder", "id": "3" * 32, "name": "here"}
        assert fb.find("/missing") is None
        with pytest.raises(ApiError, match="bad path"):
            fb.find("/bad")


def test_an_answer_that_is_not_filebay_s_is_said_so() -> None:
    html = _client(lambda _r: httpx.Response(200, text="<html>"))
    with html as fb, pytest.raises(ClientError, match="is this a filebay server"):
        fb.file("1" * 32)
