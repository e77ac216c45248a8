"""A generated ``events`` column in the KPI tables (the sum of the counts), an index for providers'
names, histograms as arrays (one row per day or month, dimensions and metric, instead of one per bucket), KPI
levels for breakdowns of every client by state (``kpi_state``) and line of business (``kpi_lob``),
and by provider (``kpi_npi``: provider alone; ``kpi_client_npi``: client ×
provider), each per day and per month with histograms, and pattern tables per day and per month with and
without the client (``patterns_all_*``, ``patterns_client_*``) in place of ``patterns_daily``.

Every KPI table and queue is emptied: the service rebuilds them all from the facts, set-based, on its
first start after this migration (``needs_rebuild``), so old and new tables agree. The lists below are
frozen copies of ``services.reporting.measures`` at this revision.

Revision ID: b7d41c0e9a52
Revises: 29f315e38587
Create Date: 2026-11-30 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7d41c0e9a52"
down_revision: str | None = "29f315e38587"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "reporting"
COUNTS = (
    "received", "priced", "cases_opened", "not_negotiated", "agreed", "first_offer_accepted",
    "quick_pay_offered", "quick_pay_agreed", "executed", "settled", "repriced", "disputed", "escalated",
    "closed_unresolved", "voided", "approvals_requested", "approvals_denied",
)  # fmt: skip
MONEY = (
    "received_billed", "priced_billed", "allowed", "unpriced_billed", "agreed_billed", "agreed_amount",
    "resolved_billed", "resolved_amount", "savings", "fees", "net_savings",
)  # fmt: skip
NEW_LEVELS = {
    "kpi_state": ("state",),
    "kpi_lob": ("line_of_business",),
    "kpi_npi": ("provider_npi",),
    "kpi_client_npi": ("client_id", "provider_npi"),
}
PATTERN_LEVELS = {
    "patterns_all": ("provider_npi", "code", "modifiers", "rule"),
    "patterns_client": ("client_id", "provider_npi", "code", "modifiers", "rule"),
}
OLD_TABLES = [
    f"{level}{kind}_{grain}"
    for level in ("kpi_total", "kpi_client", "kpi_region", "kpi_provider")
    for kind in ("", "_hist")
    for grain in ("day", "month")
] + ["pipeline_open", "kpi_deltas", "hist_deltas", "pipeline_deltas", "pattern_deltas"]


def _dims(dims: tuple[str, ...]) -> list[sa.Column]:
    return [sa.Column(d, sa.Text(), server_default=sa.text("''"), nullable=False) for d in dims]


def _sums(counts: tuple[str, ...], money: tuple[str, ...]) -> list[sa.Column]:
    return [
        *(sa.Column(c, sa.BigInteger(), server_default=sa.text("0"), nullable=False) for c in counts),
        *(sa.Column(m, sa.Numeric(16, 2), server_default=sa.text("0"), nullable=False) for m in money),
    ]


def _table(name: str, dims: tuple[str, ...], columns: list[sa.Column], keys: tuple[str, ...] = ()) -> None:
    op.create_table(
        name,
        sa.Column("day", sa.Date(), nullable=False),
        *_dims(dims),
        *columns,
        sa.PrimaryKeyConstraint(dims[0], "day", *dims[1:], *keys, name=op.f(f"pk_{name}")),
        schema=S,
    )
    op.create_index(f"ix_{name}_day", name, ["day"], unique=False, schema=S)
    if "provider_npi" in dims and dims[0] != "provider_npi":
        op.create_index(f"ix_{name}_provider", name, ["provider_npi", "day"], unique=False, schema=S)


OLD_LEVELS = {
    "kpi_total": ("method",),
    "kpi_client": ("client_id", "method"),
    "kpi_region": ("client_id", "method", "state", "line_of_business"),
    "kpi_provider": ("client_id", "method", "state", "line_of_business", "provider_npi"),
}


def _hist(name: str, dims: tuple[str, ...]) -> None:
    """A histogram table: the whole histogram of a day (or month), dimensions and metric in two arrays."""
    columns = [
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("buckets", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("counts", postgresql.ARRAY(sa.BigInteger()), nullable=False),
    ]
    _table(name, dims, columns, ("metric",))


def _bucket_rows(name: str, dims: tuple[str, ...]) -> None:
    """The histogram table as before this revision: a row per bucket."""
    columns = [
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    ]
    _table(name, dims, columns, ("metric", "bucket"))


def _drop(name: str) -> None:
    op.drop_table(name, schema=S)  # its indexes go with it


def _events() -> sa.Column:
    return sa.Column(
        "events", sa.BigInteger(), sa.Computed(" + ".join(COUNTS), persisted=True), nullable=False
    )


def upgrade() -> None:
    op.execute("TRUNCATE " + ", ".join(f"{S}.{t}" for t in OLD_TABLES))
    for level in OLD_LEVELS:
        for grain in ("day", "month"):
            op.add_column(f"{level}_{grain}", _events(), schema=S)
    for level, dims in NEW_LEVELS.items():
        for grain in ("day", "month"):
            _table(f"{level}_{grain}", dims, [*_sums(COUNTS, MONEY), _events()])
    for level, dims in {**OLD_LEVELS, **NEW_LEVELS}.items():
        for grain in ("day", "month"):
            if level in OLD_LEVELS:
                _drop(f"{level}_hist_{grain}")
            _hist(f"{level}_hist_{grain}", dims)
    for level, dims in PATTERN_LEVELS.items():
        for grain in ("day", "month"):
            _table(f"{level}_{grain}", dims, _sums(("findings", "disputed"), ("at_stake", "disputed_amount")))
    op.drop_index("ix_patterns_daily_day", table_name="patterns_daily", schema=S)
    op.drop_table("patterns_daily", schema=S)
    op.create_index(
        "ix_bill_facts_provider_name",
        "bill_facts",
        ["provider_npi", sa.text("updated_at DESC")],
        unique=False,
        schema=S,
        postgresql_include=["provider_name"],
        postgresql_where=sa.text("provider_name IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_bill_facts_provider_name", table_name="bill_facts", schema=S)
    for level in OLD_LEVELS:
        for grain in ("day", "month"):
            op.drop_column(f"{level}_{grain}", "events", schema=S)
    op.create_table(
        "patterns_daily",
        sa.Column("day", sa.Date(), nullable=False),
        *_dims(PATTERN_LEVELS["patterns_client"]),
        *_sums(("findings", "disputed"), ("at_stake", "disputed_amount")),
        sa.PrimaryKeyConstraint(
            "client_id", "day", "provider_npi", "code", "modifiers", "rule", name=op.f("pk_patterns_daily")
        ),
        schema=S,
    )
    op.create_index("ix_patterns_daily_day", "patterns_daily", ["day"], unique=False, schema=S)
    for level in PATTERN_LEVELS:
        for grain in ("day", "month"):
            _drop(f"{level}_{grain}")
    for level, dims in {**OLD_LEVELS, **NEW_LEVELS}.items():
        for grain in ("day", "month"):
            _drop(f"{level}_hist_{grain}")
            if level in OLD_LEVELS:
                _bucket_rows(f"{level}_hist_{grain}", dims)
            else:
                _drop(f"{level}_{grain}")
    op.execute("TRUNCATE " + ", ".join(f"{S}.{t}" for t in OLD_TABLES))
