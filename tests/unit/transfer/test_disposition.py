"""filebay.transfer.disposition: RFC 6266 Content-Disposition and the inline allow-list."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from filebay.transfer.disposition import ascii_fallback, can_inline, content_disposition

HEADER = re.compile(
    r"(?P<kind>attachment|inline); filename=\"(?P<fallback>[^\"\\]*)\"; "
    r"filename\*=UTF-8''(?P<encoded>[A-Za-z0-9!#$&+\-.^_`|~%]*)"
)
# Names are cleaned before they get here, but the header must be safe for any text.
names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=120)


@given(names, st.booleans())
@example('a"b\\c.txt', False)
@example("résumé.pdf", True)
@example("日本語.txt", False)
@example("%41;\r\n X-Evil: 1", False)
@example("  ", False)
def test_content_disposition_is_rfc_6266_for_any_name(name: str, inline: bool) -> None:
    header = content_disposition(name, inline=inline)
    match = HEADER.fullmatch(header)
    assert match, header
    assert match["kind"] == ("inline" if inline else "attachment")
    fallback = match["fallback"]
    assert fallback and fallback.isascii() and fallback.isprintable()
    assert unquote(match["encoded"], errors="strict") == name


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("report.pdf", "report.pdf"),
        ("résumé.pdf", "resume.pdf"),
        ('say "hi".txt', "say _hi_.txt"),
        ("back\\slash.txt", "back_slash.txt"),
        ("日本.txt", "__.txt"),
        ("tab\there", "tab_here"),
        ("", "download"),
        ("\u0301", "download"),
    ],
)
def test_ascii_fallback(name: str, fallback: str) -> None:
    assert ascii_fallback(name) == fallback


def test_content_disposition_example() -> None:
    assert content_disposition("naïve café.txt") == (
        "attachment; filename=\"naive cafe.txt\"; filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt"
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/plain; charset=utf-8",
        "TEXT/PLAIN",
        "audio/mpeg",
        "audio/ogg",
        "video/mp4",
        "video/webm",
    ],
)
def test_types_that_cannot_run_script_may_be_inline(content_type: str) -> None:
    assert can_inline(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "image/svg+xml",
        "IMAGE/SVG+XML",
        "text/html",
        "text/html; charset=utf-8",
        "application/xhtml+xml",
        "application/xml",
        "text/xml",
        "application/javascript",
        "text/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/json",
        "application/octet-stream",
        "text/css",
        "multipart/x-mixed-replace",
        "application/pdf+html",
        "text/plain-html",
        "",
    ],
)
def test_html_svg_xml_and_script_are_never_inline(content_type: str) -> None:
    assert not can_inline(content_type)
