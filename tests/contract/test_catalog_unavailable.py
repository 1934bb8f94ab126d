"""A catalog that cannot be reached answers CatalogUnavailable (503), quickly, on every call."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from filebay.catalog.files import Catalog, ListQuery
from filebay.catalog.remote.client import HttpCatalog
from filebay.catalog.sql.files import SqlCatalog, create_engine
from filebay.errors import CatalogUnavailable
from filebay.ids import new_id
from tests.contract.helpers import MetadataServer, new_file
from tests.harness.servers import free_port

REFUSED_PG = "postgresql+asyncpg://postgres@127.0.0.1:1/filebay"
QUICKLY = 5.0  # seconds

Call = Callable[[Catalog], Awaitable[object]]


async def _iter_all(catalog: Catalog) -> object:
    return [record async for record in catalog.iter_all()]


CALLS: dict[str, Call] = {
    "add": lambda c: c.add(new_file("alice", "a.txt")),
    "get": lambda c: c.get(new_id(), "alice"),
    "list": lambda c: c.list("alice", ListQuery()),
    "list_all": lambda c: c.list(None, ListQuery(q="x")),
    "rename": lambda c: c.rename(new_id(), "alice", "b.txt"),
    "delete": lambda c: c.delete(new_id(), None),
    "ping": lambda c: c.ping(),
    "iter_all": _iter_all,
}


def assert_unavailable_quickly(make: Callable[[], Catalog], call: Call) -> None:
    async def scenario() -> None:
        catalog = make()
        try:
            with pytest.raises(CatalogUnavailable) as info:
                await call(catalog)
            assert info.value.status == 503
        finally:
            await catalog.close()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < QUICKLY


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never answers: a hung peer."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_opening_sql_catalog_on_unreachable_postgres_is_unavailable() -> None:
    started = time.monotonic()
    with pytest.raises(CatalogUnavailable):
        asyncio.run(SqlCatalog.open(REFUSED_PG))
    assert time.monotonic() - started < QUICKLY


def test_opening_sql_catalog_where_sqlite_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'no such dir' / 'filebay.db'}"

    async def scenario() -> None:
        with pytest.raises(CatalogUnavailable):
            await SqlCatalog.open(url)
        # aiosqlite stops its worker thread after a failed connect by calling back into this
        # loop: keep the loop open until it has, or the thread dies on a closed loop.
        for _ in range(200):
            if not any("_connection_worker" in t.name for t in threading.enumerate()):
                break
            await asyncio.sleep(0.01)

    asyncio.run(scenario())


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_sql_catalog_calls_on_unreachable_postgres_are_unavailable(call: Call) -> None:
    assert_unavailable_quickly(lambda: SqlCatalog(create_engine(REFUSED_PG)), call)


def test_sql_catalog_on_a_hung_postgres_gives_up(tmp_path: Path) -> None:
    with silent_listener() as port:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/filebay"

        async def scenario() -> None:
            catalog = SqlCatalog(create_engine(url))
            try:
                with pytest.raises(CatalogUnavailable):
                    await catalog.ping()
            finally:
                await catalog.close()

        started = time.monotonic()
        asyncio.run(scenario())
        assert time.monotonic() - started < 10  # the connect timeout is 5 s


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_http_catalog_with_nothing_listening_is_unavailable(call: Call) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert_unavailable_quickly(lambda: HttpCatalog(url, "token"), call)


@pytest.mark.parametrize("name", ["get", "add", "ping"])
def test_http_catalog_with_a_hung_metadata_service_gives_up(name: str) -> None:
    with silent_listener() as port:
        url = f"http://127.0.0.1:{port}"
        assert_unavailable_quickly(lambda: HttpCatalog(url, "token", timeout=0.5), CALLS[name])


@pytest.mark.parametrize("name", ["get", "list", "add", "ping"])
def test_http_catalog_with_a_wrong_service_token_is_unavailable_not_unauthorized(
    metadata_server: MetadataServer, name: str
) -> None:
    assert_unavailable_quickly(lambda: HttpCatalog(metadata_server.url, "wrong"), CALLS[name])
