"""Health, API docs and the server-rendered pages (with their Content-Security-Policy)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.harness.servers import Deployment

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
EVENT_ATTR = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_healthz_and_readyz_answer_200_on_every_process(
    deployment: Deployment, http: httpx.Client
) -> None:
    for proc in deployment.processes.values():
        health = http.get(f"{proc.url}/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        ready = http.get(f"{proc.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
        assert set(ready.json()["checks"].values()) == {"ok"}


def test_openapi_describes_every_file_route(deployment: Deployment, http: httpx.Client) -> None:
    operations: set[tuple[str, str]] = set()
    for proc in deployment.processes.values():
        r = http.get(f"{proc.url}/openapi.json")
        assert r.status_code == 200
        spec = r.json()
        assert spec["openapi"].startswith("3.")
        for path, methods in spec["paths"].items():
            operations |= {(method, path) for method in methods}
    assert {
        ("post", "/api/files"),
        ("put", "/api/upload/{name}"),
        ("get", "/api/files"),
        ("get", "/api/files/{file_id}"),
        ("patch", "/api/files/{file_id}"),
        ("delete", "/api/files/{file_id}"),
        ("get", "/api/files/{file_id}/content"),
        ("get", "/healthz"),
        ("get", "/readyz"),
    } <= operations
    assert not any(path.startswith("/internal") for _method, path in operations)


def test_docs_page_answers_html(deployment: Deployment, http: httpx.Client) -> None:
    for proc in deployment.processes.values():
        r = http.get(f"{proc.url}/docs")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "/openapi.json" in r.text


def test_docs_page_scripts_are_allowed_by_its_csp(
    deployment: Deployment, http: httpx.Client
) -> None:
    """Swagger UI must work in a browser under the page CSP: no inline script, no CDN."""
    for proc in deployment.processes.values():
        r = http.get(f"{proc.url}/docs")
        csp = r.headers["content-security-policy"]
        own = urlsplit(proc.url).netloc
        scripts = SCRIPT_TAG.findall(r.text)
        assert scripts
        for attrs, body in scripts:
            src = re.search(r'src="([^"]+)"', attrs)
            assert src is not None, f"inline <script>: {body[:80]!r}"
            assert body.strip() == ""
            host = urlsplit(src.group(1)).netloc
            assert host in ("", own) or host in csp, src.group(1)


@pytest.mark.parametrize("page", ["/", "/uploads"])
def test_pages_render_html_under_a_strict_csp_without_inline_script(
    deployment: Deployment, http: httpx.Client, page: str
) -> None:
    base = deployment.upload if page == "/" else deployment.download
    r = http.get(f"{base}{page}", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    # 'self', or the other services' origins in the split shape; never inline, eval or '*'.
    sources = directives["script-src"].split()
    assert "'self'" in sources
    assert all(src == "'self'" or re.fullmatch(r"https?://[^/*]+", src) for src in sources)
    assert directives["object-src"] == "'none'"
    assert "frame-ancestors" in directives
    assert r.headers["x-content-type-options"] == "nosniff"
    scripts = SCRIPT_TAG.findall(r.text)
    assert scripts, "the page loads its script from /static"
    for attrs, body in scripts:
        assert re.search(r"\bsrc=", attrs), f"inline <script>: {body[:80]!r}"
        assert body.strip() == ""
    assert not EVENT_ATTR.search(r.text), "inline event handler attribute"
    assert "<style" not in r.text.lower()
    assert " style=" not in r.text.lower()


def test_pages_escape_file_names(deployment: Deployment, http: httpx.Client) -> None:
    tag = secrets.token_hex(4)
    name = f'<img src=x onerror="alert(1)">{tag}<svg onload=alert(2)>.txt'
    r = http.put(f"{deployment.upload}/api/upload/{quote(name, safe='')}", content=b"x")
    assert r.status_code == 201
    stored = r.json()["name"]
    assert stored == name
    for base, page in ((deployment.upload, "/"), (deployment.download, "/uploads")):
        html = http.get(f"{base}{page}", params={"q": tag}).text
        assert tag in html
        assert "<img src=x" not in html
        assert "<svg onload" not in html
        assert "&lt;" in html


def test_pages_take_search_sort_and_cursor(deployment: Deployment, http: httpx.Client) -> None:
    tag = secrets.token_hex(4)
    for i in range(3):
        assert http.put(f"{deployment.upload}/api/upload/{tag}-{i}.txt", content=b"x").is_success
    r = http.get(f"{deployment.download}/uploads", params={"q": tag, "sort": "name", "limit": 2})
    assert r.status_code == 200
    assert f"{tag}-0.txt" in r.text and f"{tag}-1.txt" in r.text and f"{tag}-2.txt" not in r.text
    assert "cursor=" in r.text
    bad = http.get(f"{deployment.download}/uploads", params={"sort": "nope"})
    assert bad.status_code == 400
    empty = http.get(f"{deployment.upload}/", params={"q": f"none-{tag}"})
    assert empty.status_code == 200
    assert "No file matches" in empty.text


def test_static_assets_are_served(deployment: Deployment, http: httpx.Client) -> None:
    for path in ("/static/js/upload.js", "/static/css/filebay.css"):
        r = http.get(f"{deployment.upload}{path}")
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
