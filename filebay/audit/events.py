"""The types of audit events this release records (``GET /api/audit?type=``)."""

from __future__ import annotations

LOGIN_OK = "login.ok"
LOGIN_FAILED = "login.failed"
LOGOUT = "logout"
MFA_ENABLED = "mfa.enabled"
MFA_DISABLED = "mfa.disabled"
MFA_RESET = "mfa.reset"
PASSKEY_ADDED = "passkey.added"
PASSKEY_REMOVED = "passkey.removed"
SESSION_ENDED = "session.ended"
SESSIONS_ENDED = "sessions.ended"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
USER_CREATED = "user.created"
USER_CHANGED = "user.changed"
PASSWORD_CHANGED = "password.changed"
USER_DELETED = "user.deleted"

#: The failed-login causes (``reason``, shown to admins only).
UNKNOWN_USER, WRONG_PASSWORD, DISABLED = "unknown_user", "wrong_password", "disabled"
MFA_FAILED, LOCKED = "mfa_failed", "locked"
PASSKEY_FAILED, SSO_FAILED = "passkey_failed", "sso_failed"
