"""reference load notes: what a load said besides its rows (encoding fallback, sheet read, values kept out)

Revision ID: 5e1a7c0d2b9f
Revises: 402f478c383f
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e1a7c0d2b9f"
down_revision: str | None = "402f478c383f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "reference_loads",
        sa.Column(
            "notes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="pricing",
    )


def downgrade() -> None:
    op.drop_column("reference_loads", "notes", schema="pricing")
