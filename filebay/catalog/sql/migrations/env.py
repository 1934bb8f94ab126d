"""Alembic environment. filebay runs migrations on a connection it passes in
(``config.attributes["connection"]``); the ``alembic`` command line is not needed."""

from __future__ import annotations

from alembic import context

from filebay.catalog.sql.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through filebay.catalog.sql.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
