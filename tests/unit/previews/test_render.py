"""filebay.previews.render: each kind of file and each bad input, run as the server runs it
(a child process under its caps) and in process where the test looks at one function."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from filebay.previews import render
from filebay.previews.render import NO_THUMBNAIL, NoThumbnail, render_image
from tests.harness import media

MAX_PIXELS = 50_000_000
MEMORY = 1024**3
PDFTOPPM = shutil.which("pdftoppm") or "pdftoppm"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def run_child(
    tmp_path: Path, kind: str, data: bytes, size: int = 256, tool: str = ""
) -> tuple[int, str, float]:
    """The renderer as the server starts it; its exit status, stderr and seconds taken."""
    src, dst = tmp_path / "source", tmp_path / "thumb.webp"
    src.write_bytes(data)
    args = [kind, str(src), str(dst), str(size), str(MAX_PIXELS), str(MEMORY), "10", tool]
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-I", render.__file__, *args], capture_output=True, timeout=60
    )
    return done.returncode, done.stderr.decode(), time.monotonic() - start


def thumb(tmp_path: Path) -> bytes:
    return (tmp_path / "thumb.webp").read_bytes()


@pytest.mark.parametrize(
    ("data", "size", "expected"),
    [
        (media.jpeg(800, 600), 256, (256, 192)),
        (media.png(300, 200, alpha=True), 64, (64, 43)),
        (media.png(40, 30), 1024, (40, 30)),  # never enlarged
    ],
    ids=["jpeg", "png-alpha", "small-png"],
)
def test_a_picture_becomes_a_webp_within_the_size(
    tmp_path: Path, data: bytes, size: int, expected: tuple[int, int]
) -> None:
    code, err, _ = run_child(tmp_path, "image", data, size)
    assert code == 0, err
    assert media.format_of(thumb(tmp_path)) == "WEBP"
    assert media.size_of(thumb(tmp_path)) == expected


def test_a_pdf_first_page_is_rendered_by_pdftoppm(tmp_path: Path) -> None:
    code, err, _ = run_child(tmp_path, "pdf", media.pdf(200, 300), 256, PDFTOPPM)
    assert code == 0, err
    width, height = media.size_of(thumb(tmp_path))
    assert height == 256 and 160 <= width <= 180


def test_a_video_first_frame_is_rendered_by_ffmpeg(tmp_path: Path) -> None:
    code, err, _ = run_child(tmp_path, "video", media.mp4(320, 240), 64, FFMPEG)
    assert code == 0, err
    assert media.size_of(thumb(tmp_path)) == (64, 48)


@pytest.mark.parametrize(
    ("kind", "data", "tool", "why"),
    [
        ("image", media.truncated_png(), "", "truncated"),
        ("image", media.decompression_bomb(), "", "decompression bomb"),
        ("image", media.png_header(30_000, 30_000), "", "decompression bomb"),
        ("image", media.png_header(8_000, 8_000), "", "decompression bomb"),  # 64 MP: a warning
        ("image", media.random_bytes(), "", "cannot identify"),
        ("image", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "", "cannot identify"),
        ("pdf", media.fake_pdf(), PDFTOPPM, ""),
        ("pdf", media.jpeg(), PDFTOPPM, "not a PDF"),
        ("video", media.random_bytes(), FFMPEG, ""),
    ],
    ids=[
        "truncated-png",
        "bomb-400mp",
        "header-30000x30000",
        "header-64mp",
        "random-bytes",
        "eps-never-decoded",
        "not-a-pdf",
        "jpeg-as-pdf",
        "random-video",
    ],
)
def test_bad_input_has_no_thumbnail_quickly(
    tmp_path: Path, kind: str, data: bytes, tool: str, why: str
) -> None:
    code, err, seconds = run_child(tmp_path, kind, data, 256, tool)
    assert code == NO_THUMBNAIL, err
    assert why.lower() in err.lower()
    assert not (tmp_path / "thumb.webp").exists()
    assert seconds < 5, f"{seconds:.1f} s for a file with no thumbnail"


def test_a_playlist_never_makes_ffmpeg_read_other_files(tmp_path: Path) -> None:
    # Without the demuxer allow-list, ffmpeg follows an HLS playlist to any file the server
    # can read and renders it: a way to see other users' videos (or worse) as thumbnails.
    other = tmp_path / "someone-elses.mp4"
    other.write_bytes(media.mp4())
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{other}\n#EXT-X-ENDLIST\n"
    code, err, _ = run_child(tmp_path, "video", playlist.encode(), 64, FFMPEG)
    assert code == NO_THUMBNAIL, err
    assert "whitelist" in err
    assert not (tmp_path / "thumb.webp").exists()


def test_the_pixel_limit_is_refused_from_the_header_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (render_image sets Pillow's limit for its process: put this one's back afterwards.)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    # 100 x 100 is over a limit of 5,000 pixels: refused, however small the file.
    src = tmp_path / "small.png"
    src.write_bytes(media.png(100, 100))
    with pytest.raises(NoThumbnail, match="pixels"):
        render_image(src, tmp_path / "out.webp", 64, 5_000)
    render_image(src, tmp_path / "out.webp", 64, 10_000)  # at the limit: fine
    assert media.size_of((tmp_path / "out.webp").read_bytes()) == (64, 64)


def test_the_memory_cap_stops_a_bomb_even_past_the_pixel_limit(tmp_path: Path) -> None:
    # With the pixel limit lifted, the address-space cap is what stops the 400 MP decode.
    src, dst = tmp_path / "bomb.png", tmp_path / "thumb.webp"
    src.write_bytes(media.decompression_bomb())
    args = ["image", str(src), str(dst), "256", str(10**9), str(256 * 1024**2), "10"]
    done = subprocess.run(
        [sys.executable, "-I", render.__file__, *args], capture_output=True, timeout=60
    )
    assert done.returncode != 0
    assert not dst.exists()


def test_usage_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-I", render.__file__], capture_output=True, timeout=60)
    assert done.returncode == 2
