"""What the orphan guard asks the SQL catalog: its deployment identity, how many records it
holds, which blob keys it references, and whether its schema is the newest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.sql.engine import SessionRunner
from filebay.catalog.sql.files import unavailable_on_db_errors
from filebay.catalog.sql.migrate import MIGRATIONS
from filebay.catalog.sql.models import DeploymentRow, FileRow

#: The ``deployment`` row that holds the identity.
IDENTITY_KEY = "id"
#: Blob keys looked up per query.
BATCH = 500


@cache
def head_revision() -> str:
    """The newest Alembic revision this code knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


class SqlDeployment:
    """The deployment facts of one SQL catalog (the engine of a ``SqlCatalog``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def identity(self) -> str | None:
        """The identity written at first start, or ``None``."""

        def work(session: Session) -> str | None:
            row = session.get(DeploymentRow, IDENTITY_KEY)
            return None if row is None else row.value

        return await self._run.read(work)

    async def claim_identity(self, value: str) -> str:
        """Write ``value`` unless an identity is there already; the stored identity."""

        def work(session: Session) -> str:
            row = session.get(DeploymentRow, IDENTITY_KEY)
            if row is not None:
                return row.value
            session.add(DeploymentRow(key=IDENTITY_KEY, value=value, created_at=datetime.now(UTC)))
            return value

        try:
            return await unavailable_on_db_errors(self._run.write)(work)
        except IntegrityError:  # another process inserted it first: theirs stands
            stored = await self.identity()
            assert stored is not None
            return stored

    @unavailable_on_db_errors
    async def count_files(self) -> int:
        def work(session: Session) -> int:
            return int(session.scalar(select(func.count()).select_from(FileRow)) or 0)

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def referenced(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` that a record names as its blob."""
        found: set[str] = set()
        for start in range(0, len(keys), BATCH):
            batch = list(keys[start : start + BATCH])

            def work(session: Session, batch: list[str] = batch) -> list[str]:
                stmt = select(FileRow.blob_key).where(FileRow.blob_key.in_(batch))
                return list(session.scalars(stmt).all())

            found.update(await self._run.read(work))
        return found

    @unavailable_on_db_errors
    async def schema_revision(self) -> str | None:
        """The revision the database's schema is at; ``None`` when it has none."""

        def work(session: Session) -> str | None:
            if not inspect(session.connection()).has_table("alembic_version"):
                return None
            return session.scalar(text("SELECT version_num FROM alembic_version"))

        return await self._run.read(work)
