"""KPI queries over the pre-aggregated tables: any period of days, filtered, broken down, paged.

A query reads the smallest level (:data:`services.reporting.measures.LEVELS`) that has every dimension it
filters or groups by, sums the day rows of the period, and derives the ratios from the sums (never an
average of averages). Percentiles come from the histograms of the same rows by nearest rank, for the
groups of the page only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Subquery, Table, func, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.measures import (
    COUNTS,
    HISTOGRAMS,
    LEVELS,
    MEASURES,
    MONEY,
    Histogram,
    Level,
    merged_nearest_rank,
)
from services.reporting.models import CUBES, HISTS

DIMENSION_OF = {
    "client": "client_id",
    "provider": "provider_npi",
    "state": "state",
    "method": "method",
    "line_of_business": "line_of_business",
}
TIME_GRAINS = ("day", "week", "month")
GROUPINGS = (*DIMENSION_OF, *TIME_GRAINS)
SORTABLE = ("key", *MEASURES)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Filters:
    """Which bills' measures count: a period of days (inclusive) and dimension values.

    ``clients`` is the caller's scope (None = every client); ``client_id`` a filter within it."""

    since: date | None = None
    until: date | None = None
    clients: frozenset[str] | None = None
    client_id: str | None = None
    provider_npi: str | None = None
    state: str | None = None
    method: str | None = None
    line_of_business: str | None = None

    def dims(self) -> set[str]:
        return {d for d in DIMENSION_OF.values() if d != "client_id" and getattr(self, d) is not None}

    def previous(self) -> Filters | None:
        """The period of the same length just before this one (None for an open-ended period)."""
        if self.since is None or self.until is None:
            return None
        length = (self.until - self.since).days + 1
        return replace(self, since=self.since - timedelta(days=length), until=self.since - timedelta(days=1))


def level_for(filters: Filters, by: str | None) -> Level:
    needed = filters.dims() | ({DIMENSION_OF[by]} if by in DIMENSION_OF else set())
    if filters.clients is not None or filters.client_id is not None:
        needed.add("client_id")
    for level in LEVELS:
        if level.covers(needed):
            return level
    raise AssertionError("the last level has every dimension")  # pragma: no cover


Span = tuple[str, date | None, date | None]


def spans(since: date | None, until: date | None, by: str | None) -> list[Span]:
    """(grain, first day, last day) pieces that cover the period: whole calendar months from the month
    tables, the ragged ends from the day tables. A day or week breakdown reads days only."""
    if by in ("day", "week"):
        return [("day", since, until)]
    first_full = since
    if since is not None and since.day != 1:
        first_full = (since.replace(day=1) + timedelta(days=32)).replace(day=1)
    after_full = (until + timedelta(days=1)).replace(day=1) if until is not None else None
    if first_full is not None and after_full is not None and first_full >= after_full:
        return [("day", since, until)]
    pieces: list[Span] = [("month", first_full, after_full - timedelta(days=1) if after_full else None)]
    if since is not None and first_full is not None and since < first_full:
        pieces.append(("day", since, first_full - timedelta(days=1)))
    if until is not None and after_full is not None and after_full <= until:
        pieces.append(("day", after_full, until))
    return pieces


def _where(
    table: Table, filters: Filters, since: date | None, until: date | None, day_column: str = "day"
) -> list[ColumnElement[bool]]:
    c = table.c
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(c[day_column] >= since)
    if until is not None:
        conditions.append(c[day_column] <= until)
    if filters.clients is not None:
        conditions.append(c.client_id.in_(sorted(filters.clients)))
    for name in ("client_id", "provider_npi", "state", "method", "line_of_business"):
        value = getattr(filters, name)
        if value is not None and name in c:
            conditions.append(c[name] == value)
    return conditions


def _group_expr(table: Table, by: str | None) -> ColumnElement[Any]:
    if by is None:
        return literal("all")
    if by in DIMENSION_OF:
        return table.c[DIMENSION_OF[by]]
    if by == "day":
        return table.c.day
    return func.date_trunc(by, table.c.day).cast(table.c.day.type)


def _rows(
    level: Level,
    tables: dict[str, Table],
    name: Callable[[Level, str], str],
    filters: Filters,
    by: str | None,
    columns: Sequence[str],
    keys: Sequence[Any] | None = None,
) -> Subquery:
    """The period's rows of one kind of table (cubes or histograms) as (g, *columns), months and days."""
    parts = []
    for grain, since, until in spans(filters.since, filters.until, by):
        table = tables[name(level, grain)]
        group = _group_expr(table, by)
        conditions = _where(table, filters, since, until)
        if keys is not None:
            conditions.append(group.in_(keys))
        parts.append(select(group.label("g"), *(table.c[c] for c in columns)).where(*conditions))
    if len(parts) == 1:
        return parts[0].subquery()
    return union_all(*parts).subquery()


@dataclass
class KpiRow:
    """Summed measures of one group, and what follows from them."""

    key: str | date | None
    label: str | None = None
    sums: dict[str, Decimal] = field(default_factory=dict)
    turnaround: dict[str, dict[str, int | None]] = field(default_factory=dict)
    accepted_share_median: Decimal | None = None

    def value(self, name: str) -> Decimal:
        return self.sums.get(name, Decimal(0))

    def ratio(self, part: str, whole: str) -> Decimal | None:
        denominator = self.value(whole)
        if denominator == 0:
            return None
        return (self.value(part) * HUNDRED / denominator).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def resolved(self) -> int:
        return int(self.value("settled") + self.value("repriced"))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label}
        for name in COUNTS:
            out[name] = int(self.value(name))
        for name in MONEY:
            out[name] = self.value(name).quantize(CENT)
        out["resolved"] = self.resolved
        out["savings_percent"] = self.ratio("savings", "resolved_billed")
        out["net_savings_percent"] = self.ratio("net_savings", "resolved_billed")
        out["first_offer_acceptance_percent"] = self.ratio("first_offer_accepted", "agreed")
        out["quick_pay_uptake_percent"] = self.ratio("quick_pay_agreed", "quick_pay_offered")
        out["approvals_denied_percent"] = self.ratio("approvals_denied", "approvals_requested")
        out["median_accepted_share_percent"] = self.accepted_share_median
        out["turnaround"] = self.turnaround
        return out


@dataclass(frozen=True)
class Page:
    rows: list[KpiRow]
    total: int
    level: str


def _key(value: Any) -> str | date | None:
    if value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    assert value is None or isinstance(value, str | date)
    return value


async def breakdown(
    session: AsyncSession,
    filters: Filters,
    by: str | None,
    *,
    sort: str = "key",
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """Measures per group (one row for ``by=None``), sorted, one page of groups.

    In two steps, because a breakdown by provider has thousands of groups and a page shows a hundred: the
    page's keys and the number of groups first, summing only the sort measure and the count of events
    (a group exists while any of its counts is not zero: every event adds at least one count, and money
    only ever comes with a count), then every measure and the percentiles for the page's groups alone."""
    level = level_for(filters, by)
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    keys: list[Any] | None = None
    total = 1
    if by is not None:
        ranked: tuple[str, ...] = () if name == "key" else (name,)
        rows_of = _rows(level, CUBES, Level.table, filters, by, (*ranked, "events"))
        events = func.sum(rows_of.c.events)
        groups = func.count().over().label("groups")
        ranking = select(rows_of.c.g, groups).group_by(rows_of.c.g).having(events != 0)
        order: ColumnElement[Any] = rows_of.c.g if name == "key" else func.sum(rows_of.c[name])
        ranking = ranking.order_by(order.desc() if descending else order.asc(), rows_of.c.g)
        found = list(await session.execute(ranking.limit(limit).offset(offset)))
        keys = [r.g for r in found]
        if found:
            total = int(found[0].groups)
        else:  # a page past the end: count the groups
            counted = select(rows_of.c.g).group_by(rows_of.c.g).having(events != 0).subquery()
            total = int(await session.scalar(select(func.count()).select_from(counted)) or 0)
    rows: list[KpiRow] = []
    if keys is None or keys:
        rows_of = _rows(level, CUBES, Level.table, filters, by, MEASURES, _stored(keys))
        sums = [func.sum(rows_of.c[m]).label(m) for m in MEASURES]
        summed = {r.g: r for r in await session.execute(select(rows_of.c.g, *sums).group_by(rows_of.c.g))}
        for g in keys if keys is not None else list(summed)[:1]:
            r = summed[g]
            rows.append(KpiRow(key=_key(g), sums={m: Decimal(getattr(r, m) or 0) for m in MEASURES}))
    if by is None and not rows:
        rows = [KpiRow(key="all", sums={m: Decimal(0) for m in MEASURES})]
    if rows:
        await _percentiles(session, level, filters, by, rows)
    if by == "provider":
        names = await provider_names(session, [str(r.key) for r in rows if r.key])
        for row in rows:
            row.label = names.get(str(row.key)) if row.key else None
    return Page(rows, total, level.name)


def _stored(keys: Sequence[Any] | None) -> list[Any] | None:
    """Group keys as the tables hold them (a day or week key is a date; an unknown dimension is '')."""
    if keys is None:
        return None
    return [k.date() if isinstance(k, datetime) else k for k in keys]


async def _percentiles(
    session: AsyncSession, level: Level, filters: Filters, by: str | None, rows: Sequence[KpiRow]
) -> None:
    """Median and 90th percentile (nearest rank) of each histogram, for the page's groups: one row per
    group, metric and month (or day) of the period, each a whole histogram, ranked here
    (:func:`merged_nearest_rank`)."""
    keys = [r.key if r.key is not None else "" for r in rows] if by is not None else None
    rows_of = _rows(level, HISTS, Level.hist, filters, by, ("metric", "buckets", "counts"), keys)
    parts: dict[tuple[Any, str], list[Histogram]] = {}
    c = rows_of.c
    for g, metric, buckets, counts in await session.execute(select(c.g, c.metric, c.buckets, c.counts)):
        parts.setdefault((_key(g), metric), []).append((buckets, counts))
    for row in rows:
        key = row.key if by is not None else "all"
        for metric in HISTOGRAMS:
            histograms = parts.get((key, metric), [])
            p50, total = merged_nearest_rank(histograms, 50)
            if metric == "accepted_share":
                row.accepted_share_median = (Decimal(p50) / 100).quantize(CENT) if p50 is not None else None
                continue
            row.turnaround[metric] = {
                "bills": total,
                "median_seconds": p50,
                "p90_seconds": merged_nearest_rank(histograms, 90)[0],
            }


async def provider_names(session: AsyncSession, npis: Collection[str]) -> dict[str, str]:
    """The latest name known for each provider (``ix_bill_facts_provider_name``: one probe each, not a
    read of every bill of the page's providers)."""
    if not npis:
        return {}
    rows = await session.execute(
        text(
            "SELECT n.npi, (SELECT f.provider_name FROM reporting.bill_facts f "
            "WHERE f.provider_npi = n.npi AND f.provider_name IS NOT NULL "
            "ORDER BY f.updated_at DESC LIMIT 1) FROM unnest(CAST(:npis AS text[])) AS n(npi)"
        ),
        {"npis": sorted(set(npis))},
    )
    return {npi: name for npi, name in rows if npi and name}


async def clients_with_activity(session: AsyncSession, since: date, until: date) -> list[str]:
    """Clients with any KPI row in [since, until] (whose weekly report is worth making)."""
    cube = CUBES[LEVELS[1].table("day")]
    rows = await session.scalars(
        select(cube.c.client_id)
        .where(cube.c.day >= since, cube.c.day <= until, cube.c.client_id != "")
        .distinct()
        .order_by(cube.c.client_id)
    )
    return list(rows)


def in_scope(clients: frozenset[str] | None, client_id: str | None) -> bool:
    return clients is None or client_id is None or client_id in clients
