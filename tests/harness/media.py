"""Pictures, PDFs and videos for the thumbnail tests: good ones, and the hostile and broken
ones a thumbnailer meets (made here, byte by byte, so each test says what it feeds in)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

from PIL import Image


def jpeg(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def png(width: int = 300, height: int = 200, *, alpha: bool = False) -> bytes:
    out = io.BytesIO()
    mode, colour = ("RGBA", (0, 0, 255, 128)) if alpha else ("RGB", (0, 120, 0))
    Image.new(mode, (width, height), colour).save(out, "PNG")
    return out.getvalue()


def truncated_png() -> bytes:
    """A real PNG cut in the middle of its image data."""
    image = Image.effect_noise((400, 400), 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    whole = out.getvalue()
    return whole[: len(whole) // 2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header says ``width`` x ``height`` (8-bit greyscale) over ``idat``."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat or zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def decompression_bomb(side: int = 20_000) -> bytes:
    """A genuine PNG bomb: ``side`` x ``side`` 1-bit black pixels (400 megapixels by default,
    over a gigabyte decoded) in a few tens of kilobytes."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def random_bytes(size: int = 8192) -> bytes:
    return os.urandom(size)


def pdf(width: int = 200, height: int = 300) -> bytes:
    """A one-page PDF (a green page)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 200, 0)).save(out, "PDF")
    return out.getvalue()


def fake_pdf() -> bytes:
    """Named .pdf, typed application/pdf, and not a PDF at all."""
    return b"%PDF-1.7\nthis is not really a PDF\n" + os.urandom(512)


def mp4(width: int = 320, height: int = 240) -> bytes:
    """A one-second test-pattern video, made by ffmpeg (which the thumbnail tests need)."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "clip.mp4"
        subprocess.run(
            [
                "ffmpeg", "-v", "error", "-f", "lavfi",
                "-i", f"testsrc=size={width}x{height}:rate=10", "-t", "1",
                "-pix_fmt", "yuv420p", str(out),
            ],
            check=True,
            timeout=60,
        )  # fmt: skip
        return out.read_bytes()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def format_of(data: bytes) -> str | None:
    with Image.open(io.BytesIO(data)) as image:
        return image.format
