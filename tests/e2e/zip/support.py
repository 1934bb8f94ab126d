"""What the zip tests check on every archive: Python's zipfile, ``unzip -t`` and ``7z t``
read it whole, and a range of it is the same slice of the whole."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import httpx


def read_zip(body: bytes) -> dict[str, bytes]:
    """Every entry (folders end in ``/``) and its bytes; zipfile checks every CRC."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def other_readers_accept(body: bytes, tmp: Path) -> None:
    """``unzip -t`` and ``7z t`` test the archive (both are installed by run.py / .ci/run)."""
    path = tmp / "archive.zip"
    path.write_bytes(body)
    for command in (["unzip", "-t", str(path)], ["7z", "t", str(path)]):
        assert shutil.which(command[0]), f"{command[0]} is not installed"
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def ranges_match(http: httpx.Client, url: str, headers: dict[str, str], whole: bytes) -> None:
    """Ranges anywhere (start, middle, across entries, the tail, a suffix) give the same
    bytes as the whole body, with the right Content-Range."""
    size = len(whole)
    for first, last in [(0, 0), (1, 100), (size // 3, size // 2), (size - 30, size - 1)]:
        response = http.get(url, headers={**headers, "Range": f"bytes={first}-{last}"})
        assert response.status_code == 206, response.text
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.content == whole[first : last + 1]
    suffix = http.get(url, headers={**headers, "Range": "bytes=-22"})
    assert (suffix.status_code, suffix.content) == (206, whole[-22:])
    past = http.get(url, headers={**headers, "Range": f"bytes={size}-"})
    assert past.status_code == 416
