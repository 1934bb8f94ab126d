"""Folders from the ``filebay`` client (DESIGN §8.1): paths wherever ids work, ``ls PATH``,
``mkdir``, ``mv``, ``cp``, ``upload -r --to``, ``get -r``; checked through the SDK."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from filebay.client import ApiError, Client
from tests.e2e.cli.support import MIB, Cli, random_file, sha256, uploaded


def _top(cli: Cli) -> str:
    """A folder of this test's own under the root (the server is shared by the module)."""
    return f"/t-{secrets.token_hex(4)}"


def _missing(client: Client, path: str) -> bool:
    return client.find(path) is None


def _tree(root: Path) -> dict[str, str]:
    """relative path → SHA-256 of every file below ``root``."""
    return {p.relative_to(root).as_posix(): sha256(p) for p in root.rglob("*") if p.is_file()}


def _make_tree(root: Path) -> dict[str, str]:
    random_file(root / "a.txt", 10)
    random_file(root / "sub" / "b.bin", 2 * MIB + 3)
    random_file(root / "sub" / "deeper" / "c.txt", 0)
    (root / "empty").mkdir()
    return _tree(root)


def test_mkdir_makes_parents_and_ls_lists_folders_first(logged_in: Cli) -> None:
    top = _top(logged_in)
    done = logged_in("mkdir", f"{top}/photos/2026", f"{top}/docs")
    assert done.returncode == 0, done.stderr
    made = dict(line.split("\t")[::-1] for line in done.stdout.splitlines())
    assert set(made) == {f"{top}/photos/2026", f"{top}/docs"}
    # Again: an existing folder is fine (like mkdir -p), and it is the same folder.
    again = logged_in("mkdir", f"{top}/photos/2026")
    assert again.stdout.split("\t")[0] == made[f"{top}/photos/2026"]

    (logged_in.cwd / "note.txt").write_text("note")
    assert logged_in("upload", "note.txt", "--to", top).returncode == 0
    listing = logged_in("ls", top, "--json")
    assert listing.returncode == 0, listing.stderr
    entries = [(i["kind"], i["name"]) for i in json.loads(listing.stdout)["items"]]
    assert entries == [("folder", "docs"), ("folder", "photos"), ("file", "note.txt")]

    table = logged_in("ls", f"{top}/")
    assert "photos/" in table.stdout and "note.txt" in table.stdout
    with logged_in.client() as client:
        assert client.resolve(f"{top}/photos/2026")["id"] == made[f"{top}/photos/2026"]


def test_a_file_in_the_way_of_mkdir_fails(logged_in: Cli) -> None:
    top = _top(logged_in)
    (logged_in.cwd / "plain").write_text("x")
    assert logged_in("upload", "plain", "--to", top).returncode == 0
    done = logged_in("mkdir", f"{top}/plain/below")
    assert done.returncode == 1
    assert "a file is in the way" in done.stderr


def test_upload_r_recreates_the_tree_and_get_r_brings_it_back(logged_in: Cli) -> None:
    top = _top(logged_in)
    source = logged_in.cwd / "album"
    want = _make_tree(source)

    done = logged_in("upload", "-r", "album", "--to", top, "--chunk-size", "1")
    assert done.returncode == 0, done.stderr
    printed = {line.split("\t")[1] for line in done.stdout.splitlines()}
    assert printed == {f"{top}/album/{rel}" for rel in want}
    with logged_in.client() as client:
        for rel, digest in want.items():
            record = client.resolve(f"{top}/album/{rel}")
            assert record["kind"] == "file" and record.get("sha256") == digest
        assert client.resolve(f"{top}/album/empty")["kind"] == "folder"
        counts = client.folder(client.resolve(f"{top}/album")["id"])
        assert counts.get("files") == len(want)

    # A second run after an interruption: finished files are recognised, not copied again.
    again = logged_in("upload", "-r", "album", "--to", top)
    assert again.returncode == 0, again.stderr
    with logged_in.client() as client:
        names = [i["name"] for i in client.iter_folder_items(client.resolve(f"{top}/album")["id"])]
    assert sorted(names) == ["a.txt", "empty", "sub"]

    out = logged_in.cwd / "restored"
    got = logged_in("get", "-r", f"{top}/album", "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert _tree(out / "album") == want
    assert (out / "album" / "empty").is_dir()
    # Nothing changed: a second get -r fetches nothing and succeeds.
    assert "(0 files fetched)" in logged_in("get", "-r", f"{top}/album", "-o", str(out)).stderr


def test_a_folder_needs_r(logged_in: Cli) -> None:
    (logged_in.cwd / "dir").mkdir()
    done = logged_in("upload", "dir")
    assert done.returncode == 2
    assert "use -r" in done.stderr
    top = _top(logged_in)
    assert logged_in("mkdir", top).returncode == 0
    done = logged_in("get", top)
    assert done.returncode == 2
    assert "use -r" in done.stderr


def test_get_rename_and_rm_take_paths(logged_in: Cli) -> None:
    top = _top(logged_in)
    (logged_in.cwd / "a.txt").write_text("alpha")
    file_id = uploaded(logged_in("upload", "a.txt", "--to", top))[f"{top}/a.txt"]

    fetched = logged_in.cwd / "fetched.txt"
    done = logged_in("get", f"{top}/a.txt", "-o", str(fetched))
    assert done.returncode == 0, done.stderr
    assert fetched.read_text() == "alpha"
    assert logged_in("get", file_id, "-o", str(fetched), "--force").returncode == 0

    assert logged_in("rename", f"{top}/a.txt", "b.txt").returncode == 0
    with logged_in.client() as client:
        assert client.resolve(f"{top}/b.txt")["name"] == "b.txt"
        assert _missing(client, f"{top}/a.txt")

    # A trailing slash means a folder: it does not delete the file called b.txt.
    refused = logged_in("rm", f"{top}/b.txt/")
    assert refused.returncode == 1
    assert "not a folder" in refused.stderr
    assert logged_in("rm", f"{top}/b.txt").returncode == 0
    assert logged_in("rm", f"{top}/").returncode == 0
    with logged_in.client() as client:
        assert _missing(client, top)


def test_mv_into_a_folder_and_to_a_new_name(logged_in: Cli) -> None:
    top = _top(logged_in)
    for name in ("one.txt", "two.txt"):
        (logged_in.cwd / name).write_text(name)
    assert logged_in("upload", "one.txt", "two.txt", "--to", f"{top}/in").returncode == 0
    assert logged_in("mkdir", f"{top}/out").returncode == 0

    done = logged_in("mv", f"{top}/in/one.txt", f"{top}/in/two.txt", f"{top}/out")
    assert done.returncode == 0, done.stderr
    assert sorted(line.split("\t")[1] for line in done.stdout.splitlines()) == [
        f"{top}/out/one.txt",
        f"{top}/out/two.txt",
    ]
    # One source and a path that does not exist yet: move and rename.
    assert logged_in("mv", f"{top}/out/one.txt", f"{top}/in/uno.txt").returncode == 0
    # Folders move too, and not below themselves.
    assert logged_in("mv", f"{top}/in", f"{top}/out").returncode == 0
    cycle = logged_in("mv", f"{top}/out", f"{top}/out/in")
    assert cycle.returncode == 1
    assert "HTTP 409" in cycle.stderr
    with logged_in.client() as client:
        assert client.resolve(f"{top}/out/in/uno.txt")["kind"] == "file"
        assert client.resolve(f"{top}/out/two.txt")["kind"] == "file"
        assert _missing(client, f"{top}/in")

    several = logged_in("mv", f"{top}/out/two.txt", f"{top}/out/in/uno.txt", f"{top}/nowhere")
    assert several.returncode == 1
    assert "no such folder" in several.stderr


def test_cp_copies_on_the_server(logged_in: Cli) -> None:
    top = _top(logged_in)
    source = random_file(logged_in.cwd / "orig.bin", MIB)
    file_id = uploaded(logged_in("upload", "orig.bin", "--to", top))[f"{top}/orig.bin"]
    assert logged_in("mkdir", f"{top}/copies").returncode == 0

    into = logged_in("cp", file_id, f"{top}/copies")
    renamed = logged_in("cp", f"{top}/orig.bin", f"{top}/copies/other.bin")
    assert into.returncode == 0 and renamed.returncode == 0, into.stderr + renamed.stderr
    with logged_in.client() as client:
        for path in (f"{top}/copies/orig.bin", f"{top}/copies/other.bin"):
            copy = client.resolve(path)
            assert copy["id"] != file_id
            assert copy.get("sha256") == sha256(source)
        assert client.resolve(f"{top}/orig.bin")["id"] == file_id
    assert logged_in("cp", f"{top}/copies", f"{top}/x").returncode == 2


def test_unknown_paths_exit_1(logged_in: Cli) -> None:
    top = _top(logged_in)
    for argv in (("get", f"{top}/nope.txt"), ("ls", f"{top}/nope"), ("rm", f"{top}/nope")):
        done = logged_in(*argv)
        assert done.returncode == 1, argv
        assert "HTTP 404" in done.stderr
        assert "Traceback" not in done.stderr
    with pytest.raises(ApiError) as caught, logged_in.client() as client:
        client.resolve(f"{top}/nope")
    assert caught.value.status == 404
