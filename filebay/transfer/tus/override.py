"""``X-HTTP-Method-Override`` on the tus endpoint (tus 1.0.0 core): a client behind a proxy
that drops PATCH or DELETE sends POST with the header, and the header is the method."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

TUS_PATH = "/api/tus/"
HEADER = b"x-http-method-override"
OVERRIDABLE = {"PATCH", "DELETE"}


class TusMethodOverride:
    """Rewrites the method before routing, so every check (the session's CSRF token
    included) sees the method the client meant."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith(TUS_PATH)
        ):
            for key, value in scope["headers"]:
                if key == HEADER:
                    method = value.decode("latin-1").strip().upper()
                    if method in OVERRIDABLE:
                        # In place: the access log and metrics outside see it too.
                        scope["method"] = method
                    break
        await self.app(scope, receive, send)
