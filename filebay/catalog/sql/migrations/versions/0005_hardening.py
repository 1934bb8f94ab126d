"""deployment identity, per-user file-count quota

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from filebay.catalog.sql.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per fact about this deployment (its identity, written once at first start);
    # the blob store keeps the same identity, so a catalog and a store that do not belong
    # together are noticed before anything is swept.
    op.create_table(
        "deployment",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_deployment"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("quota_files", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("quota_files")
    op.drop_table("deployment")
