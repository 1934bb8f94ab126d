"""Apply Alembic migrations on start (several replicas may start at once)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: all filebay processes on one PostgreSQL agree on it.
_PG_LOCK_ID = 0x46494C45


def _upgrade(connection: Connection) -> None:
    # Serialise concurrent starts (worker processes, replicas, the split shape's services on
    # one database): the second finds the schema done. Both locks end with the transaction.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    elif connection.dialect.name == "sqlite":
        # pysqlite runs DDL outside any transaction: two processes on a new file both
        # created the tables, and one failed to start. The write lock, taken before
        # Alembic reads the version, also makes the migration all or nothing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
