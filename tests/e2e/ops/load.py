"""Many users at once: uploads (raw PUT and multipart), lists (search, cursors) and Range
downloads, checked for errors, for user isolation and, afterwards, for every stored byte.

Used by the load and fault tests, and as a script against a running filebay::

    python -m tests.e2e.ops.load --url http://127.0.0.1:8000 --admin-password … --seconds 60
    python -m tests.e2e.ops.load --auth-url … --upload-url … --metadata-url … --download-url …
    python -m tests.e2e.ops.load --url … --token fbt_…  # as an existing user
    python -m tests.e2e.ops.load --url … --no-auth        # a server with FILEBAY_AUTH=off

The script creates ``--users`` users with API tokens (with ``--token`` or ``--no-auth``: that
many clients acting as one identity, checking only this run's files), runs ``--tasks``
concurrent tasks per user for ``--seconds``, verifies every file and writes p50/p99 latencies
per operation to ``--out`` (default ``bench/load-results.json``). Exit 0: no errors and every
file whole.

Every file's content follows from its name (``<user>-<seed>-<size>.bin`` → the bytes of
``random.Random(seed).randbytes(size)``), so any file a listing shows can be checked without
keeping the bytes around, even one whose upload answer was lost."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

KIB = 1024
MIB = 1024 * KIB
DEFAULT_SECONDS = 60.0
OPS = ("put", "multipart", "list", "range", "foreign")
# How often each operation is picked (the foreign probe checks isolation under load).
WEIGHTS = (25, 15, 30, 25, 5)
MAX_ERRORS_KEPT = 50


def content(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def file_name(user: str, seed: int, size: int) -> str:
    return f"{user}-{seed:x}-{size}.bin"


def parse_name(name: str) -> tuple[str, int, int] | None:
    """(user, seed, size) of a name made by ``file_name``."""
    user, _, rest = name.rpartition("-")
    user, _, seed = user.rpartition("-")
    size, dot, ext = rest.partition(".")
    if not (user and dot and ext == "bin" and size.isdigit()):
        return None
    try:
        return user, int(seed, 16), int(size)
    except ValueError:
        return None


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Endpoints:
    """Where each route lives: one URL for the all-in-one process, four for the split."""

    auth: str
    upload: str
    metadata: str
    download: str

    @classmethod
    def single(cls, url: str) -> Endpoints:
        return cls(url, url, url, url)


@dataclass
class LoadUser:
    name: str  # the prefix of this user's file names in this run
    token: str | None  # an API token; None on a server without logins (FILEBAY_AUTH=off)
    #: The owner the server reports; ``name`` unless an existing identity is used.
    owner: str = ""
    #: Whether this run made the user, so every file they see is one of this run's.
    exclusive: bool = True
    #: Files whose upload answered 201: id → (seed, size, sha256).
    acked: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    #: Names of uploads whose answer was not 201 (tolerant mode): they may exist.
    maybe: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.owner = self.owner or self.name

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def ours(self, item: dict[str, Any]) -> bool:
        """A file of this run's (by its name)."""
        parsed = parse_name(item["name"])
        return parsed is not None and parsed[0] == self.name


@dataclass
class Event:
    at: float  # time.monotonic() when it ended
    op: str
    outcome: str  # the status code, or "transport: <error>"
    seconds: float
    ok: bool  # the answer the operation expects (a 404 for a foreign probe is one)


@dataclass
class Recorder:
    started: float = field(default_factory=time.monotonic)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: list[Event] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    failed: int = 0  # tolerated failures (fault tests)
    bytes_up: int = 0
    bytes_down: int = 0
    ended: float | None = None

    def now(self) -> float:
        return time.monotonic() - self.started

    def ok(self, op: str, seconds: float, status: int) -> None:
        self.latencies[op].append(seconds)
        self.outcomes[(op, str(status))] += 1
        self.events.append(Event(time.monotonic(), op, str(status), seconds, True))

    def failure(self, op: str, seconds: float, outcome: str) -> None:
        self.failed += 1
        self.outcomes[(op, outcome)] += 1
        self.events.append(Event(time.monotonic(), op, outcome, seconds, False))

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{self.now():.1f}s {message}")

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> dict[str, Any]:
        elapsed = (self.ended or time.monotonic()) - self.started
        ops = {
            op: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
                "max_ms": round(max(values, default=0.0) * 1000, 1),
            }
            for op, values in self.latencies.items()
        }
        return {
            "seconds": round(elapsed, 1),
            "requests": self.requests,
            "requests_per_second": round(self.requests / elapsed, 1) if elapsed else 0.0,
            "errors": self.error_count,
            "tolerated_failures": self.failed,
            "mib_uploaded": round(self.bytes_up / MIB, 1),
            "mib_downloaded": round(self.bytes_down / MIB, 1),
            "ops": ops,
        }


class Unexpected(Exception):
    """An answer the load did not expect (a 5xx, or a 4xx no correct server sends)."""


def _check(response: httpx.Response, *expected: int) -> None:
    if response.status_code not in expected:
        raise Unexpected(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} (want {expected}): {response.text[:200]!r}"
        )


def _multipart(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    chunks = []
    for name, data in parts:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        chunks.append(data)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class Load:
    """``tasks_per_user`` tasks for each of ``users``, each picking operations at random until
    the time is up. In ``tolerant`` mode (fault tests) refused connections and 503s are counted, not
    errors; a 500 or an unexpected 4xx is an error in every mode."""

    def __init__(
        self,
        endpoints: Endpoints,
        users: list[LoadUser],
        *,
        seconds: float,
        tasks_per_user: int = 10,
        min_size: int = KIB,
        max_size: int = 2 * MIB,
        seed: int = 0,
        tolerant: bool = False,
        timeout: float = 60.0,
    ) -> None:
        self.endpoints = endpoints
        self.users = users
        self.seconds = seconds
        self.tasks_per_user = tasks_per_user
        self.min_size = min_size
        self.max_size = max_size
        self.seed = seed
        self.tolerant = tolerant
        self.timeout = timeout
        self.recorder = Recorder()
        self._stop = threading.Event()  # stop() may come from another thread
        # File names come from these seeds: loads that share users need different seeds.
        self._seeds = random.Random(seed ^ 0x5EED)

    def stop(self) -> None:
        """End the run early (the tasks finish the request they are in); thread-safe."""
        self._stop.set()

    def _client(self, connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=10.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def run(self) -> Recorder:
        self.recorder = Recorder()
        self._stop.clear()
        deadline = time.monotonic() + self.seconds
        async with self._client(len(self.users) * self.tasks_per_user + 8) as client:
            tasks = [
                self._task(client, user, random.Random(self.seed * 1000 + n * 100 + t), deadline)
                for n, user in enumerate(self.users)
                for t in range(self.tasks_per_user)
            ]
            await asyncio.gather(*tasks)
        self.recorder.ended = time.monotonic()
        return self.recorder

    async def _task(
        self, client: httpx.AsyncClient, user: LoadUser, rng: random.Random, deadline: float
    ) -> None:
        while time.monotonic() < deadline and not self._stop.is_set():
            op = rng.choices(OPS, WEIGHTS)[0]
            if op in ("range", "foreign") and not user.acked:
                op = "put"
            elif op == "foreign" and not self._foreign_owners(user):
                op = "list"
            started = time.monotonic()
            try:
                status = await getattr(self, f"_{op}")(client, user, rng)
            except Unexpected as exc:
                self._failed_or_error(op, started, exc)
            except httpx.TransportError as exc:
                if self.tolerant:
                    self.recorder.failure(
                        op, time.monotonic() - started, f"transport: {type(exc).__name__}"
                    )
                    await asyncio.sleep(0.05)  # a refused connection fails at once
                else:
                    self.recorder.error(f"{op}: {type(exc).__name__}: {exc}")
            except Exception as exc:  # a malformed answer: an error, but the run goes on
                self.recorder.error(f"{op}: {type(exc).__name__}: {exc}")
            else:
                self.recorder.ok(op, time.monotonic() - started, status)

    def _failed_or_error(self, op: str, started: float, exc: Unexpected) -> None:
        text = str(exc)
        if self.tolerant and " answered 503 " in text:
            self.recorder.failure(op, time.monotonic() - started, "503")
        else:
            self.recorder.error(f"{op}: {text}")

    # --- operations: each returns the status it got, or raises ---------------------------

    def _new_file(self, user: LoadUser, rng: random.Random) -> tuple[str, int, int, bytes]:
        # log-uniform between min and max size: many small files, some large ones
        size = int(math.exp(rng.uniform(math.log(self.min_size), math.log(self.max_size))))
        seed = self._seeds.getrandbits(48)
        return file_name(user.name, seed, size), seed, size, content(seed, size)

    def _stored(self, user: LoadUser, record: dict[str, Any], seed: int, size: int) -> None:
        expected = hashlib.sha256(content(seed, size)).hexdigest()
        if record.get("sha256") != expected or record.get("size") != size:
            raise Unexpected(f"record of {record.get('name')} does not match: {record}")
        if record.get("owner") != user.owner:
            raise Unexpected(f"record of {record.get('name')} has owner {record.get('owner')}")
        user.acked[record["id"]] = (seed, size, expected)

    async def _put(self, client: httpx.AsyncClient, user: LoadUser, rng: random.Random) -> int:
        name, seed, size, data = self._new_file(user, rng)
        user.maybe.add(name)
        response = await client.put(
            f"{self.endpoints.upload}/api/upload/{name}", content=data, headers=user.headers
        )
        _check(response, 201)
        self._stored(user, response.json(), seed, size)
        user.maybe.discard(name)
        self.recorder.bytes_up += size
        return response.status_code

    async def _multipart(
        self, client: httpx.AsyncClient, user: LoadUser, rng: random.Random
    ) -> int:
        files = [self._new_file(user, rng) for _ in range(rng.randint(1, 3))]
        body, content_type = _multipart([(name, data) for name, _, _, data in files])
        user.maybe.update(name for name, *_ in files)
        response = await client.post(
            f"{self.endpoints.upload}/api/files",
            content=body,
            headers={**user.headers, "Content-Type": content_type},
        )
        _check(response, 201)
        records = response.json()["files"]
        if [r["name"] for r in records] != [name for name, *_ in files]:
            raise Unexpected(f"multipart answered other files: {records}")
        for record, (name, seed, size, _) in zip(records, files, strict=True):
            self._stored(user, record, seed, size)
            user.maybe.discard(name)
            self.recorder.bytes_up += size
        return response.status_code

    async def _list(self, client: httpx.AsyncClient, user: LoadUser, rng: random.Random) -> int:
        others = [u for u in self.users if u.owner != user.owner]
        kind = rng.random()
        params: dict[str, str] = {"limit": str(rng.choice((1, 7, 50, 200)))}
        params["sort"] = rng.choice(("-created_at", "created_at", "name", "-name", "size", "-size"))
        expect_empty = False
        if kind < 0.3 and user.acked:
            seed, _, _ = rng.choice(list(user.acked.values()))
            params["q"] = f"{seed:x}"[:4].upper()  # case-insensitive, matches at least one
        elif kind < 0.45 and others:
            params["q"] = f"{rng.choice(others).name}-"  # another user's files: never seen
            expect_empty = True
        status = 200
        for _page in range(3):
            response = await client.get(
                f"{self.endpoints.metadata}/api/files", params=params, headers=user.headers
            )
            _check(response, 200)
            page = response.json()
            for item in page["items"]:
                if item["owner"] != user.owner or (user.exclusive and not user.ours(item)):
                    raise Unexpected(f"{user.name} was shown another user's file: {item}")
            if expect_empty and user.exclusive and page["items"]:
                raise Unexpected(f"{user.name} searched {params['q']!r}: {page['items'][:2]}")
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        return status

    async def _range(self, client: httpx.AsyncClient, user: LoadUser, rng: random.Random) -> int:
        file_id, (seed, size, _) = rng.choice(list(user.acked.items()))
        if rng.random() < 0.2:
            length = rng.randint(1, size)
            header, start, end = f"bytes=-{length}", size - length, size
        else:
            start = rng.randrange(size)
            end = min(size, start + rng.randint(1, 256 * KIB))
            header = f"bytes={start}-{end - 1}"
        response = await client.get(
            f"{self.endpoints.download}/api/files/{file_id}/content",
            headers={**user.headers, "Range": header},
        )
        _check(response, 206)
        if response.headers.get("content-range") != f"bytes {start}-{end - 1}/{size}":
            raise Unexpected(f"{header} of {size}: {response.headers.get('content-range')}")
        if response.content != content(seed, size)[start:end]:
            raise Unexpected(f"{header} of {file_id}: wrong bytes")
        self.recorder.bytes_down += len(response.content)
        return response.status_code

    def _foreign_owners(self, user: LoadUser) -> list[LoadUser]:
        return [u for u in self.users if u.owner != user.owner and u.acked]

    async def _foreign(self, client: httpx.AsyncClient, user: LoadUser, rng: random.Random) -> int:
        """Another user's file, by its id: 404 for the record and its bytes."""
        owners = self._foreign_owners(user)
        file_id = rng.choice(list(rng.choice(owners).acked))
        record = await client.get(
            f"{self.endpoints.metadata}/api/files/{file_id}", headers=user.headers
        )
        _check(record, 404)
        data = await client.get(
            f"{self.endpoints.download}/api/files/{file_id}/content",
            headers={**user.headers, "Range": "bytes=0-9"},
        )
        _check(data, 404)
        return data.status_code

    # --- afterwards -----------------------------------------------------------------------

    async def verify(self, concurrency: int = 16) -> tuple[int, list[str]]:
        """Every user's listing against what they uploaded, then every listed file downloaded
        and hashed. (files checked, problems)."""
        problems: list[str] = []
        checked = 0
        async with self._client(concurrency + 4) as client:
            todo: list[tuple[LoadUser, dict[str, Any]]] = []
            for user in self.users:
                listed = await list_all(client, self.endpoints, user.headers)
                by_id = {item["id"]: item for item in listed}
                for item in listed:
                    if not user.exclusive and not user.ours(item):
                        continue  # a file from before this run
                    if item["owner"] != user.owner or not user.ours(item):
                        problems.append(f"{user.name} lists a file not theirs: {item}")
                    elif item["id"] not in user.acked and item["name"] not in user.maybe:
                        problems.append(f"{user.name} lists a file never uploaded: {item}")
                    else:
                        todo.append((user, item))
                missing = set(user.acked) - set(by_id)
                if missing:
                    problems.append(f"{user.name}: {len(missing)} acknowledged files not listed")
            gate = asyncio.Semaphore(concurrency)

            async def check(user: LoadUser, item: dict[str, Any]) -> None:
                parsed = parse_name(item["name"])
                assert parsed is not None
                _, seed, size = parsed
                expected = hashlib.sha256(content(seed, size)).hexdigest()
                digest = hashlib.sha256()
                async with (
                    gate,
                    client.stream(
                        "GET",
                        f"{self.endpoints.download}/api/files/{item['id']}/content",
                        headers=user.headers,
                    ) as response,
                ):
                    if response.status_code != 200:
                        problems.append(f"{item['name']}: download answered {response.status_code}")
                        return
                    async for chunk in response.aiter_bytes():
                        digest.update(chunk)
                got = digest.hexdigest()
                if not (got == item["sha256"] == expected and item["size"] == size):
                    problems.append(f"{item['name']} ({item['id']}) is not whole: sha256 {got}")

            await asyncio.gather(*(check(user, item) for user, item in todo))
            checked = len(todo)
        return checked, problems


async def list_all(
    client: httpx.AsyncClient, endpoints: Endpoints, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every file the caller sees, page by page."""
    items: list[dict[str, Any]] = []
    params = {"limit": "1000", "sort": "created_at"}
    while True:
        response = await client.get(
            f"{endpoints.metadata}/api/files", params=params, headers=headers, timeout=60
        )
        _check(response, 200)
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def create_users(
    endpoints: Endpoints,
    admin_password: str,
    count: int,
    *,
    admin: str = "admin",
    prefix: str | None = None,
) -> list[LoadUser]:
    """``count`` new users, each with an API token (``fbt_…``) to send as a bearer token."""
    prefix = prefix or f"load{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    async with httpx.AsyncClient(timeout=60) as client:
        admin_jwt = await _login(client, endpoints, admin, admin_password)
        users = []
        for n in range(count):
            name = f"{prefix}-u{n}"
            created = await client.post(
                f"{endpoints.auth}/api/users",
                json={"username": name, "password": password, "role": "user"},
                headers={"Authorization": f"Bearer {admin_jwt}"},
            )
            _check(created, 201)
            jwt = await _login(client, endpoints, name, password)
            token = await client.post(
                f"{endpoints.auth}/api/tokens",
                json={"name": "load"},
                headers={"Authorization": f"Bearer {jwt}"},
            )
            _check(token, 201)
            users.append(LoadUser(name, token.json()["token"]))
        return users


async def existing_identity(endpoints: Endpoints, token: str | None, count: int) -> list[LoadUser]:
    """``count`` load users that all act as one existing identity (an API token, or nobody on
    a server without logins): no isolation checks between them, and only this run's files
    are verified."""
    async with httpx.AsyncClient(timeout=60) as client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        me = await client.get(f"{endpoints.auth}/api/me", headers=headers)
        _check(me, 200)
    prefix = f"bench{secrets.token_hex(3)}"
    owner = me.json()["username"]
    return [LoadUser(f"{prefix}-u{n}", token, owner, exclusive=False) for n in range(count)]


async def _login(
    client: httpx.AsyncClient, endpoints: Endpoints, username: str, password: str
) -> str:
    response = await client.post(
        f"{endpoints.auth}/api/auth/token", data={"username": username, "password": password}
    )
    _check(response, 200)
    return str(response.json()["access_token"])


def load_seconds(default: float = DEFAULT_SECONDS) -> float:
    """``FILEBAY_LOAD_SECONDS``, or ``default``."""
    value = os.environ.get("FILEBAY_LOAD_SECONDS")
    return float(value) if value else default


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['requests']} requests in {summary['seconds']} s "
        f"({summary['requests_per_second']} req/s), {summary['errors']} errors, "
        f"{summary['mib_uploaded']} MiB up, {summary['mib_downloaded']} MiB down",
        f"{'op':<10} {'count':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}",
    ]
    for op, row in summary["ops"].items():
        lines.append(
            f"{op:<10} {row['count']:>7} {row['p50_ms']:>9} {row['p99_ms']:>9} {row['max_ms']:>9}"
        )
    return "\n".join(lines)


def write_results(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")


async def run_script(args: argparse.Namespace) -> int:
    base = args.url
    endpoints = Endpoints(
        auth=args.auth_url or base,
        upload=args.upload_url or base,
        metadata=args.metadata_url or base,
        download=args.download_url or base,
    )
    if None in (endpoints.auth, endpoints.upload, endpoints.metadata, endpoints.download):
        print("give --url, or all four service URLs", file=sys.stderr)
        return 2
    if args.token is not None or args.no_auth:
        users = await existing_identity(endpoints, args.token, args.users)
    elif args.admin_password:
        users = await create_users(endpoints, args.admin_password, args.users, admin=args.admin)
    else:
        print("give --admin-password, --token or --no-auth", file=sys.stderr)
        return 2
    load = Load(endpoints, users, seconds=args.seconds, tasks_per_user=args.tasks, seed=args.seed)
    recorder = await load.run()
    summary = recorder.summary()
    summary.update(
        {"url": base or endpoints.upload, "users": args.users, "tasks_per_user": args.tasks}
    )
    if not args.no_verify:
        checked, problems = await load.verify()
        summary["verified_files"] = checked
        summary["verify_problems"] = problems[:MAX_ERRORS_KEPT]
    summary["error_samples"] = recorder.errors
    write_results(Path(args.out), summary)
    print(format_summary(summary))
    for line in recorder.errors + summary.get("verify_problems", []):
        print(line, file=sys.stderr)
    return 1 if recorder.error_count or summary.get("verify_problems") else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.ops.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="all-in-one base URL (or the default for the others)")
    parser.add_argument("--auth-url")
    parser.add_argument("--upload-url")
    parser.add_argument("--metadata-url")
    parser.add_argument("--download-url")
    parser.add_argument("--admin", default="admin")
    parser.add_argument("--admin-password", default=os.environ.get("FILEBAY_ADMIN_PASSWORD"))
    parser.add_argument(
        "--token",
        default=os.environ.get("FILEBAY_BENCH_TOKEN"),
        help="act as this API token's user instead of creating users (FILEBAY_BENCH_TOKEN)",
    )
    parser.add_argument("--no-auth", action="store_true", help="the server runs FILEBAY_AUTH=off")
    parser.add_argument("--seconds", type=float, default=load_seconds())
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10, help="concurrent tasks per user")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench/load-results.json")
    parser.add_argument("--no-verify", action="store_true", help="skip the download-all check")
    return asyncio.run(run_script(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
