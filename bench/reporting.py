"""Reporting benchmark, run by hand: ``python -m bench.reporting`` (--bills, --runs, --data).

All data is SYNTHETIC (``bench.reporting_data``): ``--bills`` per-bill facts (default 1,000,000) over the
last 365 days, 30 clients, 3,000 providers, the four pricing methods, every outcome, audit findings. On a
throwaway (or ``--data``: kept) embedded Postgres it:

1. generates the facts set-based in SQL, and builds the KPI tables from them with ``parley reporting
   rebuild``'s code (:mod:`services.reporting.rebuild`), timing both;
2. times every KPI view the JSON API (and so the dashboard and the CSV exports) answers, for one client and
   for all clients, over a whole year (whole months but one day) and over a ragged period (the 15th to the
   14th, eleven months: the most days read from the day tables), and the dashboard's default eight weeks:
   the totals with the previous period (``GET /v1/kpis``, turnaround and acceptance included), each
   breakdown (client, provider, state, method, line of business, week, month), acceptance per provider,
   the pipeline and the patterns; p50 and p95 over ``--runs`` runs after 3 warm-ups;
3. beside each, the same-run baseline: a plain query over ``bill_facts`` computing part of the same figures
   (``bench.reporting_baselines``), its p95 and the ratio, and checks the figures they share are equal.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import reporting_baselines as base
from bench.reporting_data import generate
from services.reporting.config import ReportingSettings
from services.reporting.kpis import Filters, breakdown
from services.reporting.patterns import patterns
from services.reporting.pipeline import pipeline
from services.reporting.rebuild import rebuild
from shared.catalog import service
from shared.db import create_engine
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack

Sessions = async_sessionmaker[AsyncSession]
TABLES = (
    "kpi_total_month",
    "kpi_client_month",
    "kpi_region_month",
    "kpi_npi_month",
    "kpi_client_npi_month",
    "kpi_provider_day",
    "kpi_provider_month",
    "kpi_npi_hist_month",
    "patterns_all_month",
    "patterns_client_day",
)


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p * len(ordered) / 100) - 1)]


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """(p50, p95) in milliseconds over ``runs`` calls after 3 warm-ups, and the last result."""
    result = None
    for _ in range(min(3, runs)):
        result = await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 95), result


async def load(sessions: Sessions, bills: int) -> datetime:
    """Generate the facts and build the KPI tables (or reuse a kept database); returns 'now'."""
    async with sessions() as session:
        kept = await session.scalar(text("SELECT count(*) FROM reporting.bill_facts"))
        newest = await session.scalar(text("SELECT max(received_at) FROM reporting.bill_facts"))
    if kept and kept >= bills and newest is not None:
        print(f"reusing the {kept:,} bills kept from an earlier run (--data)")
        return newest + timedelta(minutes=1)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        facts, findings = await generate(session, bills, now)
    print(
        f"generated {facts:,} synthetic bills, {findings:,} findings in SQL: "
        f"{time.perf_counter() - started:.1f}s"
    )
    await build(sessions)
    return now


async def build(sessions: Sessions) -> None:
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await rebuild(session, ReportingSettings(service="bench").zone)
    took = time.perf_counter() - started
    async with sessions() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()  # ANALYZE in a rolled-back transaction leaves no statistics
        sizes = {t: await session.scalar(text(f"SELECT count(*) FROM reporting.{t}")) for t in TABLES}
    print(
        f"KPI tables rebuilt from the facts (set-based): {took:.1f}s; rows: "
        + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    )


def bounds(since: date, until: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(since, datetime.min.time(), UTC),
        datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC),
    )


def row(
    label: str, ours: tuple[float, float], baseline: tuple[float, float] | None, same: bool | None
) -> None:
    line = f"{label:<52}{ours[0]:>8.1f}{ours[1]:>8.1f}"
    if baseline is not None:
        line += f"{baseline[0]:>10.1f}{baseline[1]:>9.1f}{baseline[1] / ours[1]:>9.1f}×"
    if same is not None:
        line += "   same" if same else "   DIFFERENT"
    print(line, flush=True)


def _dec(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


async def views(
    sessions: Sessions,
    runs: int,
    base_runs: int,
    period: str,
    since: date,
    until: date,
    client: str | None,
    today: date,
) -> None:
    f = Filters(since=since, until=until, client_id=client)
    s, u = bounds(since, until)
    who = client or "all clients"

    async def kpis() -> Any:
        async with sessions() as session:
            current = await breakdown(session, f, None)
            previous = f.previous()
            assert previous is not None
            await breakdown(session, previous, None)
            return current.rows[0]

    async def plain_totals() -> Any:
        async with sessions() as session:
            return await base.totals(session, s, u, client)

    k = await timed(runs, kpis)
    b = await timed(base_runs, plain_totals)
    d, t = k[2].as_dict(), b[2]
    same = (d["received"], d["resolved"], d["savings"], d["fees"], d["net_savings"]) == (
        t.received,
        t.resolved,
        _dec(t.savings),
        _dec(t.fees),
        _dec(t.net_savings),
    )
    row(f"{period}, {who}: GET /v1/kpis (+ previous)", k[:2], b[:2], same)
    turn = d["turnaround"]
    print(
        "    turnaround medians kept within 1 % / exact: received→priced "
        f"{turn['received_to_priced']['median_seconds']} / {int(t.priced_p50 or 0)} s, received→agreed "
        f"{turn['received_to_agreed']['median_seconds']} / {int(t.agreed_p50 or 0)} s"
    )
    groupings = ["provider", "state", "method", "line_of_business", "week", "month"]
    if client is None:
        groupings.insert(0, "client")
    for by in groupings:
        sort = "-savings" if by in ("provider", "client") else "key"

        async def ours(by: str = by, sort: str = sort, limit: int = 100) -> Any:
            async with sessions() as session:
                return await breakdown(session, f, by, sort=sort, limit=limit)

        async def plain(by: str = by, sort: str = sort, limit: int = 100) -> Any:
            async with sessions() as session:
                return await base.breakdown(session, by, s, u, client, sort=sort, limit=limit)

        o = await timed(runs, ours)
        p = await timed(base_runs, plain)
        got = [(str(r.key or ""), int(r.value("received")), _dec(r.value("savings"))) for r in o[2].rows]
        want = [(str(r.g or ""), int(r.received), _dec(r.savings)) for r in p[2]]
        label = f"  by {by}" + (", top 100 by savings" if sort != "key" else "")
        # Unknown keys ('' here) sort first in the view and last (NULL) in the baseline: compare as sets.
        row(label, o[:2], p[:2], got == want if sort != "key" else sorted(got) == sorted(want))

    async def acceptance() -> Any:
        async with sessions() as session:
            return await breakdown(session, f, "provider", sort="-agreed", limit=100)

    a = await timed(runs, acceptance)
    row("  acceptance per provider (top 100 by agreed)", a[:2], None, None)

    async def open_pipeline() -> Any:
        async with sessions() as session:
            return await pipeline(session, f, today)

    async def plain_pipeline() -> Any:
        async with sessions() as session:
            return await base.pipeline(session, today, client)

    o, p = await timed(runs, open_pipeline), await timed(base_runs, plain_pipeline)
    same = (sum(c.bills for c in o[2]), sum(c.billed for c in o[2])) == (p[2].bills, _dec(p[2].billed))
    row("  pipeline by queue × age (as of today)", o[:2], p[:2], same)

    async def top_patterns() -> Any:
        async with sessions() as session:
            return await patterns(session, f, limit=50)

    async def plain_patterns() -> Any:
        async with sessions() as session:
            return await base.patterns(session, s, u, client, 50)

    o, p = await timed(runs, top_patterns), await timed(base_runs, plain_patterns)
    got = [(x.provider_npi or "", x.code, x.modifiers or "", x.rule, x.findings, x.at_stake) for x in o[2][0]]
    want = [(r.provider_npi, r.code, r.modifiers, r.rule, r.findings, _dec(r.at_stake)) for r in p[2]]
    row("  patterns, top 50 by dollars", o[:2], p[:2], got == want)


async def measure(sessions: Sessions, runs: int, base_runs: int, now: datetime, only: list[str]) -> None:
    last = now.date()
    first = last - timedelta(days=365)
    ragged_from = (first.replace(day=1) + timedelta(days=45)).replace(day=15)
    ragged_to = (ragged_from + timedelta(days=320)).replace(day=14)
    monday = last - timedelta(days=last.weekday())
    periods = [
        ("year", first, last),
        (f"ragged {ragged_from}…{ragged_to}", ragged_from, ragged_to),
        ("8 weeks", monday - timedelta(weeks=7), last),
    ]
    print(
        f"\n{runs} runs each after 3 warm-ups (baselines {base_runs}); milliseconds; "
        f"the year is {first} … {last}"
    )
    print(f"{'view':<52}{'p50':>8}{'p95':>8}{'base p50':>10}{'p95':>9}{'ratio':>10}   figures")
    for period, since, until in periods:
        if only and not any(period.startswith(o) for o in only):
            continue
        for client in ("client-07", None):
            await views(sessions, runs, base_runs, period, since, until, client, last)


async def main(
    bills: int, runs: int, base_runs: int, data: Path | None, rebuild_only: bool, only: list[str]
) -> None:
    root = data or PROJECT_ROOT / ".parley" / f"bench-reporting-{os.getpid()}"
    stack = DevStack.throwaway(root)
    try:
        await stack.start_infrastructure()
        settings = ReportingSettings(
            service="bench", database_url=stack.database_url(service("reporting")), db_pool_size=4
        )
        engine = create_engine(settings)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; embedded Postgres")
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        now = await load(sessions, bills)
        if rebuild_only:
            await build(sessions)
        await measure(sessions, runs, base_runs, now, only)
        await engine.dispose()
    finally:
        stack.stop()
        if data is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--baseline-runs", type=int, default=5, help="runs of each baseline (seconds each at 1M)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="Keep the database in this folder, and reuse it when it already holds the bills (to time the "
        "queries again on a quiet machine).",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="Rebuild the KPI tables of a kept database first."
    )
    parser.add_argument(
        "--periods", default="", help="Time only these periods (comma list: year,ragged,8 weeks)."
    )
    args = parser.parse_args()
    only = [p for p in args.periods.split(",") if p]
    asyncio.run(main(args.bills, args.runs, args.baseline_runs, args.data, args.rebuild, only))
