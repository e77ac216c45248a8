"""hospital and specialty schedules: MS-DRG weights, IPPS rates, wage indexes, anesthesia, CLFS, DMEPOS,
ZIP-to-locality; fee schedules gain inpatient, anesthesia, lab and DME terms; facilities gain CCN and CBSA

Written by hand; self-contained (new tables and nullable columns only). Primary keys lead with what a
bill looks up (code and state, locality, MS-DRG), so pricing reads them by index.

Revision ID: 7b3d9e2f4a61
Revises: 5e1a7c0d2b9f
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7b3d9e2f4a61"
down_revision: str | None = "5e1a7c0d2b9f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pricing"


def upgrade() -> None:
    op.create_table(
        "drg_weights",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("drg", sa.Text(), nullable=False),
        sa.Column("mdc", sa.Text(), nullable=False),
        sa.Column("drg_type", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("weight", sa.Numeric(precision=8, scale=4), nullable=True),
        sa.Column("post_acute", sa.Boolean(), nullable=False),
        sa.Column("special_pay", sa.Boolean(), nullable=False),
        sa.Column("geometric_los", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.Column("arithmetic_los", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.PrimaryKeyConstraint("drg", "fiscal_year", name=op.f("pk_drg_weights")),
        schema=SCHEMA,
    )
    op.create_table(
        "ipps_rates",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("labor_above_1", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("nonlabor_above_1", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("labor_at_most_1", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("nonlabor_at_most_1", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("capital_rate", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("gaf_exponent", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year", name=op.f("pk_ipps_rates")),
        schema=SCHEMA,
    )
    op.create_table(
        "wage_indexes",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("area_kind", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("wage_index", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("gaf", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.PrimaryKeyConstraint("fiscal_year", "area_kind", "area", name=op.f("pk_wage_indexes")),
        schema=SCHEMA,
    )
    op.create_table(
        "anesthesia_cfs",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("mac", sa.Text(), nullable=False),
        sa.Column("locality", sa.Text(), nullable=False),
        sa.Column("locality_name", sa.Text(), nullable=False),
        sa.Column("conversion_factor", sa.Numeric(precision=8, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("mac", "locality", "year", name=op.f("pk_anesthesia_cfs")),
        schema=SCHEMA,
    )
    op.create_table(
        "anesthesia_base_units",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("base_units", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_anesthesia_base_units")),
        schema=SCHEMA,
    )
    op.create_table(
        "clfs_rates",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("hcpcs", sa.Text(), nullable=False),
        sa.Column("modifier", sa.Text(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("indicator", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hcpcs", "modifier", "year", name=op.f("pk_clfs_rates")),
        schema=SCHEMA,
    )
    op.create_table(
        "dmepos_fees",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("hcpcs", sa.Text(), nullable=False),
        sa.Column("modifier", sa.Text(), nullable=False),
        sa.Column("modifier2", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("nonrural", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("rural", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.PrimaryKeyConstraint(
            "hcpcs", "state", "year", "modifier", "modifier2", name=op.f("pk_dmepos_fees")
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "zip_localities",
        sa.Column("zip", sa.Text(), nullable=False),
        sa.Column("plus4_low", sa.Text(), nullable=False),
        sa.Column("plus4_high", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("carrier", sa.Text(), nullable=False),
        sa.Column("locality", sa.Text(), nullable=False),
        sa.Column("rural", sa.Text(), nullable=False),
        sa.Column("quarter", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("zip", "plus4_low", name=op.f("pk_zip_localities")),
        schema=SCHEMA,
    )
    op.add_column(
        "fee_schedules",
        sa.Column("inpatient", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=SCHEMA,
    )
    for column in ("anesthesia_conversion_factor", "clinical_lab_multiplier", "dme_multiplier"):
        op.add_column(
            "fee_schedules", sa.Column(column, sa.Numeric(precision=8, scale=4), nullable=True), schema=SCHEMA
        )
    op.add_column("facilities", sa.Column("ccn", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("facilities", sa.Column("cbsa", sa.Text(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("facilities", "cbsa", schema=SCHEMA)
    op.drop_column("facilities", "ccn", schema=SCHEMA)
    for column in ("dme_multiplier", "clinical_lab_multiplier", "anesthesia_conversion_factor", "inpatient"):
        op.drop_column("fee_schedules", column, schema=SCHEMA)
    for table in (
        "zip_localities",
        "dmepos_fees",
        "clfs_rates",
        "anesthesia_base_units",
        "anesthesia_cfs",
        "wage_indexes",
        "ipps_rates",
        "drg_weights",
    ):
        op.drop_table(table, schema=SCHEMA)
