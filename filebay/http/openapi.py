"""What the OpenAPI schema says about answers besides the happy one.

Every error is JSON ``{"detail": "...", "code": "..."}`` (``filebay.http.errors``); the routes
declare which statuses they may answer with ``responses=errors(...)``, so the schema tells
clients (and schemathesis) the truth. Request validation answers 400 for query, path and
header parameters and 422 for a JSON or form body, both with this model (FastAPI's own
``HTTPValidationError`` shape is never sent)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, for people.")
    code: str = Field(description="A stable code, for programs (e.g. not_found, too_large).")


_WHY = {
    400: "Bad request: a query, path or header parameter, or a multipart body, is malformed.",
    401: "Not authenticated (WWW-Authenticate: Bearer).",
    403: "Not allowed: admins only, or a cookie request without its X-CSRF-Token.",
    404: "Not found, or not yours.",
    408: "The body arrived too slowly (idle, or under the minimum upload rate).",
    409: "Conflict with the current state.",
    410: "The resumable upload expired.",
    412: "tus: Tus-Resumable 1.0.0 required; content: If-Match or If-Unmodified-Since failed.",
    413: "Too large: the upload limit, the owner's quota, or the JSON body limit.",
    415: "Content-Type must be application/offset+octet-stream.",
    416: "Range not satisfiable (Content-Range: bytes */<size>).",
    422: "The JSON or form body, where the route takes one, does not validate.",
    423: "Another request is writing this upload.",
    429: "Too many failed attempts; see Retry-After.",
    460: "Upload-Checksum does not match the data.",
    503: "The catalog or the blob store is unavailable; see Retry-After.",
    507: "The blob store is full; nothing was stored.",
}

#: Any route that needs a user: no or bad credentials, a cookie write without CSRF, and the
#: catalog down (credentials are checked against it).
AUTHENTICATED = (401, 403, 503)
#: Routes with a JSON or form body: one that is not UTF-8 (400), too large, or invalid.
JSON_BODY = (400, 413, 422)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer with these error statuses.

    422 is always there: FastAPI would otherwise declare its own validation model for every
    route with a parameter, and that is not what filebay sends."""
    return {
        status: {"model": ErrorBody, "description": _WHY[status]}
        for status in sorted({*statuses, 422})
    }


#: Bytes of any type (file content).
BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def content_responses() -> dict[int | str, dict[str, Any]]:
    """A file's bytes: 200, 206, 304 and their errors."""
    return {
        200: {"description": "The bytes.", "content": BINARY},
        206: {"description": "One range of the bytes (Content-Range).", "content": BINARY},
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        **errors(400, 404, 412, 416, 503),
    }
