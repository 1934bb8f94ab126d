"""files.crc32: each file's CRC-32 beside its SHA-256 (zip downloads with cheap ranges)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Computed on the way in from now on; NULL for files uploaded before, computed once, lazily,
the first time a zip needs it, and kept.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("crc32", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("crc32")
