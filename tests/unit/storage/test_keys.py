"""filebay.storage.keys: a file's key, the keys derived from it, and nothing else."""

from __future__ import annotations

import pytest

from filebay.ids import new_id
from filebay.storage.keys import base_key, derived_key, is_blob_key

KEY = "0123456789abcdef0123456789abcdef"


def test_a_derived_key_names_its_file() -> None:
    assert derived_key(KEY, "t256") == f"{KEY}.t256"
    assert is_blob_key(KEY) and is_blob_key(f"{KEY}.t256")
    assert base_key(f"{KEY}.t256") == KEY and base_key(KEY) == KEY
    fresh = new_id()
    assert base_key(derived_key(fresh, "t64")) == fresh


@pytest.mark.parametrize(
    "key",
    [
        "",
        "..",
        f"{KEY}.",
        f"{KEY}.T256",
        f"{KEY}.t256.t64",
        f"{KEY}/t256",
        f"{KEY}.t256/../x",
        f"../{KEY}.t256",
        f"{KEY}.{'a' * 17}",
        f"{KEY}.1x",
        KEY.upper(),
        KEY[:-1] + ".t1",
    ],
)
def test_anything_else_is_not_a_blob_key(key: str) -> None:
    assert not is_blob_key(key)
    assert base_key(key) == key  # not derived: never mistaken for some file's


@pytest.mark.parametrize(("blob_key", "tag"), [("x" * 32, "t1"), (KEY, "../x"), (KEY, "")])
def test_only_well_formed_keys_are_derived(blob_key: str, tag: str) -> None:
    with pytest.raises(ValueError):
        derived_key(blob_key, tag)
