"""The weekly report per client: the week against the week before, the trend, top patterns, pipeline.

One typst template (``templates/weekly.typ``) renders both the PDF and the HTML page
(:mod:`shared.documents`). A report is stored in ``weekly_reports`` (its figures as JSON, the HTML and
the PDF with its SHA-256), one per client and ISO week; making it again replaces it.

Schedule: a ``weekly.tick`` job per ISO week, due on ``PARLEY_WEEKLY_REPORT_WEEKDAY`` at
``PARLEY_WEEKLY_REPORT_HOUR`` after the week ends (reporting time zone), queues one ``weekly.report`` job
per client with activity in the last twelve weeks and schedules the next tick, all in one transaction.
Jobs are rows claimed with ``FOR UPDATE SKIP LOCKED`` (:mod:`shared.jobs`) and keyed by week and client, so
a restart neither loses a run (a due job waits for the next instance) nor doubles one (the key is unique).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import formatting as fmt
from services.reporting.config import ReportingSettings
from services.reporting.fees import FeeTerms, terms_on
from services.reporting.kpis import Filters, KpiRow, breakdown, clients_with_activity
from services.reporting.models import WeeklyReport, jobs
from services.reporting.patterns import patterns
from services.reporting.pipeline import AGE_BUCKETS, pipeline
from services.reporting.repository import count_demo, fee_history
from shared.bus.outbox import Tx
from shared.documents import Template, render_html, render_pdf_async
from shared.jobs import Job, JobHandlers, schedule

TEMPLATE_PATH = Path(__file__).parent / "templates" / "weekly.typ"
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
TREND_WEEKS = 8
ACTIVE_WEEKS = 12
TICK = "weekly.tick"
REPORT = "weekly.report"


def week_start(week: str) -> date:
    """Monday of an ISO week written ``2026-W48``; ValueError naming the problem otherwise."""
    found = WEEK.match(week)
    if found is None:
        raise ValueError(f"week {week!r} is not an ISO week like 2026-W48")
    try:
        return date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r} does not exist: {exc}") from None


def week_of(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _row_figures(current: KpiRow, previous: KpiRow) -> list[dict[str, str]]:
    c, p = current.as_dict(), previous.as_dict()
    figures: list[dict[str, str]] = []

    def add(label: str, now: Any, before: Any, shown: Any = fmt.count) -> None:
        figures.append(
            {
                "label": label,
                "current": shown(now),
                "previous": shown(before),
                "change": fmt.change(now, before),
            }
        )

    add("Bills received", c["received"], p["received"])
    add("Billed charges received", c["received_billed"], p["received_billed"], fmt.money)
    add("Bills priced", c["priced"], p["priced"])
    add("Allowed / target of bills priced", c["allowed"], p["allowed"], fmt.money)
    add("Cases opened", c["cases_opened"], p["cases_opened"])
    add("Cases agreed", c["agreed"], p["agreed"])
    add("Bills settled", c["settled"], p["settled"])
    add("Bills repriced", c["repriced"], p["repriced"])
    add("Billed charges settled / repriced", c["resolved_billed"], p["resolved_billed"], fmt.money)
    add("Paid (agreed or repriced)", c["resolved_amount"], p["resolved_amount"], fmt.money)
    add("Savings", c["savings"], p["savings"], fmt.money)
    add("Savings %", c["savings_percent"], p["savings_percent"], fmt.percent)
    add("Fees", c["fees"], p["fees"], fmt.money)
    add("Net savings", c["net_savings"], p["net_savings"], fmt.money)
    for metric, label in (
        ("received_to_priced", "Received → priced"),
        ("received_to_agreed", "Received → agreed"),
        ("agreed_to_executed", "Agreed → executed"),
    ):
        for stat, name in (("median_seconds", "median"), ("p90_seconds", "90th percentile")):
            add(
                f"{label}, {name}", c["turnaround"][metric][stat], p["turnaround"][metric][stat], fmt.duration
            )
    add(
        "First-offer acceptance",
        c["first_offer_acceptance_percent"],
        p["first_offer_acceptance_percent"],
        fmt.percent,
    )
    add(
        "Median accepted share of billed",
        c["median_accepted_share_percent"],
        p["median_accepted_share_percent"],
        fmt.percent,
    )
    add("Quick-pay uptake", c["quick_pay_uptake_percent"], p["quick_pay_uptake_percent"], fmt.percent)
    add("Approvals requested", c["approvals_requested"], p["approvals_requested"])
    add("Approvals denied", c["approvals_denied"], p["approvals_denied"])
    add("Cases disputed", c["disputed"], p["disputed"])
    add("Cases escalated", c["escalated"], p["escalated"])
    add("Closed unresolved", c["closed_unresolved"], p["closed_unresolved"])
    add("Bills voided", c["voided"], p["voided"])
    return figures


def describe_terms(terms: FeeTerms | None) -> str:
    if terms is None:
        return "No fee terms are set for this client: fees are 0."
    since = f"since {terms.effective_from.isoformat()}"
    cap = f", capped at {fmt.money(terms.cap)} per bill" if terms.cap is not None else ""
    if terms.kind.value == "contingency":
        return f"Contingency {since}: {terms.percent} % of savings{cap}; no savings, no fee."
    if terms.kind.value == "flat":
        return f"Flat {since}: {fmt.money(terms.flat)} per settled or repriced bill."
    return f"Hybrid {since}: {fmt.money(terms.flat)} per bill plus {terms.percent} % of savings{cap}."


async def report_data(
    session: AsyncSession, settings: ReportingSettings, client_id: str, week: str, now: datetime
) -> dict[str, Any]:
    """Everything the weekly report shows, formatted, plus the raw figures (``raw``)."""
    start = week_start(week)
    end = start + timedelta(days=6)
    this_week = Filters(since=start, until=end, client_id=client_id)
    previous_week = this_week.previous()
    assert previous_week is not None
    current = (await breakdown(session, this_week, None)).rows[0]
    previous = (await breakdown(session, previous_week, None)).rows[0]
    trend_filters = Filters(since=start - timedelta(weeks=TREND_WEEKS - 1), until=end, client_id=client_id)
    trend_rows = {r.key: r for r in (await breakdown(session, trend_filters, "week", limit=TREND_WEEKS)).rows}
    trend = []
    for i in range(TREND_WEEKS - 1, -1, -1):
        monday = start - timedelta(weeks=i)
        row = trend_rows.get(monday) or KpiRow(key=monday)
        d = row.as_dict()
        trend.append(
            {
                "week": week_of(monday),
                "received": fmt.count(d["received"]),
                "resolved": fmt.count(d["resolved"]),
                "savings": fmt.money(d["savings"]),
                "savings_percent": fmt.percent(d["savings_percent"]),
                "fees": fmt.money(d["fees"]),
                "net_savings": fmt.money(d["net_savings"]),
                "raw": {k: str(d[k]) for k in ("received", "resolved", "savings", "fees", "net_savings")},
            }
        )
    top, _ = await patterns(session, trend_filters, limit=10)
    today = now.astimezone(settings.zone).date()
    cells = await pipeline(session, Filters(client_id=client_id), today)
    queues: dict[str, dict[str, Any]] = {}
    for cell in cells:
        q = queues.setdefault(cell.queue, {a: 0 for a in AGE_BUCKETS} | {"billed": Decimal(0)})
        q[cell.age] += cell.bills
        q["billed"] += cell.billed
    terms = terms_on(await fee_history(session, client_id), end)
    return {
        "client_id": client_id,
        "week": week,
        "week_from": start.isoformat(),
        "week_to": end.isoformat(),
        "time_zone": settings.reporting_timezone,
        "made_at": now.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z"),
        "demo_bills": await count_demo(session, [client_id]),
        "figures": _row_figures(current, previous),
        "trend": trend,
        "patterns_period": f"{trend_filters.since} to {end}",
        "patterns": [
            {
                "provider": f"{p.provider_name or ''} {p.provider_npi or ''}".strip() or "—",
                "code": p.code or "—",
                "modifiers": p.modifiers or "—",
                "rule": p.rule,
                "findings": fmt.count(p.findings),
                "at_stake": fmt.money(p.at_stake),
                "disputed": fmt.count(p.disputed),
            }
            for p in top
        ],
        "pipeline_as_of": today.isoformat(),
        "pipeline": [
            {
                "queue": queue,
                "a0": fmt.count(q["0-30"]),
                "a31": fmt.count(q["31-60"]),
                "a61": fmt.count(q["61-90"]),
                "a90": fmt.count(q["90+"]),
                "billed": fmt.money(q["billed"]),
            }
            for queue, q in queues.items()
        ],
        "fee_terms": describe_terms(terms),
        "raw": {
            "current": _jsonable(current.as_dict()),
            "previous": _jsonable(previous.as_dict()),
        },
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def template() -> Template:
    return Template.from_file(TEMPLATE_PATH)


async def make_report(
    session: AsyncSession,
    settings: ReportingSettings,
    client_id: str,
    week: str,
    *,
    made_by: str,
    now: datetime | None = None,
) -> WeeklyReport:
    """Make (or make again) the client's report for ``week`` and store it, in the caller's transaction."""
    now = now or datetime.now(UTC)
    data = await report_data(session, settings, client_id, week, now)
    pdf = await render_pdf_async(template(), data, timestamp=now)
    html = render_html(template(), data)
    values = {
        "client_id": client_id,
        "week": week,
        "week_start": week_start(week),
        "made_by": made_by,
        "made_at": now,
        "data": data,
        "html": html,
        "pdf": pdf,
        "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
    }
    insert = pg_insert(WeeklyReport).values(**values)
    upsert = insert.on_conflict_do_update(
        index_elements=[WeeklyReport.client_id, WeeklyReport.week],
        set_={k: insert.excluded[k] for k in values if k not in ("client_id", "week")},
    ).returning(WeeklyReport)
    return (await session.scalars(upsert, execution_options={"populate_existing": True})).one()


# --- the schedule -------------------------------------------------------------------------------------


def run_time(week: str, settings: ReportingSettings) -> datetime:
    """When the reports of ``week`` are due: the configured weekday and hour after the week ends."""
    day = week_start(week) + timedelta(days=7 + settings.weekly_report_weekday)
    return datetime.combine(day, time(settings.weekly_report_hour), settings.zone)


def next_week_to_report(now: datetime, settings: ReportingSettings) -> str:
    """The week whose reports are due next (at or after ``now``)."""
    today = now.astimezone(settings.zone).date()
    week = week_of(today - timedelta(days=7))
    while run_time(week, settings) < now:
        week = week_of(week_start(week) + timedelta(days=7))
    return week


async def schedule_next_run(session: AsyncSession, settings: ReportingSettings) -> bool:
    """Make sure the next weekly run is scheduled (a no-op when it already is)."""
    week = next_week_to_report(datetime.now(UTC), settings)
    return await schedule(
        session, jobs, TICK, key=week, due_at=run_time(week, settings), payload={"week": week}
    )


def build_jobs(settings: ReportingSettings) -> JobHandlers:
    handlers = JobHandlers(jobs)

    @handlers.on(TICK)
    async def tick(tx: Tx, job: Job) -> None:
        week = str(job.payload["week"])
        start = week_start(week)
        active_since = start - timedelta(weeks=ACTIVE_WEEKS - 1)
        for client_id in await clients_with_activity(tx.session, active_since, start + timedelta(days=6)):
            await schedule(
                tx.session,
                jobs,
                REPORT,
                key=f"{client_id}:{week}",
                due_at=datetime.now(UTC),
                payload={"client_id": client_id, "week": week},
            )
        following = week_of(start + timedelta(days=7))
        await schedule(
            tx.session,
            jobs,
            TICK,
            key=following,
            due_at=run_time(following, settings),
            payload={"week": following},
        )

    @handlers.on(REPORT)
    async def report(tx: Tx, job: Job) -> None:
        await make_report(
            tx.session, settings, str(job.payload["client_id"]), str(job.payload["week"]), made_by="schedule"
        )

    return handlers
