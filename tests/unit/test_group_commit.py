"""GroupCommit: concurrent writes share one transaction, and each keeps its own outcome."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from filebay.catalog.sql.engine import GroupCommit, SessionRunner


class DatabaseRefused(Exception):
    pass


class FakeSession(list[Any]):
    """A "session" is a list the work appends to; a savepoint is where to cut it back."""

    @contextlib.contextmanager
    def begin_nested(self) -> Iterator[None]:
        mark = len(self)
        try:
            yield
        except BaseException:
            del self[mark:]  # rolled back to the savepoint
            raise


class FakeRunner:
    """Stands in for SessionRunner; a batch that holds a poisoned item is refused as a
    whole, like an integrity error would be."""

    def __init__(self) -> None:
        self.transactions: list[list[Any]] = []

    async def write(self, work: Any) -> Any:
        await asyncio.sleep(0.01)  # a commit takes time: later writes queue meanwhile
        session = FakeSession()
        result = work(session)
        if "poison" in session:
            raise DatabaseRefused()
        self.transactions.append(session)
        return result


def _group(runner: FakeRunner) -> GroupCommit:
    fake: Any = runner
    runner_typed: SessionRunner = fake
    return GroupCommit(runner_typed, (DatabaseRefused,))


def _put(value: str) -> Any:
    def work(session: list[Any]) -> str:
        session.append(value)
        return value.upper()

    return work


def _refuse(session: list[Any]) -> None:
    raise ValueError("over quota")


def _write_then_refuse(session: list[Any]) -> None:
    session.append("half of a multipart upload")
    raise ValueError("name taken")


def test_an_error_after_writing_undoes_only_that_write() -> None:
    runner = FakeRunner()

    async def scenario() -> list[Any]:
        group = _group(runner)
        return await asyncio.gather(
            group.submit(_put("a")),
            group.submit(_write_then_refuse),
            group.submit(_put("b")),
            return_exceptions=True,
        )

    first, refused, last = asyncio.run(scenario())
    assert (first, last) == ("A", "B")
    assert isinstance(refused, ValueError)
    assert [item for tx in runner.transactions for item in tx] == ["a", "b"]


def test_concurrent_writes_share_few_transactions() -> None:
    runner = FakeRunner()

    async def scenario() -> list[str]:
        group = _group(runner)
        return await asyncio.gather(*(group.submit(_put(f"v{i}")) for i in range(20)))

    assert asyncio.run(scenario()) == [f"V{i}" for i in range(20)]
    # All 20 were queued before the drainer first ran: one transaction for all of them.
    assert [len(t) for t in runner.transactions] == [20]


def test_a_domain_error_answers_only_its_own_caller() -> None:
    runner = FakeRunner()

    async def scenario() -> list[Any]:
        group = _group(runner)
        works = [_put("a"), _put("b"), _refuse, _put("c")]
        return await asyncio.gather(*(group.submit(w) for w in works), return_exceptions=True)

    results = asyncio.run(scenario())
    assert results[:2] == ["A", "B"] and results[3] == "C"
    assert isinstance(results[2], ValueError)
    assert sorted(v for t in runner.transactions for v in t) == ["a", "b", "c"]


def test_a_refused_batch_is_retried_one_by_one() -> None:
    runner = FakeRunner()

    async def scenario() -> list[Any]:
        group = _group(runner)
        first = asyncio.ensure_future(group.submit(_put("first")))
        await asyncio.sleep(0)  # the first batch is under way; the rest queue behind it
        works = [_put("a"), _put("poison"), _put("b")]
        rest = await asyncio.gather(*(group.submit(w) for w in works), return_exceptions=True)
        return [await first, *rest]

    results = asyncio.run(scenario())
    assert results[0] == "FIRST" and results[1] == "A" and results[3] == "B"
    assert isinstance(results[2], DatabaseRefused)
    # One batch of [a, poison, b] was refused, then a and b committed alone.
    assert runner.transactions == [["first"], ["a"], ["b"]]


def test_a_lone_refused_write_is_not_retried() -> None:
    runner = FakeRunner()
    calls = 0

    def poison(session: list[Any]) -> None:
        nonlocal calls
        calls += 1
        session.append("poison")

    with pytest.raises(DatabaseRefused):
        asyncio.run(_group(runner).submit(poison))
    assert calls == 1


def test_a_cancelled_caller_does_not_cancel_the_batch() -> None:
    runner = FakeRunner()

    async def scenario() -> str:
        group = _group(runner)
        doomed = asyncio.ensure_future(group.submit(_put("doomed")))
        kept = asyncio.ensure_future(group.submit(_put("kept")))
        await asyncio.sleep(0)
        doomed.cancel()
        return await kept

    assert asyncio.run(scenario()) == "KEPT"
    # The cancelled caller's write still committed: its outcome is "unknown", not "lost".
    assert sorted(v for t in runner.transactions for v in t) == ["doomed", "kept"]
