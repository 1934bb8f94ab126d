"""Domain errors. Each carries a stable code and an HTTP status; one handler renders them."""

from __future__ import annotations


class FilebayError(Exception):
    """Base of every error filebay answers with on purpose."""

    status: int = 500
    code: str = "internal"
    detail: str = "internal error"
    #: More fields of the JSON answer (e.g. ``existing_id`` of a taken name).
    extra: dict[str, str] = {}

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail:
            self.detail = detail


class NotFound(FilebayError):
    status, code, detail = 404, "not_found", "not found"


class BadRequest(FilebayError):
    status, code, detail = 400, "bad_request", "bad request"


class NameTooLong(BadRequest):
    code, detail = "name_too_long", "name is longer than 255 bytes of UTF-8"


class InvalidCursor(BadRequest):
    code, detail = "invalid_cursor", "invalid cursor"


class MalformedUpload(BadRequest):
    code, detail = "malformed_upload", "malformed multipart body"


class TooLarge(FilebayError):
    status, code, detail = 413, "too_large", "upload exceeds the maximum size"


class RangeNotSatisfiable(FilebayError):
    status, code, detail = 416, "range_not_satisfiable", "range not satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size


class StorageFull(FilebayError):
    status, code, detail = 507, "storage_full", "blob store is full"


class Unavailable(FilebayError):
    status, code, detail = 503, "unavailable", "service unavailable"


class CatalogUnavailable(Unavailable):
    code, detail = "catalog_unavailable", "catalog unavailable"


class CatalogOutcomeUnknown(CatalogUnavailable):
    """A catalog write was sent but its answer was lost (timeout, dropped connection): it may
    have happened. Whoever wrote a blob for it must keep the blob; fsck sweeps true orphans."""


class StorageUnavailable(Unavailable):
    code, detail = "storage_unavailable", "blob store unavailable"


class BlobNotFound(NotFound):
    code, detail = "blob_not_found", "blob not found"


class Unauthorized(FilebayError):
    status, code, detail = 401, "unauthorized", "not authenticated"


class ClientGone(Exception):
    """The client disconnected mid-request; nothing is stored and nobody is answered."""


class Forbidden(FilebayError):
    status, code, detail = 403, "forbidden", "not allowed"


class Conflict(FilebayError):
    status, code, detail = 409, "conflict", "already exists"


class NameTaken(Conflict):
    """Another entry of the folder has this name (after NFC and case folding)."""

    code, detail = "name_taken", "an entry with this name exists in the folder"

    def __init__(self, existing_id: str, detail: str | None = None) -> None:
        super().__init__(detail)
        self.extra = {"existing_id": existing_id}


class FolderCycle(Conflict):
    code, detail = "cycle", "a folder cannot move into itself or below itself"


class LastAdmin(Conflict):
    detail = "the last enabled admin cannot be demoted, disabled or deleted"


class QuotaExceeded(TooLarge):
    code, detail = "quota_exceeded", "upload would exceed your quota"


class TooManyAttempts(FilebayError):
    status, code, detail = 429, "too_many_attempts", "too many failed logins; try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class TooManyAtOnce(TooManyAttempts):
    """This client address already has as many password checks in progress as it may."""

    code, detail = "too_many_at_once", "too many logins at once from this address; try again"


class HashingBusy(FilebayError):
    """The process has as many password checks in progress as it may: this one was not
    made (nor counted as a failure)."""

    status, code, detail = 503, "hashing_busy", "too many logins being checked; try again"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class CsrfFailed(Forbidden):
    code, detail = "csrf_failed", "missing or wrong CSRF token"


class Gone(FilebayError):
    status, code, detail = 410, "gone", "upload expired"


class UploadLocked(FilebayError):
    status, code, detail = 423, "upload_locked", "another request is writing this upload"


class OffsetMismatch(Conflict):
    code, detail = "offset_mismatch", "Upload-Offset does not match the upload's offset"


class ChecksumMismatch(FilebayError):
    status, code, detail = 460, "checksum_mismatch", "Upload-Checksum does not match the data"


class PreconditionFailed(FilebayError):
    status, code, detail = 412, "precondition_failed", "If-Match or If-Unmodified-Since failed"


class UnsupportedVersion(FilebayError):
    status, code, detail = 412, "unsupported_version", "Tus-Resumable 1.0.0 required"


class UnsupportedMediaType(FilebayError):
    status, code, detail = (
        415,
        "unsupported_media_type",
        "Content-Type must be application/offset+octet-stream",
    )


class RequestTimeout(FilebayError):
    status, code, detail = 408, "request_timeout", "the request body arrived too slowly"


class BodyTooLarge(FilebayError):
    status, code, detail = 413, "body_too_large", "request body too large"


class SsoFailed(FilebayError):
    """A single sign-on that did not check out (state, code, ID token, provider's answer)."""

    status, code, detail = 400, "sso_failed", "single sign-on failed"


class PasswordLoginOff(FilebayError):
    status, code, detail = 403, "password_login_off", "password login is turned off here"


class MfaEnrolmentRequired(FilebayError):
    status, code = 403, "mfa_enrolment_required"
    detail = "set up two-step login first (/account/security)"


class MfaRequired(Unauthorized):
    code, detail = "mfa_required", "this account needs its TOTP code (form field totp)"


class WrongCode(BadRequest):
    """A wrong second-factor code from someone signed in (a 401 would read as "log in")."""

    code, detail = "wrong_code", "wrong code"


class LoginRefused(Unauthorized):
    """A failed password login: one answer for every cause, the cause kept for the audit
    log (admins only): ``unknown_user``, ``wrong_password`` or ``disabled``."""

    def __init__(self, reason: str) -> None:
        super().__init__("wrong username or password")
        self.reason = reason
