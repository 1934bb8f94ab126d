"""Fixtures of the folder tests: filebay with logins on, in both shapes (``all`` on SQLite,
``split`` on a fresh PostgreSQL database), once for the package: the tests keep apart by
users of their own."""

from tests.e2e.folders.support import ENV, Tree
from tests.harness.portal import no_portal_crash, shape_portal_fixture

__all__ = ["no_portal_crash", "portal"]

portal = shape_portal_fixture(Tree, ENV, "filebay_folders")
