"""Security headers on every response (a pure ASGI middleware: streaming stays untouched)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def page_csp(origins: Iterable[str] = ()) -> str:
    """The pages' policy. No inline script or style anywhere in our pages, so it can be
    strict; ``origins`` are the other services the UI calls and shows content of (split
    shape). Scripts only ever come from the page's own origin."""
    extra = "".join(f" {origin}" for origin in origins)
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'{extra}; "
        f"img-src 'self' data: blob:{extra}; media-src 'self' blob:{extra}; object-src 'none'; "
        f"frame-src 'self'{extra}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


PAGE_CSP = page_csp()
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
PAGES = {
    "content-security-policy": PAGE_CSP,
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, origins: Iterable[str] = ()) -> None:
        self.app = app
        self.pages = {**PAGES, "content-security-policy": page_csp(origins)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in ALWAYS.items():
                    headers.setdefault(key, value)
                if headers.get("content-type", "").startswith("text/html"):
                    for key, value in self.pages.items():
                        headers.setdefault(key, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
