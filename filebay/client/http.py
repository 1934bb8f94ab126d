"""The client's HTTP plumbing: one configured ``httpx.Client`` and errors with exit codes."""

from __future__ import annotations

from typing import Any

import httpx

from filebay import __version__

USER_AGENT = f"filebay-cli/{__version__}"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAUTHORIZED = 3


class CliError(Exception):
    """A failure to report in one line (no traceback), with the process exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class NotLoggedIn(CliError):
    exit_code = EXIT_UNAUTHORIZED


class ApiError(CliError):
    """The server answered with an error status; ``detail`` is its ``{"detail": ...}``."""

    def __init__(self, status: int, detail: str, action: str = "") -> None:
        where = f"{action}: " if action else ""
        message = f"{where}{detail} (HTTP {status})"
        if status == 401:
            message += "; log in with `filebay login` or set FILEBAY_TOKEN"
        super().__init__(message, EXIT_UNAUTHORIZED if status == 401 else EXIT_FAILURE)
        self.status = status
        self.detail = detail


def error_detail(response: httpx.Response) -> str:
    """The server's explanation: ``detail`` of a JSON error (422 lists are joined), else text."""
    try:
        body: Any = response.json()
    except (ValueError, httpx.ResponseNotRead):
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
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
    raise ApiError(response.status_code, error_detail(response), action)


def json_of(response: httpx.Response, *keys: str) -> dict[str, Any]:
    """The JSON object of a successful answer, which must hold ``keys``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(key not in body for key in keys):
        raise CliError(
            f"unexpected answer to {response.request.method} {response.request.url.path} "
            f"(HTTP {response.status_code}): is this a filebay server?"
        )
    return body


def network_error(exc: httpx.HTTPError, server: str) -> CliError:
    """A transport failure as one line that names the server."""
    reason = str(exc) or type(exc).__name__
    return CliError(f"cannot reach {server}: {reason}")


def open_client(
    server: str,
    token: str | None,
    *,
    transport: httpx.BaseTransport | None = None,
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
    )


def same_origin(url: str | httpx.URL, server: str | httpx.URL) -> bool:
    """Whether ``url`` is on the server's scheme, host and port (where the token may go)."""
    a, b = httpx.URL(url), httpx.URL(server)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)
