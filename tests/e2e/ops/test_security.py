"""Security regressions, in both shapes: stored XSS through uploaded HTML/SVG, path traversal
through every field that carries a name, JWT algorithm confusion, CSRF on every state-changing
route, request ids from service to service, no secret in any log line, and /metrics."""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from markupsafe import escape

from tests.e2e.auth import forge
from tests.e2e.auth.support import Portal
from tests.e2e.ops.support import connect, json_lines, read_status, tree
from tests.harness.http import ADMIN, ADMIN_PASSWORD, PASSWORD, bearer
from tests.harness.servers import logs_since
from tests.harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
SESSION_COOKIE, CSRF_COOKIE = "filebay_session", "filebay_csrf"


@pytest.fixture(params=["single", "split"])
def portal(request: pytest.FixtureRequest) -> Portal:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def user(portal: Portal) -> Iterator[tuple[str, str]]:
    """A fresh user and their bearer JWT."""
    yield portal.new_user("sec")


def _multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """(filename, content type, data) parts named ``file``, built by hand: no client
    library gets to clean the names on the way."""
    boundary = secrets.token_hex(12)
    out = b""
    for filename, content_type, data in parts:
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# --- stored XSS -------------------------------------------------------------------------------

SCRIPT_HTML = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"
SCRIPT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
EVIL_NAME = "<img src=x onerror=alert(1)>\"'.html"
DISPOSITION = re.compile(
    r"attachment; filename=\"[^\"\\/\r\n]*\"; filename\*=UTF-8''[\w%!#$&+.^`|~-]*"
)
SCRIPTABLE = ("text/html", "image/svg", "application/xhtml", "text/xml", "application/xml")


def _upload_hostile_files(portal: Portal, token: str) -> dict[str, dict[str, Any]]:
    http, headers = portal.http, bearer(token)
    records = {}
    for key, name, content_type, data in (
        ("html", EVIL_NAME, "text/html", SCRIPT_HTML),
        ("upper", "shout.html", "TEXT/HTML; charset=utf-8", SCRIPT_HTML),
        ("txt-as-html", "notes.txt", "text/html", SCRIPT_HTML),
        ("svg-guessed", "drawing.svg", None, SCRIPT_SVG),
        ("xhtml", "page.xhtml", "application/xhtml+xml", SCRIPT_HTML),
        ("xml", "data.xml", "text/xml", SCRIPT_SVG),
    ):
        extra = {"Content-Type": content_type} if content_type else {}
        r = http.put(
            f"{portal.upload}/api/upload/{name}", content=data, headers={**headers, **extra}
        )
        assert r.status_code == 201, r.text
        records[key] = r.json()
    body, form_type = _multipart(
        [("x\\\"><svg onload=alert(2)>.svg", "image/svg+xml", SCRIPT_SVG),
         ("<b>bold</b>.html", "text/html", SCRIPT_HTML)]
    )  # fmt: skip
    r = http.post(
        f"{portal.upload}/api/files", content=body, headers={**headers, "Content-Type": form_type}
    )
    assert r.status_code == 201, r.text
    records["svg-multipart"], records["html-multipart"] = r.json()["files"]
    return records


def _assert_cannot_run(response: httpx.Response, what: str) -> None:
    """Bytes that could run script are never served inline, never without the sandbox."""
    assert response.status_code in (200, 206), (what, response.status_code)
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", what
    assert "sandbox" in headers["content-security-policy"], what
    disposition = headers["content-disposition"]
    # attachment, with a name that cannot break out of its quotes or carry a path
    assert DISPOSITION.fullmatch(disposition), (what, disposition)


def test_uploaded_html_and_svg_never_run_in_the_portals_origin(
    portal: Portal, user: tuple[str, str]
) -> None:
    _, token = user
    http, headers = portal.http, bearer(token)
    records = _upload_hostile_files(portal, token)
    for key, record in records.items():
        assert record["content_type"].lower().startswith(SCRIPTABLE), (key, record)
        url = f"{portal.download}/api/files/{record['id']}/content"
        share = http.post(
            f"{portal.metadata}/api/files/{record['id']}/shares", json={}, headers=headers
        )
        assert share.status_code == 201
        link = f"{portal.download}/s/{share.json()['token']}/content"
        answers = {
            "content": http.get(url, headers=headers),
            "inline": http.get(url, params={"inline": "1"}, headers=headers),
            "head inline": http.head(url, params={"inline": "true"}, headers=headers),
            "range inline": http.get(
                url, params={"inline": "1"}, headers={**headers, "Range": "bytes=0-10"}
            ),
            "share": http.get(link),
            "share inline": http.get(link, params={"inline": "1"}),
        }
        for how, response in answers.items():
            _assert_cannot_run(response, f"{key} {how}")
        # The share page shows the name escaped and no preview of script-capable bytes.
        page = http.get(f"{portal.download}/s/{share.json()['token']}")
        assert page.status_code == 200
        assert "content?inline" not in page.text, key
        _assert_escaped(page, record["name"])
    # Every page that lists them escapes the names.
    for url in (f"{portal.upload}/", f"{portal.download}/uploads"):
        page = http.get(url, params={"q": "<"}, headers={**headers, "Accept": "text/html"})
        assert page.status_code == 200, url
        for key in ("html", "svg-multipart", "html-multipart"):
            _assert_escaped(page, records[key]["name"])


def _assert_escaped(page: httpx.Response, name: str) -> None:
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert page.headers["x-content-type-options"] == "nosniff"
    if "<" in name:
        assert name not in page.text, f"{name!r} appears unescaped"
        assert str(escape(name)) in page.text, f"{name!r} is not on the page"
    assert "onerror=alert" not in page.text.replace("onerror=alert(1)&gt;", "")
    assert "<svg onload" not in page.text and "<b>bold</b>" not in page.text


# --- path traversal ---------------------------------------------------------------------------


def _raw(base: str, request: bytes) -> int | None:
    sock = connect(base)
    try:
        sock.sendall(request)
        return read_status(sock)
    finally:
        sock.close()


def _marker_files(marker: str, roots: list[Path]) -> list[Path]:
    found = []
    for root in roots:
        if root.is_dir():
            found += [p for p in root.iterdir() if marker in p.name]
    return found


def test_no_name_field_writes_outside_blobs_and_staging(
    portal: Portal, user: tuple[str, str]
) -> None:
    _, token = user
    http, headers = portal.http, bearer(token)
    data_dir = portal.data_dir.resolve()
    marker = f"pwn{secrets.token_hex(4)}"
    escape = "../" * 12 + f"tmp/{marker}"
    names = [
        escape,
        "..\\" * 12 + marker,
        f"/etc/{marker}",
        f"..%2F..%2F{marker}",
        f"{marker}/../../../../x",
        f"....//....//{marker}",
        f"{marker}\x00.txt",
    ]
    before = tree(data_dir)

    # multipart file names
    body, form_type = _multipart([(n.replace("\x00", ""), "text/plain", b"m") for n in names])
    r = http.post(
        f"{portal.upload}/api/files", content=body, headers={**headers, "Content-Type": form_type}
    )
    assert r.status_code == 201, r.text
    stored = [f["name"] for f in r.json()["files"]]
    # PUT paths, sent raw (a client library would normalise the dots away)
    raw_paths = (
        f"/api/upload/{escape}",
        f"/api/upload/..%2F..%2F..%2F{marker}",
        f"/api/upload/%2e%2e/%2e%2e/{marker}",
        f"/api/upload/..%5C..%5C{marker}",
    )
    for path in raw_paths:
        request = (
            f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Length: 1\r\nConnection: close\r\n\r\np"
        ).encode()
        assert _raw(portal.upload, request) in (201, 404), path
    # tus Upload-Metadata filename (and name)
    for key in ("filename", "name"):
        for name in (escape, f"..\\..\\{marker}"):
            meta = f"{key} {base64.b64encode(name.encode()).decode()}"
            tus_headers = {
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "1",
                "Upload-Metadata": meta,
                "Content-Type": "application/offset+octet-stream",
            }
            created = http.post(
                f"{portal.upload}/api/tus/", headers={**headers, **tus_headers}, content=b"t"
            )
            assert created.status_code == 201, created.text
    # rename: the victim alone in a folder of its own, so that no cleaned name is taken by
    # another entry there (a taken name is a 409 since DESIGN §8.1, and stores nothing)
    alone = http.post(
        f"{portal.metadata}/api/folders", json={"name": f"alone-{marker}"}, headers=headers
    )
    assert alone.status_code == 201, alone.text
    victim = http.put(
        f"{portal.upload}/api/upload/victim.txt?folder_id={alone.json()['id']}",
        content=b"v",
        headers=headers,
    )
    for name in names:
        r = http.patch(
            f"{portal.metadata}/api/files/{victim.json()['id']}",
            json={"name": name},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        stored.append(r.json()["name"])

    listed = http.get(
        f"{portal.metadata}/api/files", params={"limit": "1000"}, headers=headers
    ).json()["items"]
    for name in stored + [item["name"] for item in listed]:
        assert "/" not in name and "\\" not in name and name not in (".", ".."), name
        assert "\x00" not in name
    created = tree(data_dir) - before
    outside = [
        p for p in created if p.parts[0] not in ("blobs", "staging", "tmp") or ".." in p.parts
    ]
    assert not outside, outside
    ancestors = [data_dir, *data_dir.parents, Path("/tmp"), ROOT, ROOT / "uploads"]
    assert not _marker_files(marker, ancestors)
    assert not [p for p in data_dir.rglob(f"*{marker}*")]


# --- JWT algorithm confusion ------------------------------------------------------------------


def _probes(portal: Portal, owner_token: str) -> dict[str, tuple[str, str]]:
    record = portal.put(owner_token, "jwt-probe.txt", b"jwt")
    return {
        "auth": ("GET", f"{portal.auth}/api/me"),
        "metadata": ("GET", f"{portal.metadata}/api/files/{record['id']}"),
        "download": ("GET", f"{portal.download}/api/files/{record['id']}/content"),
        "upload": ("HEAD", f"{portal.upload}/api/tus/{record['id']}"),
    }


def test_forged_jwts_are_refused_by_every_service(portal: Portal, user: tuple[str, str]) -> None:
    _, token = user
    key = forge.signing_key(portal.data_dir)
    claims = forge.claims_of(token)
    kid = forge.header_of(token)["kid"]
    jwks = portal.http.get(f"{portal.auth}/.well-known/jwks.json").json()
    jwk_x = next(k for k in jwks["keys"] if k["kid"] == kid)["x"]
    other = Ed25519PrivateKey.generate()
    forged = {
        "hs256 with the public key (PEM)": forge.hs256(
            forge.fresh(claims), forge.public_pem(key), kid
        ),
        "hs256 with the public key (raw)": forge.hs256(
            forge.fresh(claims), forge.public_raw(key), kid
        ),
        "hs256 with the JWK x": forge.hs256(forge.fresh(claims), jwk_x.encode(), kid),
        "alg none": forge.unsigned(forge.fresh(claims), kid),
        "alg none, no kid": forge.unsigned(forge.fresh(claims), None),
        "kid not in the JWKS": forge.eddsa(forge.fresh(claims), other, "not-a-kid"),
        "another key, our kid": forge.eddsa(forge.fresh(claims), other, kid),
        "expired": forge.eddsa(forge.expired(claims), key, kid),
    }
    probes = _probes(portal, token)
    control = forge.eddsa(forge.fresh(claims), key, kid)  # the forging itself is sound
    for service, (method, url) in probes.items():
        extra = {"Tus-Resumable": "1.0.0"} if service == "upload" else {}
        ok = portal.http.request(method, url, headers={**bearer(control), **extra})
        assert ok.status_code != 401, (service, ok.text)
        for what, jwt in forged.items():
            r = portal.http.request(method, url, headers={**bearer(jwt), **extra})
            assert r.status_code == 401, (service, what, r.status_code)
            assert r.headers.get("www-authenticate") == "Bearer"


# --- CSRF -------------------------------------------------------------------------------------

# Routes with no session to protect: the logins themselves.
NO_SESSION = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/login"),
    # the other ways to log in (a second step, a passkey): no session yet
    ("POST", "/api/auth/login/mfa"),
    ("POST", "/api/auth/passkey/options"),
    ("POST", "/api/auth/passkey"),
}


def _browser_login(portal: Portal, username: str) -> tuple[str, str]:
    r = portal.http.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return r.cookies[SESSION_COOKIE], r.cookies[CSRF_COOKIE]


def test_cookie_writes_without_the_csrf_token_are_refused_on_every_route(
    portal: Portal, user: tuple[str, str]
) -> None:
    username, token = user
    http = portal.http
    # Make the user an admin, so the admin routes are reachable too.
    assert portal.patch_user(username, role="admin").status_code == 200
    token = portal.login(username)
    record = portal.put(token, "csrf.txt", b"csrf")
    share = http.post(
        f"{portal.metadata}/api/files/{record['id']}/shares", json={}, headers=bearer(token)
    ).json()
    api_token = portal.new_api_token(token)
    victim = f"csrf-victim-{secrets.token_hex(3)}"
    portal.add_user(victim)
    tus = http.post(
        f"{portal.upload}/api/tus/",
        headers={**bearer(token), "Tus-Resumable": "1.0.0", "Upload-Length": "5"},
    )
    folder = http.post(
        f"{portal.metadata}/api/folders", json={"name": "csrf-folder"}, headers=bearer(token)
    ).json()
    params = {
        "folder_id": folder["id"],
        # a trash item (the file's id names it once trashed): refused before it is looked up
        "item_id": record["id"],
        "file_id": record["id"],
        "token": share["token"],
        "token_id": api_token["id"],
        "username": victim,
        "upload_id": tus.headers["location"].rsplit("/", 1)[1],
        "name": "csrf-put.txt",
        "passkey_id": "0" * 32,
        "session_id": "0" * 64,
    }
    session, csrf = _browser_login(portal, username)
    cookie = {"Cookie": f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"}
    routes = []
    for service in {"all"} if portal.shape == "all" else {"auth", "metadata", "upload", "download"}:
        base = portal.upload if service == "all" else portal.url(service)
        schema = http.get(f"{base}/openapi.json").json()
        for path, operations in schema["paths"].items():
            for method in operations:
                method = method.upper()
                if (
                    method in ("POST", "PUT", "PATCH", "DELETE")
                    and (method, path) not in NO_SESSION
                ):
                    routes.append((base, method, path))
    assert len(routes) >= 15, routes
    bodies = {
        "PATCH /api/files/{file_id}": {"name": "renamed.txt"},
        "POST /api/files/{file_id}/shares": {},
        "POST /api/tokens": {"name": "csrf"},
        "POST /api/users": {"username": "csrf-new", "password": PASSWORD},
        "PATCH /api/users/{username}": {"disabled": True},
    }
    tus_headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Offset": "0",
                   "Content-Type": "application/offset+octet-stream"}  # fmt: skip
    for base, method, path in routes:
        url = base + re.sub(r"\{(\w+)(:\w+)?\}", lambda m: params[m.group(1)], path)
        label = f"{method} {path}"
        kwargs: dict[str, Any] = {"headers": dict(cookie)}
        if label in bodies:
            kwargs["json"] = bodies[label]
        elif path.startswith("/api/tus"):
            kwargs["headers"].update(tus_headers)
            kwargs["content"] = b"abcde"
        elif label == "POST /api/files":
            kwargs["files"] = {"file": ("csrf-post.txt", b"x")}
        elif label.startswith("PUT"):
            kwargs["content"] = b"x"
        for csrf_header in ({}, {"X-CSRF-Token": "wrong"}):
            kwargs["headers"].update(csrf_header)
            r = http.request(method, url, **kwargs)
            assert r.status_code == 403, (label, csrf_header, r.status_code, r.text)
    # Nothing changed, and the session itself still works (reads need no token).
    headers = bearer(token)
    assert (
        http.get(f"{portal.metadata}/api/files/{record['id']}", headers=headers).json()["name"]
        == "csrf.txt"
    )
    assert http.get(f"{portal.download}/s/{share['token']}/content").status_code == 200
    assert portal.users()[victim]["disabled"] is False
    assert "csrf-new" not in portal.users()
    assert http.get(f"{portal.auth}/api/me", headers=cookie).status_code == 200
    # With the token, the same cookie may write.
    renamed = http.patch(
        f"{portal.metadata}/api/files/{record['id']}",
        json={"name": "renamed.txt"},
        headers={**cookie, "X-CSRF-Token": csrf},
    )
    assert renamed.status_code == 200


# --- request ids and logs ---------------------------------------------------------------------

RID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def test_every_answer_carries_a_request_id(portal: Portal) -> None:
    http = portal.http
    services = ["all"] if portal.shape == "all" else ["auth", "metadata", "upload", "download"]
    for service in services:
        base = portal.upload if service == "all" else portal.url(service)
        answers = [
            http.get(f"{base}/healthz"),
            http.get(f"{base}/metrics"),
            http.get(f"{base}/no/such/route"),
            http.get(f"{base}/api/files/x/content"),
            http.head(f"{base}/api/files/x/content"),
            http.post(
                f"{base}/api/tokens", content=b"{", headers={"Content-Type": "application/json"}
            ),
            http.get(f"{base}/static/js/api.js"),
            http.options(f"{base}/api/tus/"),
        ]
        for r in answers:
            assert RID.fullmatch(r.headers.get("x-request-id", "")), (
                service,
                r.request.url,
                r.status_code,
            )
        assert len({r.headers["x-request-id"] for r in answers}) == len(answers)
        mine = f"ops-{secrets.token_hex(8)}"
        assert (
            http.get(f"{base}/healthz", headers={"X-Request-ID": mine}).headers["x-request-id"]
            == mine
        )
        for bad in ("short", "has spaces in it", "x" * 65, "semi;colon;id"):
            echoed = http.get(f"{base}/healthz", headers={"X-Request-ID": bad}).headers[
                "x-request-id"
            ]
            assert echoed != bad and RID.fullmatch(echoed)


def test_request_id_reaches_the_metadata_service_log(split: Portal) -> None:
    portal = split
    token = portal.admin_token()
    put_id, get_id = f"ops-put-{secrets.token_hex(6)}", f"ops-get-{secrets.token_hex(6)}"
    offsets = portal.log_offsets()
    r = portal.http.put(
        f"{portal.upload}/api/upload/rid.txt",
        content=b"rid",
        headers={**bearer(token), "X-Request-ID": put_id},
    )
    assert r.status_code == 201 and r.headers["x-request-id"] == put_id
    got = portal.http.get(
        f"{portal.download}/api/files/{r.json()['id']}/content",
        headers={**bearer(token), "X-Request-ID": get_id},
    )
    assert got.status_code == 200 and got.headers["x-request-id"] == get_id

    expected = {"upload": {put_id}, "download": {get_id}, "metadata": {put_id, get_id}}

    def seen() -> bool:
        # An access line is written after the response has gone out: wait for every log.
        texts = logs_since(portal.deployment, offsets)
        return all(
            rids <= {rec.get("request_id") for rec in json_lines(texts[service])}
            for service, rids in expected.items()
        )

    wait_until(seen, 10, "the request ids in every service's log")
    texts = logs_since(portal.deployment, offsets)
    for service, rid in (("upload", put_id), ("download", get_id), ("metadata", put_id)):
        lines = [rec for rec in json_lines(texts[service]) if rec.get("request_id") == rid]
        assert lines, (service, rid)
        access = [rec for rec in lines if rec["logger"] == "filebay.access"]
        assert access, (service, lines)
        fields = {"time", "level", "logger", "message", "request_id", "service", "method",
                  "route", "status", "duration_ms", "client"}  # fmt: skip
        assert fields <= set(access[0]), access[0]
        assert access[0]["service"] == service
    metadata_routes = {
        rec["route"] for rec in json_lines(texts["metadata"]) if rec.get("request_id") == put_id
    }
    # The upload service records every finished upload through the batch route (add_many).
    assert "/internal/v1/files/batch" in metadata_routes


def test_no_secret_reaches_any_log(portal: Portal) -> None:
    http = portal.http
    offsets = portal.log_offsets()
    username = f"secret-{secrets.token_hex(3)}"
    password = f"pw-{secrets.token_hex(12)}"
    new_password = f"pw2-{secrets.token_hex(12)}"
    wrong_password = f"wrong-{secrets.token_hex(12)}"
    share_password = f"sp-{secrets.token_hex(12)}"
    secret_values: dict[str, str] = {
        "admin password": ADMIN_PASSWORD,
        "password": password,
        "new password": new_password,
        "wrong password": wrong_password,
        "share password": share_password,
    }
    admin_jwt = portal.login(ADMIN, ADMIN_PASSWORD)
    secret_values["admin jwt"] = admin_jwt
    assert (
        http.post(
            f"{portal.auth}/api/users",
            json={"username": username, "password": password},
            headers=bearer(admin_jwt),
        ).status_code
        == 201
    )
    jwt = portal.login(username, password)
    secret_values["jwt"] = jwt
    bad = http.post(
        f"{portal.auth}/api/auth/token", data={"username": username, "password": wrong_password}
    )
    assert bad.status_code == 401
    login = http.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": password}
    )
    secret_values["session cookie"] = login.cookies[SESSION_COOKIE]
    secret_values["csrf"] = login.cookies[CSRF_COOKIE]
    api = http.post(f"{portal.auth}/api/tokens", json={"name": "t"}, headers=bearer(jwt)).json()
    secret_values["api token"] = api["token"]
    record = http.put(
        f"{portal.upload}/api/upload/secret.txt", content=b"s", headers=bearer(api["token"])
    ).json()
    for body in ({}, {"password": share_password}):
        share = http.post(
            f"{portal.metadata}/api/files/{record['id']}/shares", json=body, headers=bearer(jwt)
        ).json()
        secret_values[f"share token {len(body)}"] = share["token"]
        link = f"{portal.download}/s/{share['token']}"
        http.get(link)
        http.get(f"{link}/content", headers={"Range": "bytes=0-0"})
        http.get(f"{link}/nope")
        http.post(link, data={"password": wrong_password})
        http.post(link, data={"password": share_password})
    # Secrets where they do not belong: a query string, a bad scheme, a token as a path.
    http.get(f"{portal.metadata}/api/files", params={"access_token": jwt})
    http.get(f"{portal.metadata}/api/files", headers={"Authorization": f"Basic {password}"})
    http.get(f"{portal.metadata}/api/files", headers=bearer(jwt + "x"))
    http.get(f"{portal.download}/s/{api['token']}/content")
    http.patch(
        f"{portal.auth}/api/users/{username}",
        json={"password": new_password},
        headers=bearer(admin_jwt),
    )
    http.post(f"{portal.auth}/api/auth/logout", headers=bearer(jwt))
    time.sleep(0.5)  # let the last access lines reach the files
    texts = logs_since(portal.deployment, offsets)
    assert any(json_lines(text) for text in texts.values()), "the logs are empty"
    # The keys each shape keeps in its data dir (the all-in-one process has no service token:
    # nothing goes between services there).
    for name in ("service_token", "share_cookie_key"):
        kept = portal.data_dir / name
        if kept.exists():
            secret_values[name.replace("_", " ")] = kept.read_text().strip()
    assert "share cookie key" in secret_values
    for service, text in texts.items():
        for what, value in secret_values.items():
            assert value not in text, f"the {what} appears in the {service} log"


# --- /metrics ---------------------------------------------------------------------------------


def _readme_metrics() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**Metrics.**", 1)[1].split("**Logs.**", 1)[0]
    return re.findall(r"`(filebay_[a-z_]+)", section)


def test_metrics_expose_the_documented_names_with_route_templates(
    portal: Portal, user: tuple[str, str]
) -> None:
    _, token = user
    http, headers = portal.http, bearer(token)
    record = portal.put(token, "metric-name-secret.txt", b"m")
    share = http.post(
        f"{portal.metadata}/api/files/{record['id']}/shares", json={}, headers=headers
    ).json()
    http.get(f"{portal.download}/api/files/{record['id']}/content", headers=headers)
    http.get(f"{portal.download}/s/{share['token']}/content")
    http.get(f"{portal.download}/s/{share['token']}/nope")
    http.get(f"{portal.metadata}/api/files/{record['id']}", headers=headers)
    names = _readme_metrics()
    assert len(names) >= 9, names
    services = ["all"] if portal.shape == "all" else ["auth", "metadata", "upload", "download"]
    routes: set[str] = set()
    for service in services:
        base = portal.upload if service == "all" else portal.url(service)
        text = http.get(f"{base}/metrics").text
        for name in names:
            assert f"# TYPE {name} " in text, (service, name)
        routes |= set(re.findall(r'filebay_http_requests_total\{[^}]*route="([^"]*)"', text))
    for route in routes:
        assert route == "<unmatched>" or route.startswith("/"), route
        assert not re.search(r"[0-9a-f]{32}", route), route
        assert share["token"] not in route and "metric-name-secret" not in route, route
    assert {"/api/files/{file_id}", "/api/files/{file_id}/content", "/s/{token}/content"} <= routes
    assert any(r.startswith("/api/upload/{name") for r in routes), routes
