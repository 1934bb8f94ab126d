"""The current request's id, carried from service to service as ``X-Request-ID``."""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
_VALID = re.compile(r"[A-Za-z0-9._-]{8,64}")

request_id: ContextVar[str | None] = ContextVar("filebay_request_id", default=None)


def accept_or_new(incoming: str | None) -> str:
    """Keep a caller's well-formed id (so one id follows a request across services)."""
    if incoming and _VALID.fullmatch(incoming):
        return incoming
    # Not a secret, only a label: no need for the kernel's CSPRNG (a syscall per request).
    return f"{random.getrandbits(64):016x}"
