"""Reporting's tables, all in the ``reporting`` schema.

- ``bill_facts``: one row per bill, filled in by events in whatever order they arrive, with its findings
  (``bill_findings``) and supervisor approvals (``bill_approvals``).
- The KPI tables (``kpi_daily_*`` and their ``_hist`` histograms, ``pipeline_open``, ``patterns_*``):
  sums per day and dimension, kept current by the consumers through the ``*_deltas`` queues (see
  :mod:`services.reporting.cubes`); never rebuilt by a request.
- ``fee_terms`` per client, ``weekly_reports`` (stored HTML and PDF), and the scheduled jobs.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.reporting.measures import (
    COUNTS,
    GRAINS,
    LEVELS,
    MONEY,
    PATTERN_COUNTS,
    PATTERN_DIMS,
    PATTERN_LEVELS,
    PATTERN_MONEY,
    PIPELINE_DIMS,
)
from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import service_metadata
from shared.idempotency import add_idempotency_table
from shared.jobs import add_job_table


class Base(DeclarativeBase):
    metadata = service_metadata("reporting")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
jobs = add_job_table(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)

Money = Numeric(12, 2)
Total = Numeric(16, 2)  # sums over many bills


class BillFact(Base):
    """What reporting knows about one bill. Columns fill in as events arrive, in whatever order."""

    __tablename__ = "bill_facts"

    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(Text, index=True)
    partner_claim_id: Mapped[str | None] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    claim_type: Mapped[str | None] = mapped_column(Text)
    provider_npi: Mapped[str | None] = mapped_column(Text, index=True)
    provider_tin: Mapped[str | None] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    line_of_business: Mapped[str | None] = mapped_column(Text)
    # bill.received: the first arrival counts for turnaround; billed follows the latest revision.
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bill_revision: Mapped[int | None] = mapped_column(Integer)
    billed: Mapped[Decimal | None] = mapped_column(Money)
    # bill.priced: first pricing time; method and amounts from the highest pricing revision seen.
    priced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pricing_revision: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(Text)
    allowed: Mapped[Decimal | None] = mapped_column(Money)
    unpriced_billed: Mapped[Decimal | None] = mapped_column(Money)
    findings_at_stake: Mapped[Decimal | None] = mapped_column(Money)
    # negotiation: the bill's case (the first opened; events of any other case id are ignored).
    case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    case_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    route: Mapped[str | None] = mapped_column(Text)
    opening_offer: Mapped[Decimal | None] = mapped_column(Money)
    first_offer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    first_offer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offers: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    quick_pay_offered: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    not_negotiated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    not_negotiated_reason: Mapped[str | None] = mapped_column(Text)
    agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agreed_amount: Mapped[Decimal | None] = mapped_column(Money)
    agreed_offer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    first_offer_accepted: Mapped[bool | None] = mapped_column(Boolean)
    quick_pay_agreed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How the case ended (case.closed), and for settled / repriced bills what was paid, saved and charged.
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_amount: Mapped[Decimal | None] = mapped_column(Money)
    savings: Mapped[Decimal | None] = mapped_column(Money)
    fee: Mapped[Decimal | None] = mapped_column(Money)
    net_savings: Mapped[Decimal | None] = mapped_column(Money)
    fee_terms_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        Index("ix_bill_facts_client_closed", "client_id", "closed_at"),
        Index("ix_bill_facts_demo", "demo", postgresql_where=text("demo")),
        # A page of providers' names: the latest name of each, one index probe per provider.
        Index(
            "ix_bill_facts_provider_name",
            "provider_npi",
            text("updated_at DESC"),
            postgresql_include=["provider_name"],
            postgresql_where=text("provider_name IS NOT NULL"),
        ),
    )


class BillFinding(Base):
    """An audit finding of the bill's latest pricing, with the line's code and modifiers."""

    __tablename__ = "bill_findings"

    bill_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bill_facts.bill_id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_number: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    modifiers: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Money)


class BillApproval(Base):
    """A supervisor approval asked for on the bill's case, and how it was decided."""

    __tablename__ = "bill_approvals"

    approval_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bill_facts.bill_id", ondelete="CASCADE"), index=True
    )
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved: Mapped[bool | None] = mapped_column(Boolean)


class FeeTermsRow(Base):
    """A client's fee terms from ``effective_from`` on (see :mod:`services.reporting.fees`)."""

    __tablename__ = "fee_terms"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    cap: Mapped[Decimal | None] = mapped_column(Money)
    flat: Mapped[Decimal | None] = mapped_column(Money)
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_fee_terms_client", "client_id", "effective_from"),)


class WeeklyReport(Base):
    """A client's weekly report as made: its figures (JSON), the HTML page and the PDF."""

    __tablename__ = "weekly_reports"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(Text)
    week: Mapped[str] = mapped_column(Text)  # ISO week, e.g. 2026-W48
    week_start: Mapped[date] = mapped_column(Date)
    made_by: Mapped[str] = mapped_column(Text)  # 'schedule', or the command / user that asked
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    data: Mapped[dict[str, object]] = mapped_column(JSONB)
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("client_id", "week"),)


# --- pre-aggregated KPI tables and the queues that feed them ------------------------------------------


def _measure_columns(counts: tuple[str, ...], money: tuple[str, ...]) -> list[Column[Any]]:
    return [
        *(Column(name, BigInteger, nullable=False, server_default=text("0")) for name in counts),
        *(Column(name, Total, nullable=False, server_default=text("0")) for name in money),
    ]


def _dim_columns(dims: tuple[str, ...]) -> list[Column[Any]]:
    # '' stands for "not known" so the keys can be unique; the API shows it as null.
    return [Column(name, Text, nullable=False, server_default=text("''")) for name in dims]


def _by_provider(name: str, dims: tuple[str, ...]) -> list[Index]:
    # A provider page's percentiles and a provider filter read one provider's rows, whatever the client.
    if "provider_npi" not in dims or dims[0] == "provider_npi":
        return []
    return [Index(f"ix_{name}_provider", "provider_npi", "day")]


def _cube(name: str, dims: tuple[str, ...], day: str = "day") -> Table:
    return Table(
        name,
        Base.metadata,
        Column(day, Date, nullable=False),
        *_dim_columns(dims),
        *_measure_columns(COUNTS, MONEY),
        # Every event adds at least one count and money only comes with a count, so a row (or a group of
        # rows) holds something exactly when its events are not 0: ranking a breakdown sums this column
        # instead of all seventeen counts.
        Column("events", BigInteger, Computed(" + ".join(COUNTS), persisted=True), nullable=False),
        PrimaryKeyConstraint(dims[0], day, *dims[1:]),
        Index(f"ix_{name}_day", day),
        *_by_provider(name, dims),
    )


def _hist(name: str, dims: tuple[str, ...]) -> Table:
    # One row per day (or month), dimensions and metric holding the whole histogram as two parallel
    # arrays (buckets ascending, their counts, no zero count): a percentile over a year of a client reads
    # a few dozen rows, not a row per bucket (tens of thousands; the sort and the aggregation of those
    # rows were most of a breakdown's time).
    return Table(
        name,
        Base.metadata,
        Column("day", Date, nullable=False),
        *_dim_columns(dims),
        Column("metric", Text, nullable=False),
        Column("buckets", ARRAY(BigInteger), nullable=False),
        Column("counts", ARRAY(BigInteger), nullable=False),
        PrimaryKeyConstraint(dims[0], "day", *dims[1:], "metric"),
        Index(f"ix_{name}_day", "day"),
        *_by_provider(name, dims),
    )


# Per level and grain; in the month tables ``day`` is the first day of the month.
CUBES: dict[str, Table] = {lv.table(g): _cube(lv.table(g), lv.dims) for lv in LEVELS for g in GRAINS}
HISTS: dict[str, Table] = {lv.hist(g): _hist(lv.hist(g), lv.dims) for lv in LEVELS for g in GRAINS}

pipeline_open = Table(
    "pipeline_open",
    Base.metadata,
    Column("received_day", Date, nullable=False),
    *_dim_columns(PIPELINE_DIMS),
    Column("bills", BigInteger, nullable=False, server_default=text("0")),
    Column("billed", Total, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("client_id", "received_day", *PIPELINE_DIMS[1:]),
)


def _patterns(name: str, dims: tuple[str, ...]) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("day", Date, nullable=False),
        *_dim_columns(dims),
        *_measure_columns(PATTERN_COUNTS, PATTERN_MONEY),
        PrimaryKeyConstraint(dims[0], "day", *dims[1:]),
        Index(f"ix_{name}_day", "day"),
        *_by_provider(name, dims),
    )


# Findings per pattern, per day and per month (``day`` = the month's first day), with and without client.
PATTERNS: dict[str, Table] = {
    lv.table(g): _patterns(lv.table(g), lv.dims) for lv in PATTERN_LEVELS for g in GRAINS
}


def _queue(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name, Base.metadata, Column("id", BigInteger, Identity(always=True), primary_key=True), *columns
    )


kpi_deltas = _queue(
    "kpi_deltas",
    Column("day", Date, nullable=False),
    *_dim_columns(LEVELS[-1].dims),
    *_measure_columns(COUNTS, MONEY),
)
hist_deltas = _queue(
    "hist_deltas",
    Column("day", Date, nullable=False),
    *_dim_columns(LEVELS[-1].dims),
    Column("metric", Text, nullable=False),
    Column("bucket", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
)
pipeline_deltas = _queue(
    "pipeline_deltas",
    Column("received_day", Date, nullable=False),
    *_dim_columns(PIPELINE_DIMS),
    Column("bills", BigInteger, nullable=False),
    Column("billed", Total, nullable=False),
)
pattern_deltas = _queue(
    "pattern_deltas",
    Column("day", Date, nullable=False),
    *_dim_columns(PATTERN_DIMS),
    *_measure_columns(PATTERN_COUNTS, PATTERN_MONEY),
)
