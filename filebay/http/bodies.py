"""JSON bodies read by a route itself, under a cap of its own: for the few requests whose
bodies may pass the edge's JSON limit (a zip selection of 100,000 ids is ~3.5 MB). Such a
route declares ``OwnBody`` so the edge leaves its body alone, and takes no body parameter
so that FastAPI does not read it before the route's dependencies (authentication) run."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from filebay.errors import BodyTooLarge

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, model: type[M], cap: int) -> M:
    """The body as ``model``: 413 past ``cap`` bytes (read no further), 422 when invalid."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise BodyTooLarge()
    try:
        return model.model_validate_json(bytes(body))
    except ValidationError as exc:
        # Located in the body, as FastAPI's own body errors are (a 422, not a 400).
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None
