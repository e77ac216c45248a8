"""reference version for the decision cache: one row whose token every reference load or unload replaces

Each pricing process caches reference data (RVUs, GPCIs, schedules, contracts, edits, IPPS tables…) in
memory and reads this one row per decision; a token other than the one its cache was filled under empties
the cache. A random token, not a counter: a rolled-back load cannot make an old number current again,
and two databases never share one.

Revision ID: c4e8a1f0d2b7
Revises: 7b3d9e2f4a61
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c4e8a1f0d2b7"
down_revision: str | None = "7b3d9e2f4a61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pricing"


def upgrade() -> None:
    op.create_table(
        "reference_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "token",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_reference_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_version")),
        schema=SCHEMA,
    )
    op.execute(f"INSERT INTO {SCHEMA}.reference_version (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table("reference_version", schema=SCHEMA)
