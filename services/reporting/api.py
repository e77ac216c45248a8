"""Reporting's JSON API: KPIs, their breakdowns, the pipeline, the patterns and the per-bill facts.

Roles: KPIs, breakdowns, pipeline and patterns — every internal role (viewer included); per-bill facts —
negotiator, supervisor, auditor, admin (not viewer), an audited read. Every read covers only the caller's
clients; asking for another client's figures is 404, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from services.reporting.config import ReportingSettings
from services.reporting.kpis import GROUPINGS, SORTABLE, Filters, KpiRow, breakdown
from services.reporting.patterns import patterns
from services.reporting.pipeline import pipeline
from services.reporting.repository import count_demo, facts_query
from services.reporting.schemas import (
    FactOut,
    FactsOut,
    KpiBreakdownOut,
    KpiRowOut,
    KpiSummaryOut,
    PatternOut,
    PatternsOut,
    Period,
    PipelineCellOut,
    PipelineOut,
)
from shared.auth import ANY_ROLE, CASE_READERS, Identity, audit, requires
from shared.contracts import LineOfBusiness, PricingMethod
from shared.errors import NotFound, Unprocessable
from shared.service import RuntimeDep, SessionDep, TxDep

router = APIRouter(prefix="/v1", tags=["kpis"])


def settings_of(runtime: RuntimeDep) -> ReportingSettings:
    settings = runtime.settings
    assert isinstance(settings, ReportingSettings)
    return settings


SettingsDep = Annotated[ReportingSettings, Depends(settings_of)]


def filters(
    since: Annotated[
        date | None, Query(alias="from", description="First day counted (inclusive, ISO date).")
    ] = None,
    until: Annotated[date | None, Query(alias="to", description="Last day counted (inclusive).")] = None,
    client_id: Annotated[str | None, Query(description="Only this client.")] = None,
    provider_npi: Annotated[str | None, Query(description="Only this provider (billing NPI).")] = None,
    state: Annotated[
        str | None, Query(pattern=r"^[A-Z]{2}$", description="Only bills of facilities in this state.")
    ] = None,
    method: Annotated[PricingMethod | None, Query(description="Only bills priced this way.")] = None,
    line_of_business: Annotated[
        LineOfBusiness | None, Query(description="Only this line of business.")
    ] = None,
) -> Filters:
    if since is not None and until is not None and until < since:
        raise Unprocessable(
            "the period ends before it starts",
            errors=[{"field": "to", "message": "must be on or after 'from'", "type": "value_error"}],
        )
    return Filters(
        since=since,
        until=until,
        clients=None,
        client_id=client_id,
        provider_npi=provider_npi,
        state=state,
        method=method.value if method is not None else None,
        line_of_business=line_of_business.value if line_of_business is not None else None,
    )


def scoped(f: Filters, user: Identity) -> Filters:
    """The filters limited to the caller's clients; 404 for a client that is not one of them."""
    if f.client_id is not None and not user.may_see(f.client_id):
        raise NotFound(f"no client {f.client_id} among yours")
    return replace(f, clients=user.client_scope)


KpiReader = Annotated[Identity, requires(*ANY_ROLE)]
FactReader = Annotated[Identity, requires(*CASE_READERS)]


def kpi_filters(f: Annotated[Filters, Depends(filters)], user: KpiReader) -> Filters:
    return scoped(f, user)


def fact_filters(f: Annotated[Filters, Depends(filters)], user: FactReader) -> Filters:
    return scoped(f, user)


FiltersDep = Annotated[Filters, Depends(kpi_filters)]
FactFiltersDep = Annotated[Filters, Depends(fact_filters)]
Page = Annotated[int, Query(ge=1, description="Page number, from 1.")]
PageSize = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]


def _row(row: KpiRow) -> KpiRowOut:
    return KpiRowOut.model_validate(row.as_dict())


def _period(f: Filters) -> Period:
    return Period(since=f.since, until=f.until)


@router.get("/kpis", response_model=KpiSummaryOut, summary="Every KPI over a period, and the one before")
async def get_kpis(session: SessionDep, settings: SettingsDep, f: FiltersDep) -> KpiSummaryOut:
    """Volume, dollars, savings, fees, net savings, turnaround and acceptance over the period, for the
    filters given, with the same figures for the period of the same length just before (for "change vs
    previous period"; null when the period is open-ended).

    Each count or dollar figure falls on the day of its event (received, priced, agreed, executed, settled
    or repriced), in the reporting time zone; see each field. Roles: viewer, negotiator, supervisor,
    auditor, admin — only the caller's clients."""
    current = await breakdown(session, f, None)
    previous_filters = f.previous()
    previous = await breakdown(session, previous_filters, None) if previous_filters else None
    return KpiSummaryOut(
        period=_period(f),
        previous_period=_period(previous_filters) if previous_filters else None,
        time_zone=settings.reporting_timezone,
        level=current.level,
        demo_bills=await count_demo(session, f.clients),
        current=_row(current.rows[0]),
        previous=_row(previous.rows[0]) if previous else None,
    )


@router.get("/kpis/breakdown", response_model=KpiBreakdownOut, summary="KPIs by client, provider, … or time")
async def get_breakdown(
    session: SessionDep,
    f: FiltersDep,
    by: Annotated[
        Literal["client", "provider", "state", "method", "line_of_business", "day", "week", "month"],
        Query(description="Group by this dimension, or by day, ISO week (Monday) or calendar month."),
    ],
    sort: Annotated[
        str,
        Query(
            description="'key' or a measure name (e.g. savings), '-' first for descending.",
            pattern="^-?(" + "|".join(SORTABLE) + ")$",
        ),
    ] = "key",
    page: Page = 1,
    page_size: PageSize = 100,
) -> KpiBreakdownOut:
    """The KPIs of the summary, one row per group, one page at a time (``total`` groups in all).

    A provider row's ``label`` is the provider's name. Roles: viewer, negotiator, supervisor, auditor,
    admin — only the caller's clients."""
    assert by in GROUPINGS
    result = await breakdown(session, f, by, sort=sort, limit=page_size, offset=(page - 1) * page_size)
    return KpiBreakdownOut(
        by=by,
        period=_period(f),
        level=result.level,
        total=result.total,
        page=page,
        page_size=page_size,
        items=[_row(r) for r in result.rows],
    )


@router.get("/kpis/pipeline", response_model=PipelineOut, summary="Open bills by queue and age")
async def get_pipeline(session: SessionDep, settings: SettingsDep, f: FiltersDep) -> PipelineOut:
    """Bills not yet settled, repriced, closed or voided, by queue (pricing, negotiate, audit, review,
    agreement) × age since received (0-30, 31-60, 61-90, 90+ days), as of today. The period does not
    apply. Roles: viewer, negotiator, supervisor, auditor, admin — only the caller's clients."""
    today = datetime.now(settings.zone).date()
    cells = await pipeline(session, f, today)
    return PipelineOut(
        as_of=today,
        bills=sum(c.bills for c in cells),
        billed=sum((c.billed for c in cells), start=Decimal("0.00")),
        items=[PipelineCellOut(queue=c.queue, age=c.age, bills=c.bills, billed=c.billed) for c in cells],
    )


@router.get("/kpis/patterns", response_model=PatternsOut, summary="Findings by provider × code × modifier")
async def get_patterns(
    session: SessionDep,
    f: FiltersDep,
    rule: Annotated[str | None, Query(description="Only this audit rule.")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> PatternsOut:
    """Audit findings and disputes grouped by provider × code × modifiers × rule over the period (the
    day each bill was first priced), most dollars at stake first. Roles: viewer, negotiator, supervisor,
    auditor, admin — only the caller's clients."""
    items, total = await patterns(session, f, rule=rule, limit=page_size, offset=(page - 1) * page_size)
    return PatternsOut(
        period=_period(f),
        total=total,
        page=page,
        page_size=page_size,
        items=[PatternOut.model_validate(p, from_attributes=True) for p in items],
    )


@router.get("/facts", response_model=FactsOut, summary="Per-bill facts")
async def get_facts(
    request: Request,
    tx: TxDep,
    settings: SettingsDep,
    user: FactReader,
    f: FactFiltersDep,
    outcome: Annotated[str | None, Query(description="Only bills whose case ended this way.")] = None,
    page: Page = 1,
    page_size: PageSize = 100,
) -> FactsOut:
    """What reporting knows about each bill received in the period (newest first): dates, amounts,
    savings, fee and net savings. Roles: negotiator, supervisor, auditor, admin — only the caller's
    clients."""
    since, until = received_window(f, settings)
    stmt = facts_query(clients=f.clients, client_id=f.client_id, since=since, until=until, outcome=outcome)
    session = tx.session
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(await session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)))
    await audit(
        tx, request, user, "read:bill_facts", "bill_facts", None, f.client_id, detail=_detail(f, len(rows))
    )
    return FactsOut(
        total=total, page=page, page_size=page_size, items=[FactOut.model_validate(r) for r in rows]
    )


def _detail(f: Filters, rows: int) -> dict[str, object]:
    """What was read, for the audit log (filters and a count; never a bill's contents)."""
    return {"from": str(f.since or ""), "to": str(f.until or ""), "rows": rows}


def received_window(f: Filters, settings: ReportingSettings) -> tuple[datetime | None, datetime | None]:
    """The period's days as [since, until) instants in the reporting time zone."""
    since = datetime.combine(f.since, time(0), settings.zone) if f.since else None
    until = datetime.combine(f.until + timedelta(days=1), time(0), settings.zone) if f.until else None
    return since, until
