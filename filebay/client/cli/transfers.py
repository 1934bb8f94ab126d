"""``filebay upload`` and ``filebay get``: resumable transfers with progress bars, of single
files or of whole folder trees (``-r``)."""

from __future__ import annotations

import enum
import hashlib
import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from filebay.client.api import ROOT, Client
from filebay.client.cli import targets
from filebay.client.cli.batch import Batch
from filebay.client.cli.terminal import Server, Token, err, reports_errors, say, session
from filebay.client.downloader import destination, safe_filename
from filebay.client.errors import ClientError, UsageError
from filebay.client.pacing import RateLimiter, parse_rate
from filebay.client.progress import FileBar, TransferProgress
from filebay.client.records import FileRecord, FolderRecord, is_folder
from filebay.client.uploader import MIB, FileUploader, UploadOptions
from filebay.sizes import human_size

LimitRate = Annotated[
    str | None,
    typer.Option(
        "--limit-rate",
        help="Cap the speed, in bytes per second with an optional K, M or G (e.g. 2M).",
        show_default=False,
    ),
]
Recursive = Annotated[
    bool, typer.Option("--recursive", "-r", help="Folders too, with everything in them.")
]


class OnConflict(enum.StrEnum):
    rename = "rename"
    replace = "replace"
    fail = "fail"


@dataclass(frozen=True)
class Outgoing:
    """One local file and the folder it goes to (``None``: as the server decides)."""

    path: Path
    size: int
    folder: str | None = None  # the remote folder's path


def _walk(top: Path) -> Iterator[tuple[Path, list[str]]]:
    """Every folder under ``top`` (``top`` too), with its files, in a stable order."""
    for here, dirs, files in os.walk(top):
        dirs.sort()
        yield Path(here), sorted(files)


def plan_uploads(
    paths: list[Path], recursive: bool, to: str | None
) -> tuple[list[Outgoing], set[str]]:
    """The files to send and the remote folders to have (empty ones too, for ``-r``)."""
    base = targets.normalize(to) if to is not None else None
    jobs: list[Outgoing] = []
    folders: set[str] = set() if base is None else {base}
    for path in paths:
        if path.is_dir():
            if not recursive:
                raise UsageError(f"{path} is a folder: use -r to upload it with its contents")
            top = (base or "/").rstrip("/") + "/" + path.resolve().name
            for here, files in _walk(path):
                remote = targets.normalize(f"{top}/{here.relative_to(path).as_posix()}")
                folders.add(remote)
                jobs.extend(Outgoing(here / f, (here / f).stat().st_size, remote) for f in files)
        elif path.is_file():
            jobs.append(Outgoing(path, path.stat().st_size, base))
        else:
            raise UsageError(f"{path}: no such file or folder")
    return jobs, folders


def _limiter(limit_rate: str | None) -> RateLimiter | None:
    return RateLimiter(parse_rate(limit_rate)) if limit_rate else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while data := file.read(MIB):
            digest.update(data)
    return digest.hexdigest()


def _fold(name: str) -> str:
    """The key the server compares names on (NFC, then case folded): a macOS file name
    (NFD) and the name the server keeps for it are one name."""
    return unicodedata.normalize("NFC", name).casefold()


def _same(name: str, path: Path) -> bool:
    """Whether ``name`` is ``path``'s, case included (another case is another file here)."""
    return unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", path.name)


class _Folders:
    """The remote folders of an upload, made once, and what each already holds (so a
    second run skips the files the first one finished)."""

    def __init__(self, client: Client, paths: set[str]) -> None:
        self.client = client
        known: dict[str, FolderRecord] = {}
        self.ids = {p: targets.make_folders(client, p, known)["id"] for p in sorted(paths)}
        self._held: dict[str, dict[str, dict[str, Any]]] = {}

    def id_of(self, path: str) -> str:
        return self.ids[path]

    def holds_same(self, job: Outgoing) -> dict[str, Any] | None:
        """The remote file already there with this name, size and content, if any."""
        assert job.folder is not None
        folder_id = self.ids[job.folder]
        if folder_id not in self._held:
            items = self.client.iter_folder_items(folder_id)
            self._held[folder_id] = {_fold(i["name"]): dict(i) for i in items if not is_folder(i)}
        there = self._held[folder_id].get(_fold(job.path.name))
        if there is None or there.get("size") != job.size or not _same(there["name"], job.path):
            return None
        return there if there.get("sha256") == _sha256(job.path) else None


@reports_errors
def upload(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files to upload (and folders, with -r).",
            exists=True,
            readable=True,
            show_default=False,
        ),
    ],
    recursive: Recursive = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Remote folder to upload into, e.g. /photos/2026 (created when missing).",
            show_default=False,
        ),
    ] = None,
    on_conflict: Annotated[
        OnConflict,
        typer.Option(
            "--on-conflict", help="When the name is taken there: a new name, replace, or fail."
        ),
    ] = OnConflict.rename,
    server: Server = None,
    token: Token = None,
    chunk_size: Annotated[
        float,
        typer.Option(
            "--chunk-size",
            min=0.0625,
            help="MiB sent per request; a failed request resends at most this much.",
        ),
    ] = 8,
    limit_rate: LimitRate = None,
) -> None:
    """Upload files (or folder trees with -r); an interrupted upload resumes where it
    stopped, even in a later run.

    Uses the tus protocol at /api/tus/ and prints each file's id and name (its path when
    uploading into folders)."""
    options = UploadOptions(chunk_size=max(1, int(chunk_size * MIB)), limiter=_limiter(limit_rate))
    jobs, wanted = plan_uploads(files, recursive, to)
    batch = Batch(jobs, lambda job: job.path.name, lambda job: job.size)
    with session(server, token) as client:
        # Plain `upload FILE…` touches no folder route: it works with servers before folders.
        folders = _Folders(client, wanted) if wanted else None
        with TransferProgress(err, total=sum(j.size for j in jobs), files=len(jobs)) as bars:
            uploader = client.uploader(options, log=bars.log)
            batch.run(bars, _Sender(client, uploader, folders, on_conflict))
    batch.report()


@dataclass(frozen=True)
class _Sender:
    """Sends one planned file; returns its result line (``id<TAB>name``, or the path when
    uploading into folders)."""

    client: Client
    uploader: FileUploader
    folders: _Folders | None
    on_conflict: OnConflict

    def __call__(self, job: Outgoing, bar: FileBar) -> str:
        metadata = {}
        if self.on_conflict is not OnConflict.rename:
            metadata["on_conflict"] = self.on_conflict.value
        if self.folders is not None and job.folder is not None:
            there = self.folders.holds_same(job)
            if there is not None:
                bar(job.size)
                return f"{there['id']}\t{there.get('path', there['name'])}"
            folder_id = self.folders.id_of(job.folder)
            if folder_id != ROOT:
                metadata["folder_id"] = folder_id
        done = self.client.upload(job.path, metadata=metadata, progress=bar, uploader=self.uploader)
        if self.folders is None:
            return f"{done.file_id}\t{done.name}"
        return f"{done.file_id}\t{(job.folder or '').rstrip('/')}/{done.name}"


@dataclass(frozen=True)
class Incoming:
    record: FileRecord
    dest: Path


def _tree(client: Client, folder: FolderRecord, into: Path) -> Iterator[Incoming | Path]:
    """Every file below ``folder`` with where it goes under ``into`` (folders as paths, so
    empty ones are made too)."""
    yield into
    for entry in client.iter_folder_items(folder["id"], sort="name"):
        target = into / safe_filename(entry["name"])
        if is_folder(entry):
            yield from _tree(client, cast(FolderRecord, entry), target)
        else:
            yield Incoming(cast(FileRecord, entry), target)


def _already_here(job: Incoming) -> bool:
    return (
        job.dest.is_file()
        and job.dest.stat().st_size == job.record["size"]
        and (_sha256(job.dest) == job.record["sha256"])
    )


@reports_errors
def get(
    target: Annotated[
        str,
        typer.Argument(
            help="The file's id (as `filebay ls` shows it) or its path; a folder's with -r.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to save it (a folder keeps the file's name). Default: its name, here.",
            show_default=False,
        ),
    ] = None,
    recursive: Recursive = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output file if it already exists.")
    ] = False,
    limit_rate: LimitRate = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Download a file (or a folder tree with -r), resuming a partial download and checking
    each file's SHA-256."""
    limiter = _limiter(limit_rate)
    with session(server, token) as client:
        entry = targets.lookup(client, target)
        if is_folder(entry):
            if not recursive:
                raise UsageError(f"{target} is a folder: use -r to download it")
            _get_tree(client, cast(FolderRecord, entry), output, force, limiter)
            return
        _get_one(client, cast(FileRecord, entry), output, force, limiter)


def _get_one(
    client: Client,
    record: FileRecord,
    output: Path | None,
    force: bool,
    limiter: RateLimiter | None,
) -> None:
    dest = destination(str(record["name"]), output)
    if dest.exists() and not force:
        raise ClientError(f"{dest} already exists; use --force to replace it")
    with TransferProgress(err) as bars:
        bar = bars.file(dest.name, int(record["size"]))
        try:
            result = client.download(record, dest, progress=bar, log=bars.log, limiter=limiter)
        except ClientError:
            bar.finish(ok=False)
            raise
        bar.finish()
    if result.resumed_from:
        say(f"resumed at byte {result.resumed_from}")
    say(f"saved {result.path} ({human_size(result.size)}, SHA-256 verified)")
    typer.echo(str(result.path))


def _get_tree(
    client: Client,
    folder: FolderRecord,
    output: Path | None,
    force: bool,
    limiter: RateLimiter | None,
) -> None:
    top = output or Path(".")
    if folder["id"] != ROOT:
        top = top / safe_filename(folder["name"])
    jobs: list[Incoming] = []
    for item in _tree(client, folder, top):
        if isinstance(item, Path):
            item.mkdir(parents=True, exist_ok=True)
        elif not (_already_here(item) and not force):
            jobs.append(item)
    for job in jobs:
        if job.dest.exists() and not force:
            raise ClientError(f"{job.dest} already exists and differs; use --force to replace it")
    batch = Batch(jobs, lambda job: job.dest.name, lambda job: int(job.record["size"]))
    with TransferProgress(
        err, total=sum(int(j.record["size"]) for j in jobs), files=len(jobs)
    ) as bars:

        def fetch(job: Incoming, bar: FileBar) -> str:
            client.download(job.record, job.dest, progress=bar, log=bars.log, limiter=limiter)
            return str(job.dest)

        batch.run(bars, fetch)
    say(f"saved {top} ({len(jobs)} files fetched)")
    batch.report()
