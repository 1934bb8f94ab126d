"""filebay.names: a client's file name becomes safe metadata, never a path."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from filebay.errors import NameTooLong
from filebay.names import MAX_NAME_BYTES, UNNAMED, clean_name, guess_content_type, validate_new_name

# Every code point, lone surrogates included (hypothesis never draws those by itself).
any_text = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=600)
UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# What a stem of a long name is made of in the truncation tests: no separators, no dots.
stem_chars = st.characters(
    exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"), exclude_characters="./\\"
)
MEDIA_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+")


@given(any_text)
@example("../../etc/passwd")
@example("a/..")
@example("\x00\x01\x1f")
@example("x" * 300 + " y")
@example("a" * 254 + " b")
@example(". " + " " * 300 + "x")
@example("a\ud800b.txt")
@example(".." + " " * 300 + "x")
def test_clean_name_is_always_a_safe_name(raw: str) -> None:
    name = clean_name(raw)
    assert name not in ("", ".", "..")
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(ch) in UNSAFE_CATEGORIES for ch in name)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name == name.strip()


@given(any_text)
@example("a" * 254 + " b")
@example("a" * 250 + " " * 10 + "b")
def test_clean_name_is_idempotent(raw: str) -> None:
    once = clean_name(raw)
    assert clean_name(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\bob\\My File.txt", "My File.txt"),
        ("dir/sub/", UNNAMED),
        ("a/..", UNNAMED),
        (".", UNNAMED),
        ("..", UNNAMED),
        ("...", "..."),
        ("", UNNAMED),
        (None, UNNAMED),
        ("   ", UNNAMED),
        ("\x00\x07\x1b", UNNAMED),
        ("evil\x00.txt", "evil.txt"),
        ("line\nbreak.txt", "linebreak.txt"),
        ("re\u202eport.txt", "report.txt"),
        ("  padded name.txt  ", "padded name.txt"),
        ("Résumé 日本.pdf", "Résumé 日本.pdf"),
    ],
)
def test_clean_name_examples(raw: str | None, expected: str) -> None:
    assert clean_name(raw) == expected


@given(
    stem=st.text(stem_chars, min_size=1, max_size=400),
    ext=st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=8),
)
def test_truncation_keeps_a_short_extension_and_whole_characters(stem: str, ext: str) -> None:
    raw = f"{stem}.{ext}"
    name = clean_name(raw)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith(f".{ext}")
    if len(raw.encode()) <= MAX_NAME_BYTES:
        assert name == raw
    else:
        kept = name.removesuffix(f".{ext}")
        assert kept and stem.startswith(kept)


def test_truncation_of_a_multibyte_name_cuts_at_a_character_boundary() -> None:
    name = clean_name("é" * 200 + ".txt")
    assert name == "é" * 125 + ".txt"
    assert len(name.encode()) == 254


def test_truncation_drops_an_extension_that_is_not_short() -> None:
    name = clean_name("a" * 10 + "." + "b" * 300)
    assert len(name.encode()) == MAX_NAME_BYTES
    assert name.startswith("a" * 10 + ".b")


def test_validate_new_name_refuses_over_255_bytes() -> None:
    with pytest.raises(NameTooLong) as info:
        validate_new_name("a" * 256)
    assert info.value.status == 400
    with pytest.raises(NameTooLong):
        validate_new_name("é" * 128)  # 256 bytes in 128 characters


def test_validate_new_name_accepts_255_bytes_and_cleans() -> None:
    assert validate_new_name("a" * 255) == "a" * 255
    assert validate_new_name("x/y.txt") == "y.txt"
    assert validate_new_name("..") == UNNAMED


@given(any_text)
def test_validate_new_name_never_truncates(raw: str) -> None:
    try:
        name = validate_new_name(raw)
    except NameTooLong:
        return
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name == clean_name(raw)


@pytest.mark.parametrize(
    ("name", "declared", "expected"),
    [
        ("a.pdf", None, "application/pdf"),
        ("a.pdf", "", "application/pdf"),
        ("a.pdf", "application/octet-stream", "application/pdf"),
        ("a.png", "application/x-www-form-urlencoded", "image/png"),
        ("a.txt", "Text/Plain; charset=utf-8", "text/plain"),
        ("a.bin", "image/webp", "image/webp"),
        ("noext", None, "application/octet-stream"),
        ("a.pdf", "nonsense", "application/pdf"),
        ("a.pdf", "x/" + "y" * 200, "application/pdf"),
        ("a.pdf", "text/pl\x00ain", "application/pdf"),
        ("a.pdf", "text/html\r\nX-Evil: 1", "application/pdf"),
        ("a.pdf", "text / html", "application/pdf"),
    ],
)
def test_guess_content_type(name: str, declared: str | None, expected: str) -> None:
    assert guess_content_type(name, declared) == expected


@given(name=st.text(max_size=50), declared=st.none() | st.text(max_size=200))
def test_guess_content_type_is_always_a_header_safe_media_type(
    name: str, declared: str | None
) -> None:
    assert MEDIA_TYPE.fullmatch(guess_content_type(name, declared))
