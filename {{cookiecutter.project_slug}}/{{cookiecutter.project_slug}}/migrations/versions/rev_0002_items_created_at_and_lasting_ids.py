"""Add items.created_at, when each item was made; never reuse an item's id.

Revision ID: 0002
Revises: 0001
Created: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as revision 0001 made it. SQLite changes a table by copying it,
# which `alembic upgrade --sql` (no database to read the table from) can do
# only from this description.
ITEMS_0001 = sa.Table(
    "items",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("description", sa.String(length=1000), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id", name="pk_items"),
    sa.UniqueConstraint("name", name="uq_items_name"),
)


def upgrade() -> None:
    # SQLite: the copy gets AUTOINCREMENT, so that the id of a deleted item is
    # never given again (PostgreSQL's sequence never does), and a new column
    # whose default is not a constant. Items made before this revision get
    # the time of the upgrade.
    sqlite = op.get_context().dialect.name == "sqlite"
    with op.batch_alter_table(
        "items",
        copy_from=ITEMS_0001,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("CURRENT_TIMESTAMP"),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("created_at")
