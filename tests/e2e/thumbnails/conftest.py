"""Fixtures of the thumbnail tests: filebay with logins on, in both shapes (local blob store;
SQLite all-in-one, PostgreSQL split), once per package; the tests keep apart by fresh users."""

from __future__ import annotations

import pytest

from tests.harness.http import ADMIN_PASSWORD, bearer, unique
from tests.harness.portal import Portal, no_portal_crash, shape_portal_fixture

__all__ = ["alice", "no_portal_crash", "portal"]

ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024),
    "FILEBAY_LOG_LEVEL": "info",
}


portal = shape_portal_fixture(Portal, ENV, "filebay_thumbs")


@pytest.fixture
def alice(portal: Portal) -> dict[str, str]:
    """The bearer headers of a fresh user."""
    username = unique("alice")
    portal.add_user(username)
    return bearer(portal.login(username))
