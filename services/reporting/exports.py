"""CSV exports of every KPI view and of the per-bill facts, streamed.

Rows are written as they are read (the facts from a server-side cursor, the views a page of groups at a
time), so a million bills never sit in memory. One REPEATABLE READ transaction per export: every page
sees the same data. Numbers are raw (no thousands separators, dollars as 1234.50), dates ISO 8601,
booleans true/false, unknown values empty.

Roles: KPI views — every internal role (viewer included); facts — negotiator, supervisor, auditor, admin,
an audited read. Only the caller's clients.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import text

from services.reporting.api import FactFiltersDep, FactReader, FiltersDep, SettingsDep, received_window
from services.reporting.kpis import SORTABLE, breakdown
from services.reporting.measures import COUNTS, HISTOGRAMS, MONEY
from services.reporting.patterns import patterns
from services.reporting.pipeline import pipeline
from services.reporting.repository import facts_query, stream_facts
from services.reporting.schemas import FactOut
from shared.auth import audit
from shared.service import RuntimeDep, TxDep

router = APIRouter(prefix="/v1/exports", tags=["exports"])
PAGE = 1000
DERIVED = (
    "resolved",
    "savings_percent",
    "net_savings_percent",
    "first_offer_acceptance_percent",
    "quick_pay_uptake_percent",
    "approvals_denied_percent",
    "median_accepted_share_percent",
)
TURNAROUND = [
    f"{m}_{stat}" for m in HISTOGRAMS if m != "accepted_share" for stat in ("median_seconds", "p90_seconds")
]
KPI_COLUMNS = ["key", "label", *COUNTS, *MONEY, *DERIVED, *TURNAROUND]
FACT_COLUMNS = list(FactOut.model_fields)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def _attachment(name: str, body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _snapshot(session: Any) -> None:
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


@router.get("/kpis.csv", summary="KPIs as CSV (totals or any breakdown)", response_class=StreamingResponse)
async def export_kpis(
    runtime: RuntimeDep,
    f: FiltersDep,
    by: Annotated[
        Literal["client", "provider", "state", "method", "line_of_business", "day", "week", "month"] | None,
        Query(description="Group by; omit for one row of totals."),
    ] = None,
    sort: Annotated[str, Query(pattern="^-?(" + "|".join(SORTABLE) + ")$")] = "key",
) -> StreamingResponse:
    """The rows of ``GET /v1/kpis/breakdown`` (every page), or the totals of ``GET /v1/kpis``, one line
    each: every count and dollar figure, the ratios, and turnaround median / p90 in seconds."""

    async def body() -> AsyncIterator[str]:
        yield csv_lines([KPI_COLUMNS])
        async with runtime.sessions() as session, session.begin():
            await _snapshot(session)
            offset = 0
            while True:
                page = await breakdown(session, f, by, sort=sort, limit=PAGE, offset=offset)
                lines = []
                for row in page.rows:
                    d = row.as_dict()
                    turnaround = [
                        d["turnaround"][m][stat]
                        for m in HISTOGRAMS
                        if m != "accepted_share"
                        for stat in ("median_seconds", "p90_seconds")
                    ]
                    lines.append([*(d[c] for c in KPI_COLUMNS[: -len(TURNAROUND)]), *turnaround])
                yield csv_lines(lines)
                offset += PAGE
                if by is None or len(page.rows) < PAGE:
                    break

    return _attachment(f"kpis-{by or 'totals'}.csv", body())


@router.get("/pipeline.csv", summary="The pipeline as CSV", response_class=StreamingResponse)
async def export_pipeline(runtime: RuntimeDep, settings: SettingsDep, f: FiltersDep) -> StreamingResponse:
    """Open bills by queue × age bucket as of today (the rows of ``GET /v1/kpis/pipeline``)."""

    async def body() -> AsyncIterator[str]:
        yield csv_lines([["as_of", "queue", "age", "bills", "billed"]])
        today = datetime.now(settings.zone).date()
        async with runtime.sessions() as session, session.begin():
            cells = await pipeline(session, f, today)
        yield csv_lines([today, c.queue, c.age, c.bills, c.billed] for c in cells)

    return _attachment("pipeline.csv", body())


@router.get("/patterns.csv", summary="Patterns as CSV", response_class=StreamingResponse)
async def export_patterns(
    runtime: RuntimeDep, f: FiltersDep, rule: Annotated[str | None, Query()] = None
) -> StreamingResponse:
    """Every pattern of ``GET /v1/kpis/patterns`` (all pages), most dollars at stake first."""
    columns = [
        "provider_npi",
        "provider_name",
        "code",
        "modifiers",
        "rule",
        "findings",
        "at_stake",
        "disputed",
        "disputed_amount",
    ]

    async def body() -> AsyncIterator[str]:
        yield csv_lines([columns])
        async with runtime.sessions() as session, session.begin():
            await _snapshot(session)
            offset = 0
            while True:
                items, _ = await patterns(session, f, rule=rule, limit=PAGE, offset=offset)
                yield csv_lines(
                    [
                        p.provider_npi,
                        p.provider_name,
                        p.code,
                        p.modifiers,
                        p.rule,
                        p.findings,
                        p.at_stake,
                        p.disputed,
                        p.disputed_amount,
                    ]
                    for p in items
                )
                offset += PAGE
                if len(items) < PAGE:
                    break

    return _attachment("patterns.csv", body())


@router.get("/facts.csv", summary="Per-bill facts as CSV", response_class=StreamingResponse)
async def export_facts(
    request: Request,
    tx: TxDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    user: FactReader,
    f: FactFiltersDep,
    outcome: Annotated[str | None, Query(description="Only bills whose case ended this way.")] = None,
) -> StreamingResponse:
    """One line per bill received in the period (newest first), the fields of ``GET /v1/facts``,
    streamed from a server-side cursor."""
    since, until = received_window(f, settings)
    stmt = facts_query(clients=f.clients, client_id=f.client_id, since=since, until=until, outcome=outcome)
    detail = {"from": str(f.since or ""), "to": str(f.until or ""), "export": "facts.csv"}
    await audit(tx, request, user, "read:bill_facts", "bill_facts", None, f.client_id, detail=detail)

    async def body() -> AsyncIterator[str]:
        yield csv_lines([FACT_COLUMNS])
        async with runtime.sessions() as session, session.begin():
            await _snapshot(session)
            batch: list[list[Any]] = []
            async for fact in stream_facts(session, stmt):
                batch.append([getattr(fact, c) for c in FACT_COLUMNS])
                if len(batch) == PAGE:
                    yield csv_lines(batch)
                    batch = []
            yield csv_lines(batch)

    return _attachment("facts.csv", body())
