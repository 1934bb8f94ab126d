"""folders: folder records, files in folders, names unique per folder

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Every existing file goes to the top of its owner's tree. Two names that are the same after
NFC + case folding cannot stand in one folder any more: the later ones are renamed
``name (2).ext``, ``name (3).ext``… (oldest keeps its name); nothing is deleted.
"""

import sqlalchemy as sa
from alembic import op

from filebay.catalog.sql.models import UTCDateTime
from filebay.names import name_key, numbered

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_folders"),
    )
    op.create_index(
        "ix_folders_owner_parent_id_name_id", "folders", ["owner", "parent_id", "name", "id"]
    )
    op.create_index(
        "ix_folders_owner_parent_id_created_at_id",
        "folders",
        ["owner", "parent_id", "created_at", "id"],
    )
    op.create_index("ix_folders_parent_id", "folders", ["parent_id"])
    op.create_table(
        "entry_names",
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("name_key", sa.String(1024), nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("owner", "parent_id", "name_key", name="pk_entry_names"),
        sa.UniqueConstraint("entry_id", name="uq_entry_names_entry_id"),
    )
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("folder_id", sa.String(32), nullable=False, server_default=""))
    for columns in (["name"], ["size"], ["created_at"]):
        cols = ["owner", "folder_id", *columns, "id"]
        op.create_index(f"ix_files_{'_'.join(cols)}", "files", cols)
    op.create_index("ix_files_folder_id", "files", ["folder_id"])
    _claim_existing_names()


def _claim_existing_names() -> None:
    """One name row per existing file, oldest first; a clash renames the newer file."""
    conn = op.get_bind()
    files = sa.table(
        "files",
        sa.column("id", sa.String),
        sa.column("owner", sa.String),
        sa.column("name", sa.String),
        sa.column("created_at", UTCDateTime()),
    )
    names = sa.table(
        "entry_names",
        sa.column("owner", sa.String),
        sa.column("parent_id", sa.String),
        sa.column("name_key", sa.String),
        sa.column("entry_id", sa.String),
    )
    taken: dict[str, set[str]] = {}
    last: tuple = ()
    while True:
        query = sa.select(files.c.owner, files.c.created_at, files.c.id, files.c.name)
        if last:
            columns = (files.c.owner, files.c.created_at, files.c.id)
            after = sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(last, columns, strict=True)))
            query = query.where(sa.tuple_(*columns) > after)
        rows = conn.execute(
            query.order_by(files.c.owner, files.c.created_at, files.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        claims = []
        for owner, _created, file_id, name in rows:
            keys = taken.setdefault(owner, set())
            final, n = name, 1
            while name_key(final) in keys:
                n += 1
                final = numbered(name, n)
            keys.add(name_key(final))
            if final != name:
                conn.execute(sa.update(files).where(files.c.id == file_id).values(name=final))
            claims.append(
                {"owner": owner, "parent_id": "", "name_key": name_key(final), "entry_id": file_id}
            )
        conn.execute(sa.insert(names), claims)
        last = tuple(rows[-1][:3])


def downgrade() -> None:
    op.drop_index("ix_files_folder_id", "files")
    for columns in (["name"], ["size"], ["created_at"]):
        op.drop_index(f"ix_files_{'_'.join(['owner', 'folder_id', *columns, 'id'])}", "files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("folder_id")
    op.drop_table("entry_names")
    op.drop_table("folders")
