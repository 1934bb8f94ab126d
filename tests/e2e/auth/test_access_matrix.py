"""Who may call what: every route and every kind of caller, on the service that serves it.

The table ``ROUTES`` lists each route once (method, path as the app declares it, the service
whose URL serves it in the split shape, what it needs); the metadata service's internal
routes and the API docs are read from the apps themselves. Each (route, identity) pair is its
own test case, e.g. ``test_access[split-GET /api/files/{file_id}-other]``. The expected
status comes from the route's kind and its ``expect`` map:

- ``api``: anonymous and every bad credential → 401 with ``WWW-Authenticate: Bearer``;
- ``page``: the same, except an anonymous browser is sent to the login page (303);
- ``public``: every caller gets ``public_status`` (credentials are not even looked at);
- ``internal``: the metadata service's catalog API takes only the service token: 401 for
  every user JWT and API token (split); the all-in-one process does not serve it (404).

After each request a check looks behind it: a refused rename, delete, upload, token or user
change left everything as it was; another user's listing is empty; secrets stay unlisted.
``test_every_route_is_in_the_matrix`` fails when a service grows a route the table lacks.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from filebay.config import Service, Settings
from tests.e2e.auth import forge
from tests.e2e.auth.support import Portal
from tests.harness import media
from tests.harness.http import ADMIN, ADMIN_PASSWORD, PASSWORD, bearer, unique

OWNER, OTHER = "alice", "bob"
GOOD = ("owner", "other", "admin")
BAD_CREDENTIALS = (
    "revoked-token",
    "expired-jwt",
    "foreign-key-jwt",
    "alg-none-jwt",
    "hs256-pubkey-jwt",
)
IDENTITIES = ("anonymous", *GOOD, *BAD_CREDENTIALS)
FILE_DATA = b"the owner's file\n" * 10


def declared_routes(service: Service) -> set[tuple[str, str]]:
    """(method, path) of every route the service's app declares (no server needed)."""
    from filebay_server.app import create_app

    def walk(routes: list[Any]) -> list[Any]:
        out = []
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included routers
                out += walk(route.original_router.routes)
            else:
                out.append(route)
        return out

    app = create_app(Settings(service=service))
    return {
        (method, route.path)
        for route in walk(list(app.routes))
        for method in getattr(route, "methods", None) or ()
    }


# --- the world the matrix runs in -----------------------------------------------------------


@dataclass
class World:
    portal: Portal
    usernames: dict[str, str]
    passwords: dict[str, str]
    credentials: dict[str, str]  # identity → bearer value
    file: dict[str, Any]  # a file of the owner's that no cell changes
    patch_target: str  # the user PATCH /api/users changes
    share_token: str  # a link to ``file`` that no cell revokes
    upload_id: str  # a resumable upload of the owner's that no cell changes

    @property
    def http(self) -> httpx.Client:
        return self.portal.http

    def headers(self, identity: str) -> dict[str, str]:
        if identity == "anonymous":
            return {}
        return bearer(self.credentials[identity])

    def as_owner(self) -> dict[str, str]:
        return bearer(self.credentials["owner"])

    def owner_file(self) -> dict[str, Any]:
        """A new file of the owner's, for a cell that may change or delete it."""
        return self.portal.put(self.credentials["owner"], f"{unique('matrix')}.txt", FILE_DATA)

    def owner_share(self) -> str:
        return _new_share(self.portal, self.credentials["owner"], self.file["id"])

    def owner_upload(self) -> str:
        return _new_upload(self.portal, self.credentials["owner"])

    def upload_offset(self, upload_id: str) -> int | None:
        response = self.http.head(
            f"{self.portal.upload}/api/tus/{upload_id}", headers={**TUS, **self.as_owner()}
        )
        return int(response.headers["upload-offset"]) if response.status_code == 200 else None


TUS = {"Tus-Resumable": "1.0.0"}
TUS_LENGTH = 5


def _new_share(portal: Portal, token: str, file_id: str) -> str:
    response = portal.http.post(
        f"{portal.metadata}/api/files/{file_id}/shares", json={}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _new_upload(portal: Portal, token: str) -> str:
    """A resumable upload (tus creation, no bytes yet) of ``TUS_LENGTH`` bytes."""
    response = portal.http.post(
        f"{portal.upload}/api/tus/",
        headers={
            **TUS,
            **bearer(token),
            "Upload-Length": str(TUS_LENGTH),
            "Upload-Metadata": "filename " + base64.b64encode(b"tus.txt").decode(),
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["location"].rstrip("/").rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def world(portal: Portal) -> World:
    for name in (OWNER, OTHER):
        portal.add_user(name)
    owner_jwt = portal.login(OWNER)
    # Revoked before it was ever used: no cache anywhere can still hold it.
    revoked = portal.new_api_token(owner_jwt, "revoked")
    response = portal.http.delete(
        f"{portal.auth}/api/tokens/{revoked['id']}", headers=bearer(owner_jwt)
    )
    assert response.status_code == 204, response.text

    key = forge.signing_key(portal.data_dir)
    kid = forge.header_of(owner_jwt)["kid"]
    claims = forge.claims_of(owner_jwt)
    credentials = {
        "owner": owner_jwt,
        "other": portal.login(OTHER),
        "admin": portal.admin_token(),
        "revoked-token": revoked["token"],
        # The owner's own session, each time spoiled in one way only.
        "expired-jwt": forge.eddsa(forge.expired(claims), key, kid),
        "foreign-key-jwt": forge.eddsa(claims, Ed25519PrivateKey.generate(), kid),
        "alg-none-jwt": forge.unsigned(claims, kid),
        "hs256-pubkey-jwt": forge.hs256(claims, forge.public_pem(key), kid),
    }
    # The control: the same claims, signed right, do work (so each 401 is for its one flaw).
    control = forge.eddsa(forge.fresh(claims), key, kid)
    assert portal.http.get(f"{portal.auth}/api/me", headers=bearer(control)).status_code == 200

    patch_target = unique("target")
    portal.add_user(patch_target)
    shared = portal.put(owner_jwt, "shared.txt", FILE_DATA)
    return World(
        portal=portal,
        usernames={"owner": OWNER, "other": OTHER, "admin": ADMIN},
        passwords={"owner": PASSWORD, "other": PASSWORD, "admin": ADMIN_PASSWORD},
        credentials=credentials,
        file=shared,
        patch_target=patch_target,
        share_token=_new_share(portal, owner_jwt, shared["id"]),
        upload_id=_new_upload(portal, owner_jwt),
    )


# --- cells ---------------------------------------------------------------------------------


@dataclass
class Cell:
    """One request of the matrix: path parameters, request options, and notes for checks."""

    params: dict[str, str] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


Prepare = Callable[[World, str], Cell]
Check = Callable[[World, str, Cell, httpx.Response], None]


def _no_cell(world: World, identity: str) -> Cell:
    return Cell()


def _no_check(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    return None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the app declares it
    service: str  # whose URL serves it in the split shape
    kind: str  # api | page | public | internal
    expect: dict[str, int] = field(default_factory=dict)  # owner, other, admin
    prepare: Prepare = _no_cell
    check: Check = _no_check
    public_status: int = 200
    #: The cell logs the identity in anew (a logout must not end the shared sessions).
    fresh_login: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, identity: str, shape: str) -> int:
        if self.kind == "internal":
            return 404 if shape == "all" else 401
        if self.kind == "public":
            return self.public_status
        if identity == "anonymous":
            return 303 if self.kind == "page" else 401
        if identity in BAD_CREDENTIALS:
            return 401
        return self.expect[identity]


def _ok(status: int) -> bool:
    return 200 <= status < 300


# files


def _shared_file(world: World, identity: str) -> Cell:
    return Cell(params={"file_id": world.file["id"]})


def _fresh_file(world: World, identity: str) -> Cell:
    record = world.owner_file()
    return Cell(params={"file_id": record["id"]}, state={"record": record})


def _owner_view(world: World, file_id: str) -> httpx.Response:
    return world.http.get(f"{world.portal.metadata}/api/files/{file_id}", headers=world.as_owner())


def _unchanged(world: World, cell: Cell) -> None:
    record = cell.state.get("record", world.file)
    response = _owner_view(world, record["id"])
    assert response.status_code == 200, "a refused request changed or deleted the file"
    assert response.json()["name"] == record["name"], "a refused request renamed the file"


def _check_record(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.json()["id"] == world.file["id"]
        assert response.json()["owner"] == OWNER


def _check_content(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.content == FILE_DATA
        assert response.headers["etag"] == f'"{world.file["sha256"]}"'
    else:
        assert FILE_DATA not in response.content


def _check_head(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    assert response.content == b""
    if response.status_code == 200:
        assert response.headers["content-length"] == str(len(FILE_DATA))


def _picture(world: World, identity: str) -> Cell:
    record = world.portal.put(world.credentials["owner"], f"{unique('matrix')}.png", media.png())
    return Cell(params={"file_id": record["id"]})


def _check_thumbnail(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.headers["content-type"] == "image/webp"
    else:
        assert response.headers["content-type"] == "application/json"


def _check_list(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code != 200:
        return
    items = response.json()["items"]
    ids = {item["id"] for item in items}
    if identity == "other":
        assert items == [], "another user sees files that are not theirs"
    elif identity == "admin":
        # An admin's own list is their own files (DESIGN §8.1); everyone's with owner=all.
        assert world.file["id"] not in ids
        every = world.http.get(
            f"{world.portal.metadata}/api/files",
            params={"owner": "all", "limit": "1000"},
            headers=world.portal.admin(),
        )
        assert world.file["id"] in {item["id"] for item in every.json()["items"]}
    else:
        assert world.file["id"] in ids


def _rename(world: World, identity: str) -> Cell:
    cell = _fresh_file(world, identity)
    cell.request = {"json": {"name": f"renamed-by-{identity}.txt"}}
    return cell


def _check_rename(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if _ok(response.status_code):
        assert response.json()["name"] == f"renamed-by-{identity}.txt"
        assert _owner_view(world, cell.params["file_id"]).json()["name"].startswith("renamed-by")
    else:
        _unchanged(world, cell)


def _check_delete_file(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if _ok(response.status_code):
        assert _owner_view(world, cell.params["file_id"]).status_code == 404
    else:
        _unchanged(world, cell)


def _upload_cell(request: dict[str, Any]) -> Prepare:
    def prepare(world: World, identity: str) -> Cell:
        return Cell(
            params={"name": "put-matrix.txt"},
            request=request,
            state={"before": world.portal.all_file_ids()},
        )

    return prepare


def _check_upload(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    after = world.portal.all_file_ids()
    created = after - cell.state["before"]
    if not _ok(response.status_code):
        assert not created, "a refused upload stored a file"
        return
    body = response.json()
    records = body.get("files", [body])
    assert {r["id"] for r in records} == created
    assert all(r["owner"] == world.usernames[identity] for r in records)
    # Leave no file behind: the "other" user's listing must stay empty.
    for record in records:
        deleted = world.http.delete(
            f"{world.portal.metadata}/api/files/{record['id']}", headers=world.portal.admin()
        )
        assert deleted.status_code == 204


# auth


def _check_me(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.json()["username"] == world.usernames[identity]
        assert response.json()["role"] == ("admin" if identity == "admin" else "user")


def _check_new_token(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 201:
        assert response.json()["token"].startswith("fbt_")
        assert response.json()["username"] == world.usernames[identity]


def _check_tokens(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        items = response.json()["items"]
        assert all("token" not in item for item in items), "a listing shows a token secret"
        assert all(item["username"] == world.usernames[identity] for item in items)


def _owner_token_ids(world: World) -> set[str]:
    response = world.http.get(f"{world.portal.auth}/api/tokens", headers=world.as_owner())
    return {t["id"] for t in response.json()["items"]}


def _owners_token(world: World, identity: str) -> Cell:
    token = world.portal.new_api_token(world.credentials["owner"], "to-delete")
    return Cell(params={"token_id": token["id"]})


def _check_delete_token(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    still_there = cell.params["token_id"] in _owner_token_ids(world)
    assert still_there != _ok(response.status_code)


def _target_token(world: World) -> dict[str, Any]:
    """A new API token of the PATCH target's (the user admins manage in these cells)."""
    jwt = world.portal.login(world.patch_target)
    return world.portal.new_api_token(jwt, "admin-managed")


def _target_token_ids(world: World) -> set[str]:
    response = world.http.get(
        f"{world.portal.auth}/api/users/{world.patch_target}/tokens", headers=world.portal.admin()
    )
    assert response.status_code == 200, response.text
    return {t["id"] for t in response.json()["items"]}


def _check_user_tokens(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        items = response.json()["items"]
        assert all("token" not in item for item in items), "a listing shows a token secret"
        assert all(item["username"] == world.patch_target for item in items)


def _targets_token(world: World, identity: str) -> Cell:
    token = _target_token(world)
    return Cell(params={"username": world.patch_target, "token_id": token["id"]})


def _check_revoke_user_token(
    world: World, identity: str, cell: Cell, response: httpx.Response
) -> None:
    still_there = cell.params["token_id"] in _target_token_ids(world)
    assert still_there != _ok(response.status_code)


def _check_revoke_user_tokens(
    world: World, identity: str, cell: Cell, response: httpx.Response
) -> None:
    assert (not _target_token_ids(world)) == _ok(response.status_code)


def _new_user(world: World, identity: str) -> Cell:
    username = unique("made")
    return Cell(request={"json": {"username": username, "password": PASSWORD, "role": "user"}})


def _check_new_user(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    exists = cell.request["json"]["username"] in world.portal.users()
    assert exists == _ok(response.status_code)
    if _ok(response.status_code):
        assert "password" not in response.text and "argon2" not in response.text


def _check_users(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert ADMIN in {u["username"] for u in response.json()["items"]}
        assert "argon2" not in response.text and "password" not in response.text


def _patch_user(world: World, identity: str) -> Cell:
    quota = 1_000_000 + IDENTITIES.index(identity)
    return Cell(params={"username": world.patch_target}, request={"json": {"quota_bytes": quota}})


def _check_patch_user(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    quota = world.portal.users()[world.patch_target]["quota_bytes"]
    assert (quota == cell.request["json"]["quota_bytes"]) == _ok(response.status_code)


def _doomed_user(world: World, identity: str) -> Cell:
    if identity != "admin":  # refused: the shared target, which must survive every such cell
        return Cell(params={"username": world.patch_target})
    username = unique("doomed")
    world.portal.add_user(username)
    return Cell(params={"username": username})


def _check_delete_user(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    exists = cell.params["username"] in world.portal.users()
    assert exists != _ok(response.status_code)


def _check_logout(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 204:
        # The service that handled the logout refuses the ended session at once.
        me = world.http.get(f"{world.portal.auth}/api/me", headers=cell.request["headers"])
        assert me.status_code == 401


def _login_form(world: World, identity: str) -> Cell:
    return Cell(request={"data": {"username": OTHER, "password": PASSWORD}})


def _check_token_login(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    assert response.json()["token_type"] == "bearer"


def _login_json(world: World, identity: str) -> Cell:
    return Cell(request={"json": {"username": OTHER, "password": PASSWORD}})


def _check_cookie_login(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    assert "filebay_session" in response.headers.get("set-cookie", "")


def _check_jwks(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    assert response.json()["keys"]


def _check_html(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/html")


def _any_id(world: World) -> dict[str, str]:
    """Every path parameter an internal route may have: real ids of the owner's."""
    return defaultdict(lambda: world.file["id"], upload_id=world.upload_id)


def _check_metrics(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    # Route templates only: no ids, tokens or names of anyone's.
    for secret in (world.file["id"], world.share_token, world.upload_id, OWNER):
        assert secret not in response.text


def _internal_body(world: World, identity: str) -> Cell:
    return Cell(params=_any_id(world), request={"json": {}})


def _internal_query(world: World, identity: str) -> Cell:
    return Cell(params=_any_id(world), request={"params": {"owner": OWNER}})


def _check_internal(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    assert world.file["sha256"] not in response.text
    _unchanged(world, cell)


# resumable uploads (tus)


def _tus_create(world: World, identity: str) -> Cell:
    return Cell(
        request={"headers": {**TUS, "Upload-Length": str(TUS_LENGTH)}},
        state={"before": world.portal.all_file_ids()},
    )


def _check_tus_create(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 201:
        location = response.headers["location"]
        deleted = world.http.delete(
            world.portal.upload + location, headers={**TUS, **world.portal.admin()}
        )
        assert deleted.status_code == 204
    assert world.portal.all_file_ids() == cell.state["before"]


def _shared_upload(world: World, identity: str) -> Cell:
    return Cell(params={"upload_id": world.upload_id}, request={"headers": dict(TUS)})


def _check_tus_head(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.headers["upload-offset"] == "0"
        assert response.headers["upload-length"] == str(TUS_LENGTH)
    else:
        assert "upload-offset" not in response.headers


def _fresh_upload(world: World, identity: str) -> Cell:
    return Cell(params={"upload_id": world.owner_upload()}, request={"headers": dict(TUS)})


def _tus_append(world: World, identity: str) -> Cell:
    cell = _fresh_upload(world, identity)
    cell.request["headers"].update(
        {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    )
    cell.request["content"] = b"x" * TUS_LENGTH
    return cell


def _check_tus_append(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    upload_id = cell.params["upload_id"]
    if _ok(response.status_code):
        record = _owner_view(world, upload_id)  # complete: the upload id is the file id
        assert record.status_code == 200 and record.json()["owner"] == OWNER
    else:
        assert world.upload_offset(upload_id) == 0, "a refused PATCH wrote into the upload"


def _check_tus_delete(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    gone = world.upload_offset(cell.params["upload_id"]) is None
    assert gone == _ok(response.status_code)


# share links


def _check_new_share(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 201:
        token = response.json()["token"]
        page = world.http.get(f"{world.portal.download}/s/{token}")
        assert page.status_code == 200


def _check_shares(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.json()["items"]
        assert world.share_token not in response.text
        assert "token" not in response.text and "argon2" not in response.text


def _fresh_share(world: World, identity: str) -> Cell:
    return Cell(params={"token": world.owner_share()})


def _check_revoke(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    page = world.http.get(f"{world.portal.download}/s/{cell.params['token']}")
    assert (page.status_code == 404) == _ok(response.status_code)


def _share_link(world: World, identity: str) -> Cell:
    return Cell(params={"token": world.share_token})


def _share_unlock(world: World, identity: str) -> Cell:
    # The link has no password: the form just sends the visitor back to the page.
    return Cell(params={"token": world.share_token}, request={"data": {"password": "x"}})


def _check_unlock(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    assert response.headers["location"] == f"/s/{world.share_token}"


def _check_share_content(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.request.method == "GET":
        assert response.content == FILE_DATA


# folders: each user's own tree; another user's folder is 404, an admin's too (no admin
# browses into another's tree: files stay reachable through /api/files for them)


def _owner_folder(world: World, identity: str) -> Cell:
    made = world.http.post(
        f"{world.portal.metadata}/api/folders",
        json={"name": unique("matrix-folder")},
        headers=world.as_owner(),
    )
    assert made.status_code == 201, made.text
    folder = made.json()
    return Cell(params={"folder_id": folder["id"]}, state={"folder": folder})


def _owner_folder_view(world: World, folder_id: str) -> httpx.Response:
    return world.http.get(
        f"{world.portal.metadata}/api/folders/{folder_id}", headers=world.as_owner()
    )


def _new_folder(world: World, identity: str) -> Cell:
    return Cell(request={"json": {"name": unique(f"by-{identity}")}})


def _check_new_folder(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 201:
        assert response.json()["owner"] == world.usernames[identity]
        assert response.json()["parent_id"] is None


def _check_folder(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.json()["id"] == cell.params["folder_id"]
    else:
        # Nothing of the folder shows (a 404 of resolve may repeat the caller's own path).
        assert cell.params["folder_id"] not in response.text


def _check_items(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        assert response.json() == {"items": [], "next_cursor": None}


def _rename_folder(world: World, identity: str) -> Cell:
    cell = _owner_folder(world, identity)
    cell.request = {"json": {"name": f"renamed-by-{identity}"}}
    return cell


def _check_folder_kept_or_changed(
    world: World, identity: str, cell: Cell, response: httpx.Response
) -> None:
    view = _owner_folder_view(world, cell.params["folder_id"])
    if response.request.method == "DELETE":
        assert (view.status_code == 404) == _ok(response.status_code)
    elif _ok(response.status_code):
        assert view.json()["name"] == f"renamed-by-{identity}"
    else:
        assert view.json()["name"] == cell.state["folder"]["name"]


def _resolve_owner_folder(world: World, identity: str) -> Cell:
    cell = _owner_folder(world, identity)
    cell.request = {"params": {"path": cell.state["folder"]["path"]}}
    return cell


def _copy_file(world: World, identity: str) -> Cell:
    cell = _fresh_file(world, identity)
    cell.request = {"json": {"name": unique("copy") + ".txt"}}
    cell.state["before"] = world.portal.all_file_ids()
    return cell


def _check_copy(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    created = world.portal.all_file_ids() - cell.state["before"]
    if not _ok(response.status_code):
        assert not created, "a refused copy stored a file"
        return
    assert created == {response.json()["id"]}
    assert response.json()["owner"] == world.usernames[identity]


# zips, folder links and the trash (DESIGN §8.2): a user's own tree and trash


def _zip_selection(world: World, identity: str) -> Cell:
    cell = _owner_folder(world, identity)
    cell.request = {"json": {"folder_ids": [cell.params["folder_id"]]}}
    return cell


def _zip_link(world: World, identity: str) -> Cell:
    folder = _owner_folder(world, identity).params["folder_id"]
    made = world.http.post(
        f"{world.portal.download}/api/zip", json={"folder_ids": [folder]}, headers=world.as_owner()
    )
    assert made.status_code == 201, made.text
    return Cell(params={"token": made.json()["url"].rsplit("/", 1)[1]})


def _check_zip(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if _ok(response.status_code):
        assert response.headers["content-type"] == "application/zip"


def _folder_link(world: World, identity: str) -> Cell:
    folder = _owner_folder(world, identity).state["folder"]
    put = world.http.put(
        f"{world.portal.upload}/api/upload/{folder['name']}/in-folder.txt",
        content=FILE_DATA,
        headers=world.as_owner(),
    )
    assert put.status_code == 201, put.text
    made = world.http.post(
        f"{world.portal.metadata}/api/folders/{folder['id']}/shares",
        json={},
        headers=world.as_owner(),
    )
    assert made.status_code == 201, made.text
    return Cell(params={"token": made.json()["token"], "file_id": put.json()["id"]})


def _owner_folder_share(world: World, identity: str) -> Cell:
    cell = _owner_folder(world, identity)
    cell.request = {"json": {}}
    return cell


def _trash_item(world: World, identity: str) -> Cell:
    record = world.owner_file()
    gone = world.http.delete(
        f"{world.portal.metadata}/api/files/{record['id']}", headers=world.as_owner()
    )
    assert gone.status_code == 204, gone.text
    return Cell(params={"item_id": gone.headers["x-trash-item"]}, state={"file": record})


def _check_trash_item(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    back = _owner_view(world, cell.state["file"]["id"]).status_code == 200
    assert back == (response.request.method == "POST" and _ok(response.status_code))


# sessions


def _owners_session(world: World, identity: str) -> Cell:
    """A session of the owner's own (a fresh login), that only the owner may end."""
    token = world.portal.login(world.usernames["owner"], world.passwords["owner"])
    listed = world.http.get(f"{world.portal.auth}/api/me/sessions", headers=bearer(token))
    current = next(s["id"] for s in listed.json()["items"] if s["current"])
    return Cell(params={"session_id": current}, state={"token": token})


def _check_sessions(world: World, identity: str, cell: Cell, response: httpx.Response) -> None:
    if response.status_code == 200:
        items = response.json()["items"]
        assert [s["current"] for s in items].count(True) == 1
        assert world.credentials[identity] not in response.text


ALLOW_ALL = {"owner": 200, "other": 200, "admin": 200}
ADMIN_ONLY = {"owner": 403, "other": 403, "admin": 200}
OWNER_OR_ADMIN = {"owner": 200, "other": 404, "admin": 200}
OWNER_ONLY = {"owner": 200, "other": 404, "admin": 404}
ALL_400 = {"owner": 400, "other": 400, "admin": 400}
ALL_404 = {"owner": 404, "other": 404, "admin": 404}
# The API docs FastAPI serves (whichever of them the apps keep): public.
DOCS = sorted(
    path
    for method, path in declared_routes(Service.auth)
    if method == "GET" and path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
)
INTERNAL = "/internal/v1"

ROUTES: list[Route] = [
    # files: another user's file is 404, never 403; admins see and change everyone's
    Route(
        "GET", "/api/files", "metadata", "api", ALLOW_ALL,
        lambda w, i: Cell(request={"params": {"limit": "1000"}}), _check_list,
    ),
    Route(
        "GET", "/api/files/{file_id}", "metadata", "api", OWNER_OR_ADMIN, _shared_file,
        _check_record,
    ),
    Route("PATCH", "/api/files/{file_id}", "metadata", "api", OWNER_OR_ADMIN, _rename,
          _check_rename),
    Route(
        "DELETE", "/api/files/{file_id}", "metadata", "api",
        {"owner": 204, "other": 404, "admin": 204}, _fresh_file, _check_delete_file,
    ),
    # folders: a user's own tree (an admin's scope is their own tree too)
    Route(
        "POST", "/api/folders", "metadata", "api", {"owner": 201, "other": 201, "admin": 201},
        _new_folder, _check_new_folder,
    ),
    Route(
        "GET", "/api/folders/{folder_id}", "metadata", "api", OWNER_ONLY, _owner_folder,
        _check_folder,
    ),
    Route(
        "GET", "/api/folders/{folder_id}/items", "metadata", "api", OWNER_ONLY, _owner_folder,
        _check_items,
    ),
    Route(
        "PATCH", "/api/folders/{folder_id}", "metadata", "api", OWNER_ONLY, _rename_folder,
        _check_folder_kept_or_changed,
    ),
    Route(
        "DELETE", "/api/folders/{folder_id}", "metadata", "api",
        {"owner": 204, "other": 404, "admin": 404}, _owner_folder, _check_folder_kept_or_changed,
    ),
    Route(
        "GET", "/api/resolve", "metadata", "api", OWNER_ONLY, _resolve_owner_folder,
        _check_folder,
    ),
    Route(
        "POST", "/api/files/{file_id}/copy", "metadata", "api",
        {"owner": 201, "other": 404, "admin": 404}, _copy_file, _check_copy,
    ),
    Route(
        "GET", "/api/files/{file_id}/content", "download", "api", OWNER_OR_ADMIN, _shared_file,
        _check_content,
    ),
    Route(
        "HEAD", "/api/files/{file_id}/content", "download", "api", OWNER_OR_ADMIN, _shared_file,
        _check_head,
    ),
    Route(
        "GET", "/api/files/{file_id}/thumbnail", "download", "api", OWNER_OR_ADMIN, _picture,
        _check_thumbnail,
    ),
    Route(
        "POST", "/api/files", "upload", "api", {"owner": 201, "other": 201, "admin": 201},
        _upload_cell({"files": [("file", ("multi.txt", b"matrix multipart"))]}), _check_upload,
    ),
    # no name in the path: a user is told what is missing, nothing is stored
    Route("PUT", "/api/upload", "upload", "api", {"owner": 400, "other": 400, "admin": 400},
          _upload_cell({"content": b"matrix raw put without a name"}), _check_upload),
    Route(
        "PUT", "/api/upload/{name:anyname}", "upload", "api",
        {"owner": 201, "other": 201, "admin": 201},
        _upload_cell({"content": b"matrix raw put"}), _check_upload,
    ),
    # resumable uploads: the session is the owner's; an admin may look and cancel, not write
    Route(
        "POST", "/api/tus/", "upload", "api", {"owner": 201, "other": 201, "admin": 201},
        _tus_create, _check_tus_create,
    ),
    Route(
        "HEAD", "/api/tus/{upload_id}", "upload", "api", OWNER_OR_ADMIN, _shared_upload,
        _check_tus_head,
    ),
    Route(
        "PATCH", "/api/tus/{upload_id}", "upload", "api",
        {"owner": 204, "other": 404, "admin": 404}, _tus_append, _check_tus_append,
    ),
    Route(
        "DELETE", "/api/tus/{upload_id}", "upload", "api",
        {"owner": 204, "other": 404, "admin": 204}, _fresh_upload, _check_tus_delete,
    ),
    # tus discovery needs no login
    Route("OPTIONS", "/api/tus/", "upload", "public", public_status=204),
    Route("OPTIONS", "/api/tus/{upload_id}", "upload", "public", prepare=_shared_upload,
          public_status=204),
    # share links: managed by the file's owner (or an admin); the link itself is public
    Route(
        "POST", "/api/files/{file_id}/shares", "metadata", "api",
        {"owner": 201, "other": 404, "admin": 201},
        lambda w, i: Cell(params={"file_id": w.file["id"]}, request={"json": {}}),
        _check_new_share,
    ),
    Route(
        "GET", "/api/files/{file_id}/shares", "metadata", "api", OWNER_OR_ADMIN, _shared_file,
        _check_shares,
    ),
    Route(
        "DELETE", "/api/shares/{token}", "metadata", "api",
        {"owner": 204, "other": 404, "admin": 204}, _fresh_share, _check_revoke,
    ),
    Route("GET", "/s/{token}", "download", "public", prepare=_share_link, check=_check_html),
    Route("POST", "/s/{token}", "download", "public", prepare=_share_unlock,
          check=_check_unlock, public_status=303),
    Route("GET", "/s/{token}/content", "download", "public", prepare=_share_link,
          check=_check_share_content),
    Route("HEAD", "/s/{token}/content", "download", "public", prepare=_share_link,
          check=_check_share_content),
    # zips, folder links, the trash: a user's own (an admin's scope is their own too)
    Route("GET", "/api/folders/{folder_id}/zip", "download", "api", OWNER_ONLY, _owner_folder,
          _check_zip),
    Route("POST", "/api/zip", "download", "api", {"owner": 201, "other": 404, "admin": 404},
          _zip_selection),
    Route("GET", "/api/zip/{token}", "download", "api", OWNER_ONLY, _zip_link, _check_zip),
    Route("POST", "/api/folders/{folder_id}/shares", "metadata", "api",
          {"owner": 201, "other": 404, "admin": 404}, _owner_folder_share),
    Route("GET", "/api/folders/{folder_id}/shares", "metadata", "api", OWNER_ONLY,
          _owner_folder),
    Route("GET", "/s/{token}/files/{file_id}", "download", "public", prepare=_folder_link,
          check=_check_share_content),
    Route("HEAD", "/s/{token}/files/{file_id}", "download", "public", prepare=_folder_link),
    Route("GET", "/s/{token}/zip", "download", "public", prepare=_folder_link, check=_check_zip),
    Route("HEAD", "/s/{token}/zip", "download", "public", prepare=_folder_link),
    Route("GET", "/api/trash", "metadata", "api", ALLOW_ALL),
    Route("POST", "/api/trash/{item_id}/restore", "metadata", "api", OWNER_ONLY, _trash_item,
          _check_trash_item),
    Route("DELETE", "/api/trash/{item_id}", "metadata", "api",
          {"owner": 204, "other": 404, "admin": 404}, _trash_item, _check_trash_item),
    Route("DELETE", "/api/trash", "metadata", "api", {"owner": 204, "other": 204, "admin": 204}),
    # auth: everyone for themselves
    Route("GET", "/api/me", "auth", "api", ALLOW_ALL, check=_check_me),
    Route(
        "POST", "/api/tokens", "auth", "api", {"owner": 201, "other": 201, "admin": 201},
        lambda w, i: Cell(request={"json": {"name": "matrix"}}), _check_new_token,
    ),
    Route("GET", "/api/tokens", "auth", "api", ALLOW_ALL, check=_check_tokens),
    # API tokens are per user: not even an admin revokes another's here (disable the user).
    Route(
        "DELETE", "/api/tokens/{token_id}", "auth", "api",
        {"owner": 204, "other": 404, "admin": 404}, _owners_token, _check_delete_token,
    ),
    Route(
        "POST", "/api/auth/logout", "auth", "api", {"owner": 204, "other": 204, "admin": 204},
        check=_check_logout, fresh_login=True,
    ),
    # user administration: admins only
    Route(
        "POST", "/api/users", "auth", "api", {"owner": 403, "other": 403, "admin": 201},
        _new_user, _check_new_user,
    ),
    Route("GET", "/api/users", "auth", "api", ADMIN_ONLY, check=_check_users),
    Route("PATCH", "/api/users/{username}", "auth", "api", ADMIN_ONLY, _patch_user,
          _check_patch_user),
    Route(
        "DELETE", "/api/users/{username}", "auth", "api",
        {"owner": 403, "other": 403, "admin": 204}, _doomed_user, _check_delete_user,
    ),
    # an admin lists and revokes any user's API tokens (incident response)
    Route(
        "GET", "/api/users/{username}/tokens", "auth", "api", ADMIN_ONLY,
        lambda w, i: Cell(params={"username": w.patch_target}), _check_user_tokens,
    ),
    Route(
        "DELETE", "/api/users/{username}/tokens/{token_id}", "auth", "api",
        {"owner": 403, "other": 403, "admin": 204}, _targets_token, _check_revoke_user_token,
    ),
    Route(
        "DELETE", "/api/users/{username}/tokens", "auth", "api", ADMIN_ONLY,
        lambda w, i: (_target_token(w), Cell(params={"username": w.patch_target}))[1],
        _check_revoke_user_tokens,
    ),
    # second factors, passkeys, sessions, audit (DESIGN §8.4): each for themselves; the
    # bodies are left out where a wrong one would count on the login limiter
    Route("GET", "/api/me/totp", "auth", "api", ALLOW_ALL),
    Route("POST", "/api/me/totp", "auth", "api", ALLOW_ALL),
    Route("POST", "/api/me/totp/confirm", "auth", "api", ALL_400),
    Route("DELETE", "/api/me/totp", "auth", "api", ALL_400),
    Route(
        "DELETE", "/api/users/{username}/mfa", "auth", "api",
        {"owner": 403, "other": 403, "admin": 204},
        lambda w, i: Cell(params={"username": w.patch_target}),
    ),
    Route("POST", "/api/me/passkeys/options", "auth", "api", ALLOW_ALL),
    Route("POST", "/api/me/passkeys", "auth", "api", ALL_400),
    Route("GET", "/api/me/passkeys", "auth", "api", ALLOW_ALL),
    Route("DELETE", "/api/me/passkeys/{passkey_id}", "auth", "api", ALL_404,
          lambda w, i: Cell(params={"passkey_id": "0" * 32})),
    Route("GET", "/api/me/sessions", "auth", "api", ALLOW_ALL, check=_check_sessions),
    Route("DELETE", "/api/me/sessions/{session_id}", "auth", "api",
          {"owner": 204, "other": 404, "admin": 404}, _owners_session),
    Route("DELETE", "/api/me/sessions", "auth", "api", ALLOW_ALL),
    Route("GET", "/api/audit", "auth", "api", ADMIN_ONLY),
    Route("GET", "/api/me/audit", "auth", "api", ALLOW_ALL),
    # pages
    Route("GET", "/account/security", "auth", "page", ALLOW_ALL, check=_check_html),
    Route("GET", "/admin/audit", "auth", "page", ADMIN_ONLY, check=_check_html),
    Route("GET", "/admin", "auth", "page", ADMIN_ONLY, check=_check_html),
    Route("GET", "/tokens", "auth", "page", ALLOW_ALL, check=_check_html),
    Route("GET", "/", "upload", "page", ALLOW_ALL, check=_check_html),
    Route("GET", "/uploads", "download", "page", ALLOW_ALL, check=_check_html),
    Route("GET", "/trash", "metadata", "page", ALLOW_ALL, check=_check_html),
    # public
    Route("POST", "/api/auth/token", "auth", "public", prepare=_login_form,
          check=_check_token_login),
    Route("POST", "/api/auth/login", "auth", "public", prepare=_login_json,
          check=_check_cookie_login),
    Route("GET", "/.well-known/jwks.json", "auth", "public", check=_check_jwks),
    # single sign-on is not configured here: its routes are 404 to everyone
    Route("GET", "/api/auth/oidc/login", "auth", "public", public_status=404),
    Route("GET", "/api/auth/oidc/callback", "auth", "public", public_status=404),
    Route("POST", "/api/auth/login/mfa", "auth", "public", public_status=401,
          prepare=lambda w, i: Cell(request={"json": {"mfa_token": "none", "code": "1"}})),
    Route("POST", "/api/auth/passkey/options", "auth", "public"),
    Route("POST", "/api/auth/passkey", "auth", "public", public_status=401,
          prepare=lambda w, i: Cell(request={"json": {"credential": {"id": "x"}}})),
    Route("GET", "/login", "auth", "public", check=_check_html),
    *(Route("GET", path, "auth", "public") for path in DOCS),
    *(Route("GET", "/healthz", service, "public") for service in
      ("auth", "upload", "metadata", "download")),
    *(Route("GET", "/metrics", service, "public", check=_check_metrics) for service in
      ("auth", "upload", "metadata", "download")),
    *(Route("GET", "/readyz", service, "public") for service in
      ("auth", "upload", "metadata", "download")),
    # the metadata service's catalog API: the service token, never a user's credentials
    # (every route it has, read from the app itself)
    *(
        Route(method, path, "metadata", "internal",
              prepare=_internal_body if method in ("POST", "PATCH", "PUT") else _internal_query,
              check=_check_internal)
        for method, path in sorted(declared_routes(Service.metadata))
        if path.startswith(INTERNAL + "/")
    ),
]  # fmt: skip


def _route_id(route: Route) -> str:
    same = [r for r in ROUTES if r.id == route.id]
    return route.id if len(same) == 1 else f"{route.id}@{route.service}"


def _fill(path: str, params: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return params[match.group(1)]

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_access(world: World, route: Route, identity: str) -> None:
    portal = world.portal
    cell = route.prepare(world, identity)
    headers = world.headers(identity)
    if route.fresh_login and identity in GOOD:
        headers = bearer(portal.login(world.usernames[identity], world.passwords[identity]))
    if route.kind == "page" and identity == "anonymous":
        headers = {**headers, "Accept": "text/html"}  # a browser
    cell.request.setdefault("headers", {}).update(headers)
    url = portal.url(route.service) + _fill(route.path, cell.params)

    response = portal.http.request(route.method, url, **cell.request)

    expected = route.expected(identity, portal.shape)
    assert response.status_code == expected, (
        f"{route.id} as {identity} on {portal.shape}: {response.status_code} "
        f"(want {expected}): {response.text[:300]}"
    )
    if expected == 401:
        assert response.headers.get("www-authenticate") == "Bearer"
        if route.method != "HEAD":
            assert response.json()["detail"]
    if expected == 303 and route.kind == "page":
        assert "/login?next=" in response.headers["location"]
    route.check(world, identity, cell, response)


# --- more ways a token can be wrong, on every service ---------------------------------------


def _variants(world: World) -> dict[str, str]:
    portal = world.portal
    key = forge.signing_key(portal.data_dir)
    owner_jwt = world.credentials["owner"]
    kid = forge.header_of(owner_jwt)["kid"]
    claims = forge.fresh(forge.claims_of(owner_jwt))
    admin_sid = forge.claims_of(world.credentials["admin"])["sid"]
    return {
        "hs256 keyed with the raw public key": forge.hs256(claims, forge.public_raw(key), kid),
        "hs256 keyed with the JWK x": forge.hs256(
            claims, forge.b64url(forge.public_raw(key)).encode(), kid
        ),
        "alg none, no kid": forge.unsigned(claims, None),
        "no kid": forge.eddsa(claims, key, None),
        "unknown kid": forge.eddsa(claims, key, "no-such-key"),
        "wrong issuer": forge.eddsa({**claims, "iss": "someone-else"}, key, kid),
        "wrong audience": forge.eddsa({**claims, "aud": "someone-else"}, key, kid),
        "no audience": forge.eddsa({k: v for k, v in claims.items() if k != "aud"}, key, kid),
        "no sid": forge.eddsa({k: v for k, v in claims.items() if k != "sid"}, key, kid),
        "no exp": forge.eddsa({k: v for k, v in claims.items() if k != "exp"}, key, kid),
        "not yet valid": forge.eddsa({**claims, "nbf": claims["exp"]}, key, kid),
        "unknown session": forge.eddsa({**claims, "sid": "no-such-session"}, key, kid),
        # A real key, a real session, but another user's name on it: the session says who.
        "owner's session, admin's name": forge.eddsa({**claims, "sub": ADMIN}, key, kid),
        "admin's session, owner's name": forge.eddsa({**claims, "sid": admin_sid}, key, kid),
        "truncated signature": owner_jwt[:-4],
        "garbage": "not.a.jwt",
        "api token lookalike": "fbt_" + "A" * 43,
    }


def test_other_bad_tokens_are_refused_by_every_service(world: World) -> None:
    portal = world.portal
    wrong = []
    for name, token in _variants(world).items():
        for service, probe in portal.probes(bearer(token), world.file["id"]).items():
            response = probe()
            if response.status_code != 401 or response.headers.get("www-authenticate") != (
                "Bearer"
            ):
                wrong.append(f"{name} on {service}: {response.status_code}")
    assert not wrong, "accepted or mis-answered:\n" + "\n".join(wrong)


def test_other_schemes_and_cookies_are_refused(world: World) -> None:
    portal = world.portal
    owner_jwt = world.credentials["owner"]
    cases = {
        "basic auth": {"Authorization": "Basic YWxpY2U6dXNlci1wYXNzd29yZC0wMTIz"},
        "token without scheme": {"Authorization": owner_jwt},
        "empty bearer": {"Authorization": "Bearer"},
        "garbage cookie": {"Cookie": "filebay_session=garbage"},
        "forged cookie": {"Cookie": f"filebay_session={world.credentials['alg-none-jwt']}"},
    }
    wrong = []
    for name, headers in cases.items():
        for service, probe in portal.probes(headers, world.file["id"]).items():
            if probe().status_code != 401:
                wrong.append(f"{name} on {service}")
    assert not wrong, wrong


def test_the_owner_token_works_on_every_service(world: World) -> None:
    """The positive control of the probes above."""
    for service, probe in world.portal.probes(world.as_owner(), world.file["id"]).items():
        assert probe().status_code == 200, service


# --- the table covers every route -----------------------------------------------------------


def test_every_route_is_in_the_matrix() -> None:
    listed = {(r.method, r.path) for r in ROUTES}
    declared = set().union(*(declared_routes(service) for service in Service))
    # Starlette answers HEAD wherever GET is declared; those HEADs need no cell of their own.
    missing = {(m, p) for m, p in declared - listed if not (m == "HEAD" and ("GET", p) in listed)}
    assert not missing, f"routes missing from ROUTES in {__file__}: {sorted(missing)}"
    assert not listed - declared, f"ROUTES lists routes no service has: {listed - declared}"
