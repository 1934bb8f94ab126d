"""The sweeper: files left by a deleted account, and a new account of the same name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from filebay.catalog.files import NewFile
from filebay.config import Settings
from filebay.errors import BlobNotFound, Conflict
from filebay.ids import new_id
from filebay.sweeper import sweep_once
from filebay.wiring import open_local


def test_a_late_upload_of_a_deleted_account_never_reaches_a_new_account_of_that_name(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        settings = Settings(data_dir=tmp_path, admin_password="admin-password-1")
        services = await open_local(settings, signs=True)
        try:
            assert services.directory is not None and services.store is not None
            # An upload that landed after "ghost" was deleted (its token was still trusted).
            key = new_id()
            writer = await services.store.open_writer(key)
            await writer.write(b"late")
            await writer.commit()
            await services.catalog.add(
                NewFile(key, "ghost", "late.txt", 4, "text/plain", "0" * 64, key)
            )
            with pytest.raises(Conflict):
                await services.directory.create_user("ghost", "x", "user", None)

            removed = await sweep_once(services, orphans=False)

            assert removed["deleted_owner_file"] == 1
            assert await services.catalog.owners() == []
            with pytest.raises(BlobNotFound):
                await services.store.stat(key)
            user = await services.directory.create_user("ghost", "x", "user", None)
            assert user.username == "ghost"
        finally:
            await services.close()

    asyncio.run(scenario())
