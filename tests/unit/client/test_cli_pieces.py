"""The CLI's own rules: what an argument names, which columns fit, where results go."""

from __future__ import annotations

import io

import httpx
import pytest
from rich.console import Console

from filebay.client import ApiError, Client, ClientError, UsageError
from filebay.client.cli import listing, targets
from filebay.client.progress import TransferProgress

FILE_ID = "a" * 32


@pytest.mark.parametrize(
    ("given", "path"),
    [("/", "/"), ("", "/"), ("photos", "/photos"), ("/a//b/", "/a/b"), ("./a/./b", "/a/b")],
)
def test_paths_are_normalized(given: str, path: str) -> None:
    assert targets.normalize(given) == path


def test_dot_dot_is_refused() -> None:
    with pytest.raises(UsageError):
        targets.normalize("/a/../b")


def test_split() -> None:
    assert targets.split("/a/b/c.txt") == ("/a/b", "c.txt")
    assert targets.split("c.txt") == ("/", "c.txt")


def _server(entries: dict[str, dict[str, object]]) -> Client:
    """A fake that resolves ``entries`` by path and knows files and folders by id."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/resolve":
            entry = entries.get(request.url.params["path"])
        else:
            kind = "folder" if path.startswith("/api/folders/") else "file"
            wanted = path.rsplit("/", 1)[1]
            entry = next(
                (e for e in entries.values() if e["id"] == wanted and e["kind"] == kind), None
            )
        if entry is None:
            return httpx.Response(404, json={"detail": "not found", "code": "not_found"})
        return httpx.Response(200, json=entry)

    return Client("http://files.test", None, transport=httpx.MockTransport(handler))


def test_an_id_is_an_id_and_may_be_a_folder() -> None:
    folder = {"kind": "folder", "id": FILE_ID, "name": "f", "path": "/f"}
    with _server({"/f": folder}) as client:
        assert targets.lookup(client, FILE_ID) == folder
        assert targets.lookup(client, "/")["id"] == "root"
        with pytest.raises(ApiError) as caught:
            targets.lookup(client, "b" * 32)
    assert "file " in caught.value.message  # the file's 404, not the folder's


def test_a_trailing_slash_wants_a_folder() -> None:
    file = {"kind": "file", "id": FILE_ID, "name": "old", "path": "/old"}
    with _server({"/old": file}) as client:
        assert targets.lookup(client, "/old") == file
        with pytest.raises(ClientError, match="not a folder"):
            targets.lookup(client, "/old/")


@pytest.mark.parametrize(
    ("width", "columns"),
    [
        (200, ["id", "name", "size", "created", "owner"]),
        (100, ["id", "name", "size", "created", "owner"]),
        (90, ["id", "name", "size", "created"]),
        (80, ["id", "name", "size"]),
        (60, None),
    ],
)
def test_columns_give_way_to_the_name(width: int, columns: list[str] | None) -> None:
    assert listing.columns_for(width, owner_width=5) == columns


def test_two_lines_per_entry_when_even_that_is_too_narrow() -> None:
    out = io.StringIO()
    items = [{"id": FILE_ID, "name": "a rather long file name.txt", "size": 1}]
    listing.print_table(Console(file=out, width=50), items)
    assert out.getvalue().splitlines()[0] == "a rather long file name.txt"
    assert FILE_ID in out.getvalue().splitlines()[1]


def test_results_go_to_stdout_when_no_bars_are_drawn(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    with TransferProgress(console) as bars:
        bars.result(f"{FILE_ID}\tname")
    assert capsys.readouterr().out == f"{FILE_ID}\tname\n"
