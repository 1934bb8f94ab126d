"""schemathesis against each service's own OpenAPI schema, as a logged-in user (the admin,
with a bearer JWT): no 5xx, and every answer is one the schema documents (status, media type,
body schema, headers). Negative (invalid) data must be refused with a 4xx.

Per operation, examples are generated three ways: valid data, invalid data, and valid data
aimed at things that exist (a real file id, share token, tus upload, API token and user), so
the happy paths run too. Excluded: ``admin`` as ``{username}`` (deleting, disabling or
demoting the logged-in admin would end the run; the other users are fair game). ``POST
/api/auth/logout`` gets a fresh JWT for each example, so it cannot log the fuzzer out."""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.e2e.auth.support import Portal
from tests.harness.http import ADMIN, ADMIN_PASSWORD, bearer

MAX_EXAMPLES = 25
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]
# A multipart part is text: "file" made an integer (invalid data to schemathesis) arrives as a
# valid one-part file, rightly stored. Its other checks still run.
NO_NEGATIVE_CHECK = {("POST", "/api/files")}
# Where a 401 is a correct answer to the logged-in fuzzer: wrong passwords.
LOGINS = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/login"),
    # a second step and a passkey sign-in: a wrong code or assertion is a 401
    ("POST", "/api/auth/login/mfa"),
    ("POST", "/api/auth/passkey"),
}

# Operations that random valid data rarely gets through (their happy paths have their own
# tests): logins need a real password, new users a name and password that pass the rules,
# and tus requests Tus-Resumable: 1.0.0 and well-formed Upload-* headers.
MAY_MISS_2XX = {
    "POST /api/auth/login",
    "POST /api/auth/token",
    # a valid second step needs a real mfa_token and TOTP code, a passkey sign-in a real
    # authenticator's assertion: their happy paths are in tests/e2e/auth and tests/e2e/sso
    "POST /api/auth/login/mfa",
    "POST /api/auth/passkey",
    "POST /api/users",
    "POST /api/tus/",
    "HEAD /api/tus/{upload_id}",
    "PATCH /api/tus/{upload_id}",
    "DELETE /api/tus/{upload_id}",
    # {token_id} is the admin's own token and {username} a victim who may be deleted first:
    # revoking a user's tokens has its happy paths in tests/e2e/auth/test_incident.py.
    "DELETE /api/users/{username}/tokens",
    "DELETE /api/users/{username}/tokens/{token_id}",
    # The fuzzer's file is text, which has no thumbnail (404); pictures, PDFs and videos
    # have their happy paths in tests/e2e/thumbnails.
    "GET /api/files/{file_id}/thumbnail",
    # {token} is a file link's and {folder_id} is no folder of the fuzzer's: zips, zip links
    # and folder links have their happy paths in tests/e2e/zip, the trash in tests/e2e/trash.
    "GET /api/folders/{folder_id}/zip",
    "HEAD /api/folders/{folder_id}/zip",
    "POST /api/zip",
    "GET /api/zip/{token}",
    "HEAD /api/zip/{token}",
    "GET /s/{token}/files/{file_id}",
    "HEAD /s/{token}/files/{file_id}",
    "GET /s/{token}/zip",
    "HEAD /s/{token}/zip",
    "POST /api/folders/{folder_id}/shares",
    "GET /api/folders/{folder_id}/shares",
    "POST /api/trash/{item_id}/restore",
    "DELETE /api/trash/{item_id}",
    # Second factors and sessions need a real TOTP code, authenticator or other session of
    # the admin's: their happy paths are in tests/e2e/auth (test_totp, test_sessions) and
    # tests/e2e/sso (passkeys in Chromium's virtual authenticator).
    "POST /api/me/totp/confirm",
    "DELETE /api/me/totp",
    "DELETE /api/users/{username}/mfa",
    "POST /api/me/passkeys",
    "DELETE /api/me/passkeys/{passkey_id}",
    "DELETE /api/me/sessions/{session_id}",
}

SERVICES = [
    ("single", "all"),
    ("split", "auth"),
    ("split", "metadata"),
    ("split", "upload"),
    ("split", "download"),
]


@dataclass
class World:
    """Things that exist, for path parameters: owned by the admin, or a victim user."""

    token: str  # the admin's JWT
    path_parameters: dict[str, str]


def _world(portal: Portal) -> World:
    http = portal.http
    token = portal.login(ADMIN, ADMIN_PASSWORD)
    admin = bearer(token)
    victim = f"fuzz-victim-{secrets.token_hex(3)}"
    portal.add_user(victim)
    files = [portal.put(token, f"fuzz-{n}.txt", b"fuzz bytes %d" % n) for n in range(3)]
    # Another file than {file_id}: deleting that one must not take the share link with it.
    shares = f"{portal.metadata}/api/files/{files[1]['id']}/shares"
    share = http.post(shares, json={}, headers=admin)
    assert share.status_code == 201, share.text
    metadata = "filename " + base64.b64encode(b"fuzz.bin").decode()
    tus = http.post(
        f"{portal.upload}/api/tus/",
        headers={
            **admin,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "100",
            "Upload-Metadata": metadata,
        },
    )
    assert tus.status_code == 201, tus.text
    api_token = portal.new_api_token(token, "fuzz")
    folder = http.post(
        f"{portal.metadata}/api/folders",
        json={"name": f"fuzz-{secrets.token_hex(3)}"},
        headers=admin,
    )
    assert folder.status_code == 201, folder.text
    return World(
        token,
        {
            "folder_id": folder.json()["id"],
            "file_id": files[0]["id"],
            "token": share.json()["token"],
            "upload_id": tus.headers["location"].rsplit("/", 1)[1],
            "token_id": api_token["id"],
            "username": victim,
            "name": "fuzz-upload.txt",
        },
    )


def _order(operation: Any) -> tuple[int, str]:
    """Deleting things last, so the other operations meet them; logout at the very end."""
    method = operation.method.upper()
    if operation.path == "/api/auth/logout":
        return (2, operation.path)
    return (1 if method == "DELETE" else 0, operation.path)


def _strategy(operation: Any, world: World) -> st.SearchStrategy[Any]:
    options = [operation.as_strategy(GenerationMode.POSITIVE)]
    # (an operation with nothing that can be made invalid has no negative strategy)
    with contextlib.suppress(Exception):
        options.append(operation.as_strategy(GenerationMode.NEGATIVE))
    names = {p.name for p in operation.path_parameters}
    real = {k: v for k, v in world.path_parameters.items() if k in names}
    if real:
        options.append(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real),
        )
    return st.one_of(options)


def _fuzz_operation(portal: Portal, operation: Any, world: World, statuses: Counter[int]) -> None:
    """Up to MAX_EXAMPLES requests; raises what schemathesis found."""
    logout = operation.path == "/api/auth/logout"
    own_checks = CHECKS
    if (operation.method.upper(), operation.path) in NO_NEGATIVE_CHECK:
        own_checks = [c for c in CHECKS if c is not checks.negative_data_rejection]

    @given(case=_strategy(operation, world))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        assume(case.path_parameters is None or case.path_parameters.get("username") != ADMIN)
        token = portal.login(ADMIN, ADMIN_PASSWORD) if logout else world.token
        response = case.call(headers=bearer(token), timeout=60)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=own_checks, headers=bearer(token))

    run()


def _fuzz(portal: Portal, base: str, world: World) -> tuple[list[str], dict[str, Counter[int]]]:
    """Runs every operation of ``base``'s schema; (failures, statuses by operation)."""
    raw = httpx.get(f"{base}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=base)
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order)
    failures: list[str] = []
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        try:
            _fuzz_operation(portal, operation, world, statuses[label])
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is Base…
            failures.append(f"{label}:\n{exc}"[:3000])
    return failures, statuses


@pytest.mark.parametrize(("shape", "service"), SERVICES, ids=[s for _, s in SERVICES])
def test_every_operation_answers_as_its_schema_says(
    shape: str, service: str, single: Portal, split: Portal
) -> None:
    portal = single if shape == "single" else split
    base = portal.url("upload" if service == "all" else service)
    world = _world(portal)
    failures, statuses = _fuzz(portal, base, world)
    # DELETE /api/me/sessions ("sign out everywhere else") ended the cached admin JWT.
    portal.forget_admin_token()
    assert not failures, "\n\n".join(failures)
    assert statuses, "the schema has no operations"
    # Logged in all along: nothing but the login routes answered 401.
    unauthorized = {
        label: counts[401]
        for label, counts in statuses.items()
        if counts[401] and tuple(label.split(" ", 1)) not in LOGINS
    }
    assert not unauthorized, unauthorized
    # The happy paths ran too (valid data aimed at real things reaches 2xx).
    reached = {label for label, counts in statuses.items() if any(s < 300 for s in counts)}
    missed = set(statuses) - reached - MAY_MISS_2XX
    assert not missed, f"never answered 2xx: {sorted(missed)}"


def test_error_answers_are_the_documented_json_model(single: Portal) -> None:
    """The schema's error model is what errors look like, 400 and 422 included."""
    http, base = single.http, single.upload
    schema = http.get(f"{base}/openapi.json").json()
    model = schema["components"]["schemas"]["ErrorBody"]
    assert set(model["required"]) == {"detail", "code"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    admin = bearer(single.admin_token())
    answers = [
        http.get(f"{base}/api/files", params={"limit": "0"}, headers=admin),  # 400
        http.patch(f"{base}/api/files/x", json={"name": 5}, headers=admin),  # 422
        http.get(f"{base}/api/files/nope", headers=admin),  # 404
        http.get(f"{base}/api/me"),  # 401
    ]
    assert [r.status_code for r in answers] == [400, 422, 404, 401]
    for response in answers:
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) == {"detail", "code"}
        assert isinstance(response.json()["detail"], str)


def test_content_routes_document_bytes_of_any_type(single: Portal) -> None:
    schema = single.http.get(f"{single.upload}/openapi.json").json()
    for path in ("/api/files/{file_id}/content", "/s/{token}/content"):
        responses = schema["paths"][path]["get"]["responses"]
        assert list(responses["200"]["content"]) == ["*/*"]
        assert list(responses["206"]["content"]) == ["*/*"]
        assert {"304", "404", "416"} <= set(responses)


# --- what the fuzzer found, pinned ------------------------------------------------------------


def test_values_the_database_refuses_are_the_callers_400_not_an_outage(split: Portal) -> None:
    """A NUL character is valid JSON and form data, but PostgreSQL refuses it in text: that
    is a 400 for the caller, not a 503 "catalog unavailable"."""
    http, admin = split.http, split.admin()
    answers = {
        "token name": http.post(f"{split.auth}/api/tokens", json={"name": "a\x00b"}, headers=admin),
        "login": http.post(
            f"{split.auth}/api/auth/token", data={"username": "ad\x00min", "password": "x"}
        ),
    }
    for what, response in answers.items():
        assert response.status_code == 400, (what, response.status_code, response.text)
        assert response.json()["code"] == "bad_request"
    assert http.get(f"{split.metadata}/readyz").status_code == 200


@pytest.mark.parametrize("quota", [2**63, 10**30])
def test_a_quota_past_64_bits_is_refused(single: Portal, split: Portal, quota: int) -> None:
    for portal in (single, split):
        r = portal.http.post(
            f"{portal.auth}/api/users",
            json={
                "username": f"q-{secrets.token_hex(3)}",
                "password": "p" * 12,
                "quota_bytes": quota,
            },
            headers=portal.admin(),
        )
        assert r.status_code == 422, r.text


def test_json_and_form_bodies_past_the_limit_answer_413_however_they_are_sent(
    single: Portal,
) -> None:
    http, admin = single.http, single.admin()
    big = b'{"name": "' + b"a" * (2 * 1024 * 1024) + b'"}'

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    json_type = {**admin, "Content-Type": "application/json"}
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = {
        "json with Content-Length": http.post(
            f"{single.auth}/api/tokens", content=big, headers=json_type
        ),
        "chunked json": http.post(
            f"{single.auth}/api/tokens", content=chunked(), headers=json_type
        ),
        "chunked form": http.post(
            f"{single.auth}/api/auth/token", content=chunked(), headers=form_type
        ),
    }
    for what, response in answers.items():
        assert response.status_code == 413, (what, response.status_code, response.text)
        assert response.json()["code"] == "body_too_large", what
