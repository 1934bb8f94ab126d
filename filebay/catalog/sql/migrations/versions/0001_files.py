"""files table with keyset indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from filebay.catalog.sql.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.UniqueConstraint("blob_key", name="uq_files_blob_key"),
    )
    for cols in (
        ("owner", "created_at", "id"),
        ("owner", "name", "id"),
        ("owner", "size", "id"),
        ("created_at", "id"),
        ("name", "id"),
        ("size", "id"),
    ):
        op.create_index("ix_files_" + "_".join(cols), "files", list(cols))


def downgrade() -> None:
    op.drop_table("files")
