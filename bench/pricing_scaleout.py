"""Pricing scale-out, run by hand: ``python -m bench.pricing_scaleout [--observations 500000 --bills 3000]``.

All data SYNTHETIC (``bench.pricing``'s generator: 2,000 facilities, 300 codes, charges around real 2025
Medicare amounts). On a throwaway embedded stack (Postgres and the broker; no other Parley service), the
U&C observations are loaded once; then for each round (``--instances 1,2``: one pricing process, then
two in the same consumer group) ``--bills`` 10-line ``bill.received`` events are published first and the
pricing processes started after, so the clock measures pricing alone. Every bill goes the whole way the
service takes it: inbox, the bill kept, its old observations withdrawn, the decision (fee schedule →
contract → three U&C reviews → audit), the revision with its statement, ``bill.priced`` in the outbox and
published by the relay, its lines deposited as observations and folded by the fold loop.

It prints per round the steady rate (bills/s between 10% and 90% of the round's bills priced: process
start-up, the consumer group's rebalance and the drain are left out), the ratio to one instance, and the
CPU each bill cost in the pricing processes and in Postgres (from ``/proc``: user + system time of the
uvicorn processes, and of the postmaster and all its children), from which it states what N instances
on N cores would reach and where the database becomes the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import shutil
import time
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.pricing import (
    cpu_seconds,
    facilities,
    load_observations,
    make_bill,
    medicare_amounts,
    postgres_pids,
)
from services.pricing.config import PricingSettings
from services.pricing.importers import load_cms, run_load
from shared.bus.kafka import make_producer
from shared.catalog import service
from shared.contracts import PAYLOADS, Envelope
from shared.db import asyncpg_dsn, create_engine
from shared.settings import Settings
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.broker import free_port
from shared.stack.devstack import DevStack, ServiceProcess


@dataclass
class Round:
    instances: int
    rate: float  # bills/s, steady part of the round
    pricing_cpu_ms: float  # per bill, all pricing processes
    postgres_cpu_ms: float  # per bill, the whole Postgres


async def publish_bills(
    settings: Settings, count: int, codes: list[str], registry: list[dict[str, str]]
) -> None:
    rng = random.Random(time.time_ns())
    producer = make_producer(settings)
    await producer.start()
    try:
        for _ in range(count):
            bill = make_bill(rng, codes, registry)
            envelope = Envelope.wrap(bill, source="/bench/pricing-scaleout", subject=str(bill.bill_id))
            topic = PAYLOADS[(envelope.event_type, envelope.version)].topic.value
            await producer.send(topic, envelope.to_bytes(), key=envelope.subject.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def run_round(
    stack: DevStack,
    settings: Settings,
    instances: int,
    bills: int,
    codes: list[str],
    registry: list[dict[str, str]],
) -> Round:
    db = await asyncpg.connect(asyncpg_dsn(stack.superuser_url()))
    try:
        start = int(await db.fetchval("SELECT count(*) FROM pricing.pricings"))
        await publish_bills(settings, bills, codes, registry)
        names = [f"pricing-{i}" for i in range(instances)]
        base = stack.services["pricing"]
        for name in names:
            stack.services[name] = ServiceProcess(base.info, free_port(), stack.logs / f"{name}.log")
            stack.start_service(name)
        await stack.wait_ready(names)
        pids = [p.process.pid for n, p in stack.services.items() if n in names and p.process]
        marks: dict[str, tuple[float, int, float, float]] = {}
        low, high, end = start + bills // 10, start + bills * 9 // 10, start + bills
        done = start
        while done < end:
            await asyncio.sleep(0.05)
            done = int(await db.fetchval("SELECT count(*) FROM pricing.pricings"))
            for mark, at in (("low", low), ("high", high)):
                if mark not in marks and done >= at:
                    cpu = sum(map(cpu_seconds, pids)), sum(map(cpu_seconds, postgres_pids(stack.root)))
                    marks[mark] = (time.perf_counter(), done, *cpu)
    finally:
        await db.close()
    for name in names:
        stack.stop_service(name)
        del stack.services[name]
    (t0, n0, p0, g0), (t1, n1, p1, g1) = marks["low"], marks["high"]
    priced = n1 - n0
    done = Round(instances, priced / (t1 - t0), (p1 - p0) / priced * 1000, (g1 - g0) / priced * 1000)
    print(
        f"round: {instances} pricing instance(s), {done.rate:,.1f} bills/s; CPU per bill: pricing "
        f"{done.pricing_cpu_ms:.1f} ms, Postgres {done.postgres_cpu_ms:.1f} ms",
        flush=True,
    )
    return done


async def prepare(stack: DevStack, observations: int) -> tuple[list[str], list[dict[str, str]]]:
    settings = PricingSettings(service="bench", database_url=stack.database_url(service("pricing")))
    engine = create_engine(settings)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        await load_cms(session, settings.cms_dir, settings.cms_year)
        codes = await medicare_amounts(session, 300)
    registry = facilities(2000)
    folder = stack.root / "files"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "facilities.csv").open("w", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=[k for k in registry[0] if k != "markup"], extrasaction="ignore")
        out.writeheader()
        out.writerows(registry)
    async with sessions() as session, session.begin():
        await run_load(session, "facilities", folder / "facilities.csv")
    await load_observations(sessions, observations, codes, registry)
    await engine.dispose()
    return sorted(codes), registry


def project(rounds: list[Round]) -> None:
    one = rounds[0]
    for r in rounds:
        print(
            f"{r.instances} pricing instance(s): {r.rate:,.0f} bills/s "
            f"(ratio to 1 instance {r.rate / one.rate:.2f}); CPU per bill: "
            f"pricing {r.pricing_cpu_ms:.1f} ms, Postgres {r.postgres_cpu_ms:.1f} ms"
        )
    app, database = one.pricing_cpu_ms, one.postgres_cpu_ms
    cores = os.cpu_count() or 1
    print(
        f"on paper, from the 1-instance CPU per bill: one instance on a core of its own prices at most "
        f"{1000 / app:,.0f} bills/s; N instances on N cores reach N × {1000 / app:,.0f} until Postgres's "
        f"cores are busy: each bill costs it {database:.1f} ms, so P database cores cap the tier at "
        f"P × {1000 / database:,.0f} bills/s (the database becomes the limit beyond "
        f"N ≈ {app / database:.1f} × P instances); on this machine's {cores} shared cores: at most "
        f"{cores * 1000 / (app + database):,.0f} bills/s"
    )


async def main(observations: int, bills: int, instances: list[int]) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-scaleout-{os.getpid()}"
    stack = DevStack.throwaway(root, env={"PARLEY_ENVIRONMENT": "test"})
    try:
        await stack.start_infrastructure()
        codes, registry = await prepare(stack, observations)
        print(
            f"machine: {os.cpu_count()} CPUs; {observations:,} observations (SYNTHETIC); "
            f"{bills:,} bills per round"
        )
        rounds = [
            await run_round(stack, stack.kafka_settings(), n, bills, codes, registry) for n in instances
        ]
        project(rounds)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=500_000)
    parser.add_argument("--bills", type=int, default=3000)
    parser.add_argument("--instances", default="1,2", help="comma-separated instance counts, one round each")
    args = parser.parse_args()
    asyncio.run(main(args.observations, args.bills, [int(n) for n in args.instances.split(",")]))
