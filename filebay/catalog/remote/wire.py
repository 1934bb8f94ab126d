"""The internal wire protocol (``/internal/v1``): paths and bodies, shared by both sides.

The metadata service (``metadata_service/internal.py``) validates every request body with
the ``*Body`` models and answers with the ``*Out`` models; ``HttpCatalog``
(``filebay.catalog.remote.client``) sends the same ``*Body`` models and parses the answers
with the same ``*Out`` models. Request models carry the limits the server enforces; answer
models carry types only (what the database holds is what comes back).

The client builds its bodies with ``model_construct``: the server is the one place that
validates them (a value out of bounds is the server's 422, as it always was), and the
client does not pay for validating what it is about to send.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field

from filebay.catalog.archives import (
    MAX_SELECTION,
    ArchiveFile,
    ArchiveFolder,
    Selection,
    ZipLink,
)
from filebay.catalog.files import FileRecord, ListQuery, NewFile, OnConflict
from filebay.catalog.quota import Quota
from filebay.catalog.shares import Share
from filebay.catalog.uploads import UploadSession
from filebay.catalog.users import User

T = TypeVar("T")

PREFIX = "/internal/v1"

# Paths below PREFIX; ``{...}`` parts are filled with ``str.format``.
FILES = "/files"
FILES_BATCH = "/files/batch"
FILE = "/files/{file_id}"
FOLDERS_ENSURE = "/folders/ensure"
OWNERS = "/owners"
USAGE = "/usage"
AUTH_SESSION = "/auth/session"
AUTH_API_TOKEN = "/auth/api-token"
UPLOADS = "/uploads"
UPLOAD = "/uploads/{upload_id}"
UPLOAD_LOCK = "/uploads/{upload_id}/lock"
UPLOAD_RENEW = "/uploads/{upload_id}/renew"
UPLOAD_ADVANCE = "/uploads/{upload_id}/advance"
UPLOAD_UNLOCK = "/uploads/{upload_id}/unlock"
UPLOADS_COUNT = "/uploads-count"
UPLOADS_EXPIRED = "/uploads-expired"
SHARES_FIND = "/shares/find"
SHARE_COUNT = "/shares/{share_id}/count"
LIMITS_RESERVE = "/limits/reserve"
LIMITS_RELEASE = "/limits/release"
READY = "/ready"
ARCHIVE_SELECT = "/archives/select"
FILE_CRC32 = "/files/{file_id}/crc32"
ZIP_LINKS = "/zip-links"
ZIP_LINK_FIND = "/zip-links/find"

#: Most uploads one ``GET /uploads-expired`` answers.
MAX_EXPIRED = 1000


def _utc(value: datetime) -> datetime:
    # pydantic parses "Z" and "+00:00" into its own tzinfo; the rest of filebay (and
    # email.utils.format_datetime(usegmt=True) for tus headers) expects datetime.UTC.
    return value.astimezone(UTC) if value.tzinfo is not None else value


#: A datetime on the wire: ISO 8601, aware values come back in ``datetime.UTC``.
Instant = Annotated[datetime, AfterValidator(_utc)]


# Query strings


def owner_params(owner: str | None) -> dict[str, str]:
    """An owner's scope: ``owner=<name>``, or ``all=1`` for every owner (never implied by a
    missing parameter: the server refuses a request with neither)."""
    return {"all": "1"} if owner is None else {"owner": owner}


def list_params(owner: str | None, query: ListQuery) -> dict[str, str]:
    """``GET /files``: the scope and the parameters of ``filebay.http.listing.list_query``."""
    params = {**owner_params(owner), "limit": str(query.limit), "sort": query.sort.value}
    if query.cursor:
        params["cursor"] = query.cursor
    if query.q:
        params["q"] = query.q
    if query.folder_id is not None:
        params["folder_id"] = query.folder_id or "root"
    return params


def expired_params(now: datetime, limit: int) -> dict[str, str]:
    """``GET /uploads-expired``."""
    return {"now": now.isoformat(), "limit": str(limit)}


# Request bodies


class QuotaFields(BaseModel):
    """The owner's quota, as the calling service knows it (``null``: no limit)."""

    quota_bytes: int | None = Field(ge=0)
    quota_files: int | None = Field(ge=0)

    def quota(self) -> Quota | None:
        return Quota.of(self.quota_bytes, self.quota_files)


def _quota_fields(quota: Quota | None) -> dict[str, int | None]:
    quota = quota or Quota()
    return {"quota_bytes": quota.max_bytes, "quota_files": quota.max_files}


def _fields(item: Any) -> dict[str, Any]:
    """A contract dataclass's fields, shallow (``dataclasses.asdict`` deep-copies every
    value): the wire models carry the same names."""
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}


def _as(contract: type[T], model: BaseModel) -> T:
    """The contract dataclass ``contract`` from a wire model with its fields (and maybe more)."""
    return contract(**{f.name: getattr(model, f.name) for f in dataclasses.fields(contract)})  # type: ignore[arg-type]


class NewFileBody(BaseModel):
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    owner: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0)
    content_type: str = Field(max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob_key: str = Field(max_length=64)
    folder_id: str = Field(default="", pattern=r"^([0-9a-f]{32})?$")
    on_conflict: OnConflict = OnConflict.rename
    crc32: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)

    @classmethod
    def of(cls, new: NewFile) -> NewFileBody:
        return cls.model_construct(**_fields(new))

    def new_file(self) -> NewFile:
        return _as(NewFile, self)


class AddBody(NewFileBody, QuotaFields):
    """``POST /files``."""

    @classmethod
    def of_file(cls, new: NewFile, quota: Quota | None) -> AddBody:
        return cls.model_construct(**_fields(new), **_quota_fields(quota))


class AddManyBody(QuotaFields):
    """``POST /files/batch``: one owner's files, all or none."""

    #: A multipart upload's files (the public endpoint caps a request's parts too).
    files: list[NewFileBody] = Field(min_length=1, max_length=10_000)

    @classmethod
    def of(cls, news: list[NewFile], quota: Quota | None) -> AddManyBody:
        files = [NewFileBody.of(new) for new in news]
        return cls.model_construct(files=files, **_quota_fields(quota))


class EnsureFoldersBody(BaseModel):
    """``POST /folders/ensure``: the folder ``parent_id``/names…, made where missing."""

    owner: str = Field(min_length=1, max_length=64)
    parent_id: str = Field(pattern=r"^([0-9a-f]{32})?$")
    names: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(max_length=64)


class FolderIdOut(BaseModel):
    id: str


class RenameBody(BaseModel):
    """``PATCH /files/{file_id}``."""

    name: str = Field(min_length=1, max_length=1024)


class SessionLookup(BaseModel):
    """``POST /auth/session``."""

    username: str = Field(max_length=64)
    session_hash: str = Field(max_length=64)


class TokenLookup(BaseModel):
    """``POST /auth/api-token`` (and ``POST /shares/find``: a share link's token)."""

    token_hash: str = Field(max_length=64)


class UploadBody(QuotaFields):
    """``POST /uploads``: a new upload session, checked against the owner's quota."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    owner: str = Field(min_length=1, max_length=64)
    length: int = Field(ge=0)
    offset: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(max_length=255)
    metadata_header: str = Field(max_length=8192)
    created_at: Instant
    expires_at: Instant

    @classmethod
    def of(cls, session: UploadSession, quota: Quota | None) -> UploadBody:
        return cls.model_construct(**_fields(session), **_quota_fields(quota))

    def session(self) -> UploadSession:
        return _as(UploadSession, self)


class LockBody(BaseModel):
    """``POST /uploads/{upload_id}/lock``."""

    owner: str = Field(max_length=64)
    token: str = Field(max_length=32)
    lease_seconds: int = Field(ge=1, le=3600)


class RenewBody(BaseModel):
    """``POST /uploads/{upload_id}/renew``."""

    token: str = Field(max_length=32)
    lease_seconds: int = Field(ge=1, le=3600)


class AdvanceBody(BaseModel):
    """``POST /uploads/{upload_id}/advance``."""

    token: str = Field(max_length=32)
    offset: int = Field(ge=0)
    expires_at: Instant
    release: bool = False


class UnlockBody(BaseModel):
    """``POST /uploads/{upload_id}/unlock``."""

    token: str = Field(max_length=32)


class CountBody(BaseModel):
    """``POST /shares/{share_id}/count``."""

    now: Instant


LimitKey = Annotated[str, Field(max_length=200)]


class ReserveBody(BaseModel):
    """``POST /limits/reserve``: one limit per key."""

    keys: list[LimitKey] = Field(min_length=1, max_length=4)
    limits: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, max_length=4)
    window: int = Field(ge=1)


class ReleaseBody(BaseModel):
    """``POST /limits/release``."""

    uncount: list[LimitKey] = Field(max_length=4)
    reset: list[LimitKey] = Field(max_length=4)


_ID = r"^[0-9a-f]{32}$"


class SelectBody(BaseModel):
    """``POST /archives/select``: a zip's files and folders (``""``: the root)."""

    owner: str = Field(min_length=1, max_length=64)
    file_ids: list[Annotated[str, Field(pattern=_ID)]] = Field(max_length=MAX_SELECTION)
    folder_ids: list[Annotated[str, Field(pattern=r"^([0-9a-f]{32})?$")]] = Field(
        max_length=MAX_SELECTION
    )


class Crc32Body(BaseModel):
    """``POST /files/{file_id}/crc32``."""

    crc32: int = Field(ge=0, le=0xFFFFFFFF)


class ZipLinkBody(SelectBody):
    """``POST /zip-links``."""

    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    expires_at: Instant

    @classmethod
    def of(cls, token_hash: str, link: ZipLink) -> ZipLinkBody:
        return cls.model_construct(token_hash=token_hash, **_fields(link))

    def link(self) -> ZipLink:
        return _as(ZipLink, self)


class ZipLinkLookup(BaseModel):
    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    now: Instant


# Answers


class FileOut(BaseModel):
    """A file record (``FileRecord.to_json``'s shape)."""

    id: str
    owner: str
    name: str
    size: int
    content_type: str
    sha256: str
    blob_key: str
    created_at: Instant
    updated_at: Instant
    shared: bool
    folder_id: str = ""
    path: str = ""
    replaced_blob_key: str | None = None
    crc32: int | None = None

    @classmethod
    def of(cls, record: FileRecord) -> FileOut:
        return cls.model_construct(**_fields(record))

    def record(self) -> FileRecord:
        return _as(FileRecord, self)


class ArchiveFolderOut(BaseModel):
    path: str
    modified_at: Instant


class ArchiveFileOut(BaseModel):
    path: str
    file: FileOut


class SelectionOut(BaseModel):
    """``POST /archives/select``."""

    folders: list[ArchiveFolderOut]
    files: list[ArchiveFileOut]

    @classmethod
    def of(cls, selection: Selection) -> SelectionOut:
        folders = [ArchiveFolderOut.model_construct(**_fields(f)) for f in selection.folders]
        files = [
            ArchiveFileOut.model_construct(path=f.path, file=FileOut.of(f.record))
            for f in selection.files
        ]
        return cls.model_construct(folders=folders, files=files)

    def selection(self) -> Selection:
        return Selection(
            [_as(ArchiveFolder, f) for f in self.folders],
            [ArchiveFile(f.path, f.file.record()) for f in self.files],
        )


class ZipLinkOut(BaseModel):
    owner: str
    file_ids: list[str]
    folder_ids: list[str]
    expires_at: Instant


class MaybeZipLinkOut(BaseModel):
    link: ZipLinkOut | None

    @classmethod
    def of(cls, link: ZipLink | None) -> MaybeZipLinkOut:
        out = None if link is None else ZipLinkOut.model_construct(**_fields(link))
        return cls.model_construct(link=out)

    def zip_link(self) -> ZipLink | None:
        return None if self.link is None else _as(ZipLink, self.link)


class FilesOut(BaseModel):
    """``POST /files/batch``: the records, in the order of the request."""

    files: list[FileOut]


class PageOut(BaseModel):
    """``GET /files``."""

    items: list[FileOut]
    next_cursor: str | None


class OwnersOut(BaseModel):
    owners: list[str]


class UsageOut(BaseModel):
    bytes: int


class UserOut(BaseModel):
    username: str
    role: str
    quota_bytes: int | None
    quota_files: int | None
    disabled: bool
    sessions_valid_after: Instant
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_construct(**_fields(user))

    def user(self) -> User:
        return _as(User, self)


class MaybeUserOut(BaseModel):
    """``POST /auth/session``, ``POST /auth/api-token``: ``null`` when nobody matches."""

    user: UserOut | None

    @classmethod
    def of(cls, user: User | None) -> MaybeUserOut:
        return cls.model_construct(user=None if user is None else UserOut.of(user))


class UploadOut(BaseModel):
    """An upload session (``UploadSession.to_json``'s shape)."""

    id: str
    owner: str
    length: int
    offset: int
    name: str
    content_type: str
    metadata_header: str
    created_at: Instant
    expires_at: Instant

    @classmethod
    def of(cls, session: UploadSession) -> UploadOut:
        return cls.model_construct(**_fields(session))

    def session(self) -> UploadSession:
        return _as(UploadSession, self)


class CreatedOut(BaseModel):
    """``POST /uploads``."""

    id: str


class UploadsOut(BaseModel):
    """``GET /uploads-expired``."""

    items: list[UploadOut]


class CountOut(BaseModel):
    """``GET /uploads-count``."""

    count: int


class ShareOut(BaseModel):
    """A share link (``Share.to_json``'s shape)."""

    id: str
    file_id: str
    owner: str
    created_at: Instant
    expires_at: Instant | None
    password_hash: str | None
    max_downloads: int | None
    downloads: int
    kind: str = "file"

    @classmethod
    def of(cls, share: Share) -> ShareOut:
        return cls.model_construct(**_fields(share))

    def share(self) -> Share:
        return _as(Share, self)


class MaybeShareOut(BaseModel):
    """``POST /shares/find``: ``null`` when no usable owner's link has this token."""

    share: ShareOut | None

    @classmethod
    def of(cls, share: Share | None) -> MaybeShareOut:
        return cls.model_construct(share=None if share is None else ShareOut.of(share))


class CountedOut(BaseModel):
    """``POST /shares/{share_id}/count``: false when expired or used up."""

    counted: bool


class RetryAfterOut(BaseModel):
    """``POST /limits/reserve``: 0 when the attempt was counted, else seconds to wait."""

    retry_after: int


class ReadyOut(BaseModel):
    status: str
