"""What the client raises: one base class with a process exit code, so the CLI reports any
of them as one line, and a program using the SDK catches ``ClientError`` (or ``ApiError``
and looks at the server's ``code``)."""

from __future__ import annotations

from typing import Any

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAUTHORIZED = 3
#: 128 + SIGINT, as a shell reports a command stopped by Ctrl-C.
EXIT_INTERRUPTED = 130


class ClientError(Exception):
    """A failure to report in one line (no traceback), with the process exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ClientError):
    """The caller asked for something that cannot mean anything (a bad URL, rate, path)."""

    exit_code = EXIT_USAGE


class NotLoggedIn(ClientError):
    """No token to send, and the server wants one."""

    exit_code = EXIT_UNAUTHORIZED


class ApiError(ClientError):
    """The server answered with an error status: its ``detail``, its stable ``code``
    (``not_found``, ``name_taken``, ``quota_exceeded``, …) and the whole JSON ``body``."""

    def __init__(
        self,
        status: int,
        detail: str,
        action: str = "",
        *,
        code: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        where = f"{action}: " if action else ""
        message = f"{where}{detail} (HTTP {status})"
        if status == 401:
            message += "; log in with `filebay login` or set FILEBAY_TOKEN"
        super().__init__(message, EXIT_UNAUTHORIZED if status == 401 else EXIT_FAILURE)
        self.status = status
        self.detail = detail
        self.code = code
        self.body = body or {}
