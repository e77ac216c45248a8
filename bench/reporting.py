"""Reporting benchmark, run by hand: ``python -m bench.reporting`` (--bills, --runs).

All data is SYNTHETIC: ``--bills`` per-bill facts (default 1,000,000) over the last 365 days, 30 clients
(each with a line of business, three states and its own fee terms), 3,000 providers, the four pricing
methods, outcomes (repriced, settled after negotiation, disputed, escalated, closed unresolved, still
open), audit findings and approvals. On a throwaway embedded Postgres it:

1. writes the facts with COPY and builds the KPI tables with the consumers' own code (the contribution of
   every bill, queued and folded: ``services.reporting.rebuild``), timing it;
2. times the KPI query the API answers (``GET /v1/kpis``: every KPI over the whole year plus the period
   before, percentiles included) for one client and for all clients, and the monthly breakdown, p50 and
   p95 over ``--runs`` runs each;
3. times, in the same run, a plain GROUP BY over the same bills computing the same totals (counts,
   dollars, fees, exact percentiles of the three turnarounds) straight from ``bill_facts``, and checks the
   two agree.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.config import ReportingSettings
from services.reporting.fees import FeeKind, FeeTerms, fee_for
from services.reporting.kpis import Filters, breakdown
from services.reporting.patterns import patterns
from services.reporting.pipeline import pipeline
from services.reporting.rebuild import rebuild
from shared.catalog import service
from shared.db import create_engine
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack

STATES = ["AZ", "CA", "CO", "FL", "GA", "IL", "MD", "NV", "NY", "OH", "PA", "TX", "WA"]
LINES = ["workers_compensation", "group_health", "auto"]
RULES = ["ncci_ptp", "mue", "modifier_59", "modifier_25", "duplicate_line", "charge_above_uc"]
CODES = [f"{99200 + i}" for i in range(20)] + ["97140", "29881", "73030", "71046", "36415", "93000"]
MODIFIERS = ["", "", "59", "25", "26", "RT,59"]
CENT = Decimal("0.01")
FACT_COLUMNS = [
    "bill_id", "client_id", "partner_claim_id", "claim_type", "provider_npi", "provider_tin",
    "provider_name", "state", "line_of_business", "received_at", "bill_revision", "billed", "priced_at",
    "pricing_revision", "method", "allowed", "unpriced_billed", "findings_at_stake", "case_id",
    "case_opened_at", "route", "opening_offer", "offers", "quick_pay_offered", "agreed_at", "agreed_amount",
    "first_offer_accepted", "quick_pay_agreed", "executed_at", "outcome", "closed_at", "resolved_amount",
    "savings", "fee", "net_savings",
]  # fmt: skip


def money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def clients(rng: random.Random) -> list[dict[str, Any]]:
    kinds = [
        FeeTerms(FeeKind.contingency, date(2000, 1, 1), percent=Decimal(25), cap=Decimal(1000)),
        FeeTerms(FeeKind.flat, date(2000, 1, 1), flat=Decimal(45)),
        FeeTerms(FeeKind.hybrid, date(2000, 1, 1), flat=Decimal(20), percent=Decimal(10), cap=Decimal(750)),
    ]
    return [
        {
            "id": f"client-{n:02d}",
            "lob": LINES[n % 3],
            "states": rng.sample(STATES, 3),
            "terms": kinds[n % 3],
        }
        for n in range(30)
    ]


def providers(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    by_state: dict[str, list[tuple[str, str]]] = {s: [] for s in STATES}
    for n in range(3000):
        by_state[STATES[n % len(STATES)]].append((f"{1_000_000_000 + n * 7}", f"Provider {n:04d}"))
    return by_state


def synthetic(n: int, seed: int, now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``n`` facts rows and their findings rows."""
    rng = random.Random(seed)
    cs, ps = clients(rng), providers(rng)
    start = now - timedelta(days=365)
    facts: list[tuple[Any, ...]] = []
    findings: list[tuple[Any, ...]] = []
    for _ in range(n):
        c = rng.choice(cs)
        state = rng.choice(c["states"])
        npi, name = rng.choice(ps[state])
        received = start + timedelta(seconds=rng.uniform(0, 365 * 86400))
        billed = money(min(max(rng.lognormvariate(7.0, 1.0), 40.0), 250_000.0))
        row: dict[str, Any] = dict.fromkeys(FACT_COLUMNS)
        bill_id = uuid.uuid4()
        row.update(
            bill_id=bill_id,
            client_id=c["id"],
            partner_claim_id=f"SYN-{bill_id.hex[:10]}",
            claim_type="professional",
            provider_npi=npi,
            provider_tin="587654321",
            provider_name=name,
            state=state,
            line_of_business=c["lob"],
            received_at=received,
            bill_revision=1,
            billed=billed,
            offers=0,
            quick_pay_offered=False,
            quick_pay_agreed=False,
        )
        age = (now - received).total_seconds()
        if age < 2 * 86400 and rng.random() < 0.5:
            facts.append(tuple(row[k] for k in FACT_COLUMNS))
            continue
        priced = received + timedelta(seconds=rng.uniform(2, 900))
        method = rng.choices(
            ["fee_schedule", "contract", "agreement", "usual_and_customary"], [30, 20, 5, 45]
        )[0]
        allowed = money(float(billed) * rng.uniform(0.35, 0.9))
        row.update(
            priced_at=priced,
            pricing_revision=1,
            method=method,
            allowed=allowed,
            unpriced_billed=Decimal("0.00"),
            findings_at_stake=Decimal("0.00"),
        )
        if rng.random() < 0.3:
            at_stake = Decimal("0.00")
            for k in range(rng.choice([1, 1, 2])):
                amount = money(rng.uniform(20, 800))
                at_stake += amount
                findings.append(
                    (
                        bill_id,
                        k + 1,
                        k + 1,
                        rng.choice(RULES),
                        rng.choice(CODES),
                        rng.choice(MODIFIERS),
                        amount,
                    )
                )
            row["findings_at_stake"] = at_stake
        if method != "usual_and_customary":
            row.update(
                case_id=uuid.uuid4(),
                case_opened_at=priced + timedelta(seconds=1),
                route="repriced",
                outcome="repriced",
                closed_at=priced + timedelta(seconds=2),
                resolved_amount=allowed,
            )
        else:
            opened = priced + timedelta(seconds=rng.uniform(1, 60))
            route = rng.choices(["negotiate", "audit", "review"], [85, 10, 5])[0]
            row.update(
                case_id=uuid.uuid4(),
                case_opened_at=opened,
                route=route,
                opening_offer=allowed,
                offers=1,
                quick_pay_offered=rng.random() < 0.3,
            )
            fate = rng.random()
            agreed = opened + timedelta(days=rng.uniform(1, 25))
            if fate < 0.8 and agreed < now:
                amount = min(money(float(allowed) * rng.uniform(1.0, 1.3)), billed)
                first = rng.random() < 0.35
                row.update(
                    agreed_at=agreed,
                    agreed_amount=amount,
                    first_offer_accepted=first,
                    offers=1 if first else rng.randint(2, 5),
                    quick_pay_agreed=bool(row["quick_pay_offered"]) and rng.random() < 0.6,
                )
                executed = agreed + timedelta(days=rng.uniform(0.2, 7))
                if rng.random() < 0.92 and executed < now:
                    row.update(
                        executed_at=executed,
                        outcome="settled",
                        closed_at=executed + timedelta(seconds=1),
                        resolved_amount=amount,
                    )
            elif fate < 0.93:
                closed = opened + timedelta(days=rng.uniform(3, 60))
                if closed < now:
                    outcome = rng.choices(["disputed", "escalated", "closed_unresolved"], [6, 3, 4])[0]
                    row.update(outcome=outcome, closed_at=closed)
        if row["resolved_amount"] is not None:
            savings = billed - row["resolved_amount"]
            fee = fee_for(c["terms"], savings)
            row.update(savings=savings, fee=fee, net_savings=savings - fee)
        facts.append(tuple(row[k] for k in FACT_COLUMNS))
    return facts, findings


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p * len(ordered) / 100) - 1)]


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    for _ in range(3):
        result = await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 95), result


BASELINE = """
SELECT count(*) FILTER (WHERE received_at >= :s AND received_at < :u) AS received,
       coalesce(sum(billed) FILTER (WHERE received_at >= :s AND received_at < :u), 0) AS received_billed,
       count(*) FILTER (WHERE outcome IN ('settled', 'repriced') AND closed_at >= :s AND closed_at < :u)
         AS resolved,
       coalesce(sum(savings) FILTER (WHERE outcome IN ('settled', 'repriced') AND closed_at >= :s
         AND closed_at < :u), 0) AS savings,
       coalesce(sum(fee) FILTER (WHERE outcome IN ('settled', 'repriced') AND closed_at >= :s
         AND closed_at < :u), 0) AS fees,
       coalesce(sum(net_savings) FILTER (WHERE outcome IN ('settled', 'repriced') AND closed_at >= :s
         AND closed_at < :u), 0) AS net_savings,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM priced_at - received_at))
         FILTER (WHERE priced_at >= :s AND priced_at < :u) AS priced_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM priced_at - received_at))
         FILTER (WHERE priced_at >= :s AND priced_at < :u) AS priced_p90,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM agreed_at - received_at))
         FILTER (WHERE agreed_at >= :s AND agreed_at < :u) AS agreed_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM executed_at - agreed_at))
         FILTER (WHERE executed_at >= :s AND executed_at < :u) AS executed_p90
FROM reporting.bill_facts WHERE {where}
"""


async def bench(sessions: async_sessionmaker[AsyncSession], bills: int, runs: int) -> None:
    settings = ReportingSettings(service="bench")
    async with sessions() as session:
        kept = await session.scalar(text("SELECT count(*) FROM reporting.bill_facts"))
        newest = await session.scalar(text("SELECT max(received_at) FROM reporting.bill_facts"))
    if kept and kept >= bills and newest is not None:
        print(f"reusing the {kept:,} bills kept from an earlier run (--data)")
        await measure(sessions, runs, newest + timedelta(minutes=1))
        return
    now = datetime.now(UTC)
    started = time.perf_counter()
    facts, findings = synthetic(bills, 7, now)
    print(
        f"generated {len(facts):,} synthetic bills, {len(findings):,} findings in "
        f"{time.perf_counter() - started:.1f}s"
    )
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        raw = await (await session.connection()).get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "bill_facts", schema_name="reporting", columns=FACT_COLUMNS, records=facts
        )
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "bill_findings",
            schema_name="reporting",
            columns=["bill_id", "n", "line_number", "rule", "code", "modifiers", "amount"],
            records=findings,
        )
    del facts, findings
    print(f"COPY into bill_facts: {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await rebuild(session, settings.zone, chunk=20000)
    async with sessions() as session:
        await session.execute(text("ANALYZE"))
        sizes = {
            name: await session.scalar(text(f"SELECT count(*) FROM reporting.{name}"))
            for name in (
                "kpi_total_month",
                "kpi_client_day",
                "kpi_client_month",
                "kpi_provider_day",
                "kpi_total_hist_month",
                "kpi_client_hist_day",
                "kpi_client_hist_month",
            )
        }
    print(
        f"KPI tables built by the consumers' contribution code: {time.perf_counter() - started:.1f}s; rows: "
        + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    )

    await measure(sessions, runs, now)


async def measure(sessions: async_sessionmaker[AsyncSession], runs: int, now: datetime) -> None:
    first = (now - timedelta(days=365)).date()
    last = now.date()
    period_start = datetime.combine(first, datetime.min.time(), UTC)
    period_end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    print(f"\nperiod {first} … {last} (every bill), {runs} runs each after 3 warm-up runs; milliseconds")
    print(f"{'query':<44}{'p50':>9}{'p95':>9}   {'baseline p50':>13}{'p95':>9}{'ratio p95':>11}")
    for label, client in (("one client", "client-07"), ("all 30 clients", None)):
        f = Filters(since=first, until=last, client_id=client)

        async def kpis(f: Filters = f) -> Any:
            async with sessions() as session:
                current = await breakdown(session, f, None)
                previous = f.previous()
                assert previous is not None
                await breakdown(session, previous, None)
                return current.rows[0]

        async def monthly(f: Filters = f) -> Any:
            async with sessions() as session:
                return await breakdown(session, f, "month", limit=24)

        async def baseline(client: str | None = client) -> Any:
            where = "client_id = :c" if client else "true"
            async with sessions() as session:
                return (
                    await session.execute(
                        text(BASELINE.format(where=where)), {"s": period_start, "u": period_end, "c": client}
                    )
                ).one()

        k50, k95, row = await timed(runs, kpis)
        m50, m95, _ = await timed(runs, monthly)
        b50, b95, base = await timed(runs, baseline)
        print(
            f"{'GET /v1/kpis, ' + label:<44}{k50:>9.1f}{k95:>9.1f}   "
            f"{b50:>13.1f}{b95:>9.1f}{b95 / k95:>10.1f}×"
        )
        print(f"{'  … by month, ' + label:<44}{m50:>9.1f}{m95:>9.1f}")
        d = row.as_dict()
        same = (d["received"], d["resolved"], d["savings"], d["fees"], d["net_savings"]) == (
            base.received,
            base.resolved,
            base.savings,
            base.fees,
            base.net_savings,
        )
        print(
            f"  same totals as the baseline: {same} (received {d['received']:,}, resolved {d['resolved']:,}, "
            f"savings {d['savings']:,}, fees {d['fees']:,}, net {d['net_savings']:,})"
        )
        t = d["turnaround"]
        print(
            f"  turnaround medians (kept within 1 % / exact): received→priced "
            f"{t['received_to_priced']['median_seconds']} / {int(base.priced_p50)} s; received→agreed "
            f"{t['received_to_agreed']['median_seconds']} / {int(base.agreed_p50)} s"
        )

        async def providers_page(f: Filters = f) -> Any:
            async with sessions() as session:
                return await breakdown(session, f, "provider", sort="-savings", limit=100)

        p50, p95, _ = await timed(runs, providers_page)
        print(f"{'  … by provider, top 100 by savings, ' + label:<44}{p50:>9.1f}{p95:>9.1f}")

        async def open_pipeline(f: Filters = f) -> Any:
            async with sessions() as session:
                return await pipeline(session, f, last)

        async def top_patterns(f: Filters = f) -> Any:
            async with sessions() as session:
                return await patterns(session, f, limit=50)

        p50, p95, _ = await timed(runs, open_pipeline)
        print(f"{'  pipeline by queue × age, ' + label:<44}{p50:>9.1f}{p95:>9.1f}")
        p50, p95, _ = await timed(runs, top_patterns)
        print(f"{'  patterns, top 50, ' + label:<44}{p50:>9.1f}{p95:>9.1f}")


async def main(bills: int, runs: int, data: Path | None) -> None:
    root = data or PROJECT_ROOT / ".parley" / f"bench-reporting-{os.getpid()}"
    stack = DevStack.throwaway(root)
    try:
        await stack.start_infrastructure()
        settings = ReportingSettings(
            service="bench", database_url=stack.database_url(service("reporting")), db_pool_size=4
        )
        engine = create_engine(settings)
        print(f"machine: {os.cpu_count()} CPUs; embedded Postgres")
        await bench(async_sessionmaker(engine, expire_on_commit=False), bills, runs)
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
        "--data",
        type=Path,
        help="Keep the database in this folder, and reuse it when it already holds the bills (a million "
        "bills take about 15 minutes to build; the queries can then be timed again on a quiet machine).",
    )
    args = parser.parse_args()
    asyncio.run(main(args.bills, args.runs, args.data))
