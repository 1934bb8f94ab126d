"""The best-case Python peer: the least a FastAPI app can do to take and serve files.

    FILEBAY_PEER_DIR=/tmp/x uvicorn peer_minimal:app --app-dir bench

``PUT /upload/{name}`` streams ``request.stream()`` into a file (no auth, no database, no
hash, no fsync); ``GET /files/{name}`` is a ``FileResponse``. filebay does all of that plus
its work on purpose (auth, a catalog row, SHA-256, fsyncs): bench/peers.py compares the CPU
each spends per operation in the same run.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse

ROOT = Path(os.environ.get("FILEBAY_PEER_DIR", "/tmp/filebay-peer"))
ROOT.mkdir(parents=True, exist_ok=True)

app = FastAPI()


@app.put("/upload/{name}")
async def upload(name: str, request: Request) -> JSONResponse:
    size = 0
    with (ROOT / Path(name).name).open("wb") as fh:
        async for chunk in request.stream():
            fh.write(chunk)
            size += len(chunk)
    return JSONResponse({"name": name, "size": size}, status_code=201)


@app.get("/files/{name}")
async def download(name: str) -> FileResponse:
    return FileResponse(ROOT / Path(name).name)
