"""filebay's Python client: ``Client`` over the HTTP API (the SDK), and the ``filebay``
command-line client built on it (``commands``)."""

from filebay.client.api import ROOT, Client
from filebay.client.errors import ApiError, ClientError, NotLoggedIn, UsageError
from filebay.client.records import Entry, FileRecord, FolderRecord, Page, Share

__all__ = [
    "ROOT",
    "ApiError",
    "Client",
    "ClientError",
    "Entry",
    "FileRecord",
    "FolderRecord",
    "NotLoggedIn",
    "Page",
    "Share",
    "UsageError",
]
