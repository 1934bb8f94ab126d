"""Who is on the other end of a request: the address (the real one behind the proxies of
FILEBAY_TRUST_PROXY, which uvicorn resolves) and the user agent."""

from __future__ import annotations

from fastapi import Request

from filebay.auth.accounts import ClientInfo


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def client_info(request: Request) -> ClientInfo:
    """Where a session is started or an audited action made from."""
    return ClientInfo(client_address(request), request.headers.get("user-agent"))
