"""new_id: 32 lowercase hex characters, never repeated, also not across a fork."""

from __future__ import annotations

import os

from filebay.ids import is_valid_id, new_id


def test_ids_are_valid_and_distinct_across_pool_refills() -> None:
    ids = [new_id() for _ in range(2000)]  # several 4 KiB refills of the pool
    assert all(is_valid_id(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the pool now holds unused bytes the child must not reuse
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.close(read)
        os.write(write, "".join(new_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = "".join(new_id() for _ in range(10))
    child_ids = {child[i : i + 32] for i in range(0, len(child), 32)}
    parent_ids = {parent[i : i + 32] for i in range(0, len(parent), 32)}
    assert len(child_ids) == 10
    assert not child_ids & parent_ids


def test_malformed_ids_are_not_valid() -> None:
    for bad in ("", "A" * 32, "g" * 32, "a" * 31, "a" * 33, "../" + "a" * 29):
        assert not is_valid_id(bad)
