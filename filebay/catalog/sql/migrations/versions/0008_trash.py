"""the trash, zip links and folder shares (DESIGN §8.2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

- ``trash``: one row per delete (a file, or a folder with everything below it). The entries
  stay in ``files``/``folders`` with ``trash_id`` set (hidden from every listing), the top one
  out of the tree (its name freed), until restored or purged.
- ``zip_links``: ``POST /api/zip`` selections, by token hash, for 24 hours.
- ``shares.kind``: ``file`` or ``folder`` (``file_id`` then holds the folder's id).
"""

import sqlalchemy as sa
from alembic import op

from filebay.catalog.sql.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trash",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("original_path", sa.String(8192), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trash"),
        sa.UniqueConstraint("entry_id", name="uq_trash_entry_id"),
    )
    op.create_index("ix_trash_owner_deleted_at_id", "trash", ["owner", "deleted_at", "id"])
    op.create_index("ix_trash_deleted_at", "trash", ["deleted_at"])
    for table in ("files", "folders"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("trash_id", sa.String(32), nullable=True))
        op.create_index(f"ix_{table}_trash_id", table, ["trash_id"])
    op.create_table(
        "zip_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("selection", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_zip_links"),
    )
    op.create_index("ix_zip_links_expires_at", "zip_links", ["expires_at"])
    with op.batch_alter_table("shares") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="file"))


def downgrade() -> None:
    with op.batch_alter_table("shares") as batch:
        batch.drop_column("kind")
    op.drop_table("zip_links")
    for table in ("files", "folders"):
        op.drop_index(f"ix_{table}_trash_id", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("trash_id")
    op.drop_table("trash")
