"""Renders one thumbnail, in a child process of its own (``filebay.previews.thumbnails``
starts it and kills it when it overruns).

Run as a script (``python -I render.py KIND SRC DST SIZE MAX_PIXELS MEMORY_BYTES SECONDS
[TOOL]``), it caps its own address space, CPU time and file size before it reads a byte of
``SRC``, so a hostile file costs at most that, and the caps reach ``pdftoppm`` and
``ffmpeg``, which inherit them. It imports nothing of filebay: the child starts fast and
untrusted bytes never meet the server's code or secrets.

Exit status: 0 with a WebP at ``DST``; ``NO_THUMBNAIL`` for a file that has none (not a
picture, broken, too many pixels); anything else is a crash (also no thumbnail).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps

NO_THUMBNAIL = 3
#: Decoded by Pillow: the common raster formats only. EPS (Ghostscript), PSD, the
#: scientific and legacy formats stay out: rarely wanted, more code for hostile bytes to reach.
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF")
#: Demuxers ffmpeg may use on a video: never playlists (hls, concat), which read other files.
VIDEO_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,ogg,mpeg"
WEBP_QUALITY = 80
#: Files the child may write (the tools' intermediate PNG, the WebP).
MAX_OUTPUT_BYTES = 64 * 1024 * 1024


class NoThumbnail(Exception):
    """The file has no thumbnail (not a picture, broken, too large)."""


def limit_resources(memory_bytes: int, seconds: float) -> None:
    """Cap this process (and what it starts) before it touches untrusted bytes."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    cpu = max(1, int(seconds) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def render_image(src: Path, dst: Path, size: int, max_pixels: int) -> None:
    """A WebP of at most ``size`` by ``size`` pixels of the picture at ``src``; ``NoThumbnail`` when
    it is not one of ``IMAGE_FORMATS``, is broken, or has more than ``max_pixels`` pixels."""
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make the warning an error.
    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(src, formats=IMAGE_FORMATS) as image:
                # The header alone says how big the picture is: refused before decoding.
                if image.width * image.height > max_pixels:
                    raise NoThumbnail(f"{image.width}x{image.height} is over {max_pixels} pixels")
                # JPEG decodes at 1/2, 1/4 or 1/8 scale when that is still big enough.
                image.draft("RGB", (size, size))
                image.load()
                _save_webp(image, dst, size)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise NoThumbnail(str(exc)) from exc
        except (Image.DecompressionBombWarning, EOFError, IndexError, TypeError) as exc:
            # Plugins raise these on malformed headers and truncated frames.
            raise NoThumbnail(str(exc)) from exc


def _save_webp(image: Image.Image, dst: Path, size: int) -> None:
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    image.save(dst, "WEBP", quality=WEBP_QUALITY)


def render_pdf(src: Path, dst: Path, size: int, max_pixels: int, tool: str, seconds: float) -> None:
    """The first page of a PDF, rasterised by ``pdftoppm`` at the thumbnail's size."""
    with open(src, "rb") as file:
        if file.read(1024).find(b"%PDF-") < 0:
            raise NoThumbnail("not a PDF")
    with tempfile.TemporaryDirectory(dir=dst.parent) as work:
        out = Path(work) / "page"
        command = [tool, "-q", "-f", "1", "-l", "1", "-singlefile", "-png"]
        _run([*command, "-scale-to", str(size), str(src), str(out)], seconds)
        render_image(out.with_suffix(".png"), dst, size, max_pixels)


def render_video(
    src: Path, dst: Path, size: int, max_pixels: int, tool: str, seconds: float
) -> None:
    """The first frame of a video, decoded by ``ffmpeg`` (one thread, known demuxers only)."""
    with tempfile.TemporaryDirectory(dir=dst.parent) as work:
        out = Path(work) / "frame.png"
        scale = f"scale=w={size}:h={size}:force_original_aspect_ratio=decrease"
        command = [
            tool, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
            "-protocol_whitelist", "file", "-format_whitelist", VIDEO_FORMATS,
            "-max_pixels", str(max_pixels), "-i", f"file:{src}",
            "-map", "0:v:0", "-frames:v", "1", "-an", "-sn", "-dn", "-vf", scale,
            "-f", "image2", "-c:v", "png", f"file:{out}",
        ]  # fmt: skip
        _run(command, seconds)
        render_image(out, dst, size, max_pixels)


def _run(command: list[str], seconds: float) -> None:
    try:
        subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=seconds,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        raise NoThumbnail(exc.stderr.decode(errors="replace")[-500:]) from exc
    except subprocess.TimeoutExpired as exc:
        raise NoThumbnail(f"{Path(command[0]).name} took over {seconds} s") from exc


def main(argv: list[str]) -> int:
    if len(argv) not in (7, 8):
        print(__doc__, file=sys.stderr)
        return 2
    kind, src, dst = argv[0], Path(argv[1]), Path(argv[2])
    size, max_pixels, memory, seconds = int(argv[3]), int(argv[4]), int(argv[5]), float(argv[6])
    tool = argv[7] if len(argv) == 8 else ""
    limit_resources(memory, seconds)
    try:
        if kind == "image":
            render_image(src, dst, size, max_pixels)
        elif kind == "pdf":
            render_pdf(src, dst, size, max_pixels, tool, seconds)
        elif kind == "video":
            render_video(src, dst, size, max_pixels, tool, seconds)
        else:
            raise NoThumbnail(f"unknown kind {kind!r}")
    except NoThumbnail as exc:
        print(f"no thumbnail: {exc}", file=sys.stderr)
        return NO_THUMBNAIL
    except MemoryError:
        print("no thumbnail: out of memory", file=sys.stderr)
        return NO_THUMBNAIL
    return 0


if __name__ == "__main__":
    # Nothing the child needs from its parent's environment but PATH.
    os.environ.pop("PYTHONPATH", None)
    sys.exit(main(sys.argv[1:]))
