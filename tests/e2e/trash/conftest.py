"""Fixtures of the trash tests: filebay with logins on in both shapes (``all`` on SQLite,
``split`` on a fresh PostgreSQL database), the trash on (the folder suite's ENV turns it off
for its own tests)."""

from tests.e2e.folders.support import ENV, Tree
from tests.harness.portal import no_portal_crash, shape_portal_fixture

__all__ = ["no_portal_crash", "portal"]

portal = shape_portal_fixture(Tree, {**ENV, "FILEBAY_TRASH_DAYS": "30"}, "filebay_trash")
