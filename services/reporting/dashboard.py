"""What the dashboard page shows, worked out on the server from the same queries as the API.

Tiles carry the raw figure (``data-value``) beside the formatted one, so a test can hold them against
``GET /v1/kpis``; the charts get plain series (the browser only draws them, with the vendored Chart.js).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import formatting as fmt
from services.reporting.kpis import Filters, KpiRow, breakdown
from services.reporting.patterns import patterns
from services.reporting.pipeline import AGE_BUCKETS, QUEUES, pipeline
from services.reporting.repository import count_demo

DEFAULT_WEEKS = 8


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str  # formatted
    raw: str  # as the API gives it ('' when there is no figure)
    change: str
    better: str  # 'up', 'down' or '' (how the change reads)


def default_period(today: date, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """The last ``weeks`` whole ISO weeks and this week so far."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks - 1), today


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def tiles(current: KpiRow, previous: KpiRow | None, open_bills: int) -> list[Tile]:
    c = current.as_dict()
    p = previous.as_dict() if previous is not None else None

    def tile(key: str, label: str, shown: Any, better: str, value: Any = None) -> Tile:
        now = c[key] if value is None else value
        before = p[key] if p is not None and value is None else None
        return Tile(key, label, shown(now), _raw(now), fmt.change(now, before) if p else "—", better)

    turnaround = c["turnaround"]["received_to_agreed"]["median_seconds"]
    before_turnaround = p["turnaround"]["received_to_agreed"]["median_seconds"] if p else None
    return [
        tile("received", "Bills received", fmt.count, "up"),
        tile("savings", "Savings", fmt.money, "up"),
        tile("net_savings", "Net savings", fmt.money, "up"),
        tile("fees", "Fees", fmt.money, ""),
        tile("savings_percent", "Savings %", fmt.percent, "up"),
        Tile(
            "received_to_agreed_median",
            "Received → agreed (median)",
            fmt.duration(turnaround),
            _raw(turnaround),
            fmt.change(turnaround, before_turnaround) if p else "—",
            "down",
        ),
        tile("first_offer_acceptance_percent", "First-offer acceptance", fmt.percent, "up"),
        Tile("open_bills", "Open bills (pipeline)", fmt.count(open_bills), str(open_bills), "—", ""),
    ]


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def dashboard_data(session: AsyncSession, filters: Filters, today: date) -> dict[str, Any]:
    """Tiles, chart series, the pattern table and the pipeline for the page."""
    summary = (await breakdown(session, filters, None)).rows[0]
    previous_filters = filters.previous()
    previous = (await breakdown(session, previous_filters, None)).rows[0] if previous_filters else None
    weeks = (await breakdown(session, filters, "week", limit=60)).rows
    cells = await pipeline(session, filters, today)
    open_bills = sum(c.bills for c in cells)
    queues = [q for q in QUEUES if any(c.queue == q for c in cells)]
    matrix = [
        [sum(c.bills for c in cells if c.queue == q and c.age == a) for a in AGE_BUCKETS] for q in queues
    ]
    top, _ = await patterns(session, filters, limit=10)
    rows = [w.as_dict() for w in weeks]
    chart = {
        "weeks": [str(r["key"]) for r in rows],
        "savings": [_number(r["savings"]) for r in rows],
        "net_savings": [_number(r["net_savings"]) for r in rows],
        "fees": [_number(r["fees"]) for r in rows],
        "turnaround": {
            metric: [_hours(r["turnaround"][metric]["median_seconds"]) for r in rows]
            for metric in ("received_to_priced", "received_to_agreed", "agreed_to_executed")
        },
        "acceptance": {
            "first_offer": [_number(r["first_offer_acceptance_percent"]) for r in rows],
            "accepted_share": [_number(r["median_accepted_share_percent"]) for r in rows],
            "quick_pay": [_number(r["quick_pay_uptake_percent"]) for r in rows],
        },
        "pipeline": {"ages": list(AGE_BUCKETS), "queues": queues, "bills": matrix},
    }
    return {
        "tiles": tiles(summary, previous, open_bills),
        "chart": chart,
        "patterns": top,
        "pipeline": {"queues": queues, "ages": AGE_BUCKETS, "bills": matrix},
        "demo_bills": await count_demo(session, filters.clients),
        "fmt": fmt,
    }
