"""X12 real-world files: stored warnings, MS-DRG, discharge status, payer claim control number, unit of
measure per line, a partner's composite separator

Revision ID: 5b1e0c7d2a91
Revises: b65e0de31573
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b1e0c7d2a91"
down_revision: str | None = "b65e0de31573"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("partners", sa.Column("composite_separator", sa.Text(), nullable=True), schema="intake")
    op.add_column("bills", sa.Column("drg", sa.Text(), nullable=True), schema="intake")
    op.add_column("bills", sa.Column("discharge_status", sa.Text(), nullable=True), schema="intake")
    op.add_column("bills", sa.Column("payer_claim_control_number", sa.Text(), nullable=True), schema="intake")
    op.add_column(
        "bills",
        sa.Column(
            "warnings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        schema="intake",
    )
    op.add_column(
        "bill_lines",
        sa.Column("unit_of_measure", sa.Text(), server_default=sa.text("'units'"), nullable=False),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_column("bill_lines", "unit_of_measure", schema="intake")
    op.drop_column("bills", "warnings", schema="intake")
    op.drop_column("bills", "payer_claim_control_number", schema="intake")
    op.drop_column("bills", "discharge_status", schema="intake")
    op.drop_column("bills", "drg", schema="intake")
    op.drop_column("partners", "composite_separator", schema="intake")
