"""approval used_by: who made the offer or acceptance an approval allowed

Revision ID: 5a1f3c2d9e07
Revises: e00444bc94b9
Create Date: 2026-11-30 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1f3c2d9e07"
down_revision: str | None = "e00444bc94b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Approvals used before this revision keep NULL: who used them was not recorded (the 409 then names
    # no one rather than the approving supervisor).
    op.add_column("approvals", sa.Column("used_by", sa.Text(), nullable=True), schema="negotiation")


def downgrade() -> None:
    op.drop_column("approvals", "used_by", schema="negotiation")
