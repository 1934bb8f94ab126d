"""The client's HTTP plumbing: one configured ``httpx.Client``, and answers checked into
records or ``ApiError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from filebay import __version__
from filebay.client.errors import ApiError, ClientError

USER_AGENT = f"filebay-cli/{__version__}"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except (ValueError, httpx.ResponseNotRead):
        return {}
    return body if isinstance(body, dict) else {}


def error_detail(response: httpx.Response) -> str:
    """The server's explanation: ``detail`` of a JSON error (422 lists are joined), else text."""
    detail = _error_body(response).get("detail")
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    try:
        text = response.text.strip()
    except httpx.ResponseNotRead:
        text = ""
    return text[:200] if text else response.reason_phrase or "error"


def check(response: httpx.Response, *ok: int, action: str = "") -> httpx.Response:
    """``response`` when its status is one of ``ok`` (default: any 2xx), else ``ApiError``."""
    if (response.status_code in ok) if ok else response.is_success:
        return response
    if not response.is_stream_consumed:
        response.read()
    body = _error_body(response)
    code = body.get("code")
    raise ApiError(
        response.status_code,
        error_detail(response),
        action,
        code=code if isinstance(code, str) else None,
        body=body,
    )


def json_of(response: httpx.Response, *keys: str) -> dict[str, Any]:
    """The JSON object of a successful answer, which must hold ``keys``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(key not in body for key in keys):
        raise ClientError(
            f"unexpected answer to {response.request.method} {response.request.url.path} "
            f"(HTTP {response.status_code}): is this a filebay server?"
        )
    return body


def network_error(exc: httpx.HTTPError, server: str) -> ClientError:
    """A transport failure as one line that names the server."""
    reason = str(exc) or type(exc).__name__
    return ClientError(f"cannot reach {server}: {reason}")


def open_client(
    server: str,
    token: str | None,
    *,
    transport: httpx.BaseTransport | None = None,
    on_response: Callable[[httpx.Response], None] | None = None,
) -> httpx.Client:
    """A client for ``server`` that sends ``Authorization: Bearer <token>`` on every request.

    Redirects are not followed: a redirect would carry the token to wherever it points."""
    headers = {"User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(
        base_url=server,
        headers=headers,
        timeout=TIMEOUT,
        follow_redirects=False,
        transport=transport,
        event_hooks={"response": [on_response]} if on_response else None,
    )


def same_origin(url: str | httpx.URL, server: str | httpx.URL) -> bool:
    """Whether ``url`` is on the server's scheme, host and port (where the token may go)."""
    a, b = httpx.URL(url), httpx.URL(server)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)
