"""Helpers for the browser tests: Chromium, watching pages, users, files to upload."""

from __future__ import annotations

import hashlib
import re
import secrets
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, expect

from tests.harness.http import ADMIN_PASSWORD, PASSWORD, bearer, client
from tests.harness.portal import Portal

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, quiet: no sandbox (root in CI), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
MIB = 1024 * 1024
BIG_SIZE = 40 * MIB  # above the main page's tus threshold (16 MiB)
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"
# The suites' passwords are the harness's (its Portal logs in with them).
__all__ = ["ADMIN_PASSWORD", "PASSWORD"]


@dataclass
class Watch:
    """What the pages of a browser context did wrong: console errors, uncaught exceptions,
    requests that left the machine. ``allow`` takes patterns of expected console errors."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._on_request)
        context.on("page", self._on_page)
        for page in context.pages:
            self._on_page(page)

    def _on_page(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname not in LOOPBACK:
            self.remote_requests.append(request.url)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def check(self) -> None:
        unexpected = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        assert not self.page_errors, f"uncaught errors in the page: {self.page_errors}"
        assert not unexpected, f"console errors: {unexpected}"
        assert not self.remote_requests, f"requests left the machine: {self.remote_requests}"


def login(page: Page, base: str, username: str, password: str, *, landing: str = "") -> None:
    """Log in through the login page; ends on the main page (or ``landing``)."""
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(landing or f"{base}/")
    expect(page.locator("#current-user")).to_have_text(username)
    # The page's modules run before "load": only then do its inputs and buttons react (on a
    # busy machine a test could otherwise act before the listeners exist).
    page.wait_for_load_state("load")


def add_user(portal: Portal, prefix: str, *, exact: bool = False, **extra: Any) -> str:
    """A new user with PASSWORD (named ``prefix`` and a random suffix, or ``prefix`` itself
    when ``exact``); returns the username."""
    username = prefix if exact else f"{prefix}{secrets.token_hex(3)}"
    portal.add_user(username, PASSWORD, **extra)
    return username


def put_file(portal: Portal, token: str, name: str, data: bytes) -> dict[str, Any]:
    """``data`` uploaded as ``name`` (a path makes folders) by the user of ``token``."""
    return portal.put_file(bearer(token), name, data)


def list_files(portal: Portal, token: str, **params: Any) -> list[dict[str, Any]]:
    with client() as http:
        r = http.get(f"{portal.metadata}/api/files", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def png(width: int = 96, height: int = 64) -> bytes:
    """A real PNG (a colour gradient), so the preview has pixels to show."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write_files(folder: Path, files: dict[str, bytes]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def random_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; returns its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            block = secrets.token_bytes(min(left, 4 * MIB))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    return digest.hexdigest()


def drop_files(page: Page, target: str, files: Iterable[tuple[str, str, str]]) -> bool:
    """Drop (name, type, text) files on ``target`` with synthetic drag events, as a person
    dragging them from the desktop would; returns whether the page showed its drop overlay."""
    return bool(
        page.evaluate(
            """([selector, files]) => {
                const data = new DataTransfer();
                for (const [name, type, text] of files) {
                    data.items.add(new File([text], name, { type }));
                }
                const target = document.querySelector(selector);
                const fire = (type) => target.dispatchEvent(
                    new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
                fire("dragenter");
                fire("dragover");
                const shown = document.body.classList.contains("is-dragging")
                    && getComputedStyle(document.getElementById("drop-overlay")).display !== "none";
                fire("drop");
                return shown && !document.body.classList.contains("is-dragging");
            }""",
            [target, list(files)],
        )
    )


AXE = Path(__file__).resolve().parent / "axe" / "axe.min.js"
# WCAG 2.2 AA, as the issue asks: every A and AA rule up to 2.2.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.2 AA violations on the page as it is now, one line each (rule,
    impact, the first elements). The context needs ``bypass_csp=True``: axe is injected
    as an inline script, which our CSP refuses otherwise."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3)
                    .map((n) => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }""",
        AXE_TAGS,
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + " | ".join(v["nodes"]) for v in results]
