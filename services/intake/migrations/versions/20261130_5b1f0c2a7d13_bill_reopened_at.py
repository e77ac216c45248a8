"""bill reopened_at: negotiation can reopen a case (status back to in_negotiation)

Revision ID: 5b1f0c2a7d13
Revises: 5b1e0c7d2a91
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1f0c2a7d13"
down_revision: str | None = "5b1e0c7d2a91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "bills", sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True), schema="intake"
    )


def downgrade() -> None:
    op.drop_column("bills", "reopened_at", schema="intake")
