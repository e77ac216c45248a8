"""Throughput of the whole flow: bills posted to intake until reporting has seen each case opened.

Run by hand (``make bench``, ``python -m bench.flow --bills 1000`` or, paced, ``python -m bench.flow
--bills 3000 --rate 100``). It starts a throwaway stack, then measures in the same run, on the same
Postgres and broker:

- Parley: N bills POSTed to intake (JSON, 2 lines); the clock stops when reporting has recorded a
  negotiation case for every one of them: intake → pricing → negotiation → reporting, five processes,
  every hop through the outbox, Kafka and an inbox. Either as fast as C requests in flight allow
  (closed loop, the default), or paced at ``--rate`` bills/s (open loop: bill n is sent at n / rate
  seconds whatever happened to the others, so a slow POST delays no one and its latency is counted
  from when it was due). The flow keeps up with a rate when it ends soon after the last POST.
- End to end, per bill, from the tables after the run (reporting's ``bill_facts``): received (intake's
  clock) → case opened (negotiation's clock), and → reporting's last write of the row (Postgres's).
- CPU seconds per bill of each process (the five services, Postgres with its backends, the broker and
  this load generator), from ``/proc`` via psutil, over the measured run.
- Baseline: the same number of messages through a bare 3-hop pipeline in one process (asyncpg +
  aiokafka, an insert and a produce per hop, no HTTP, no outbox, no inbox): the floor set by the
  database and broker themselves on this machine.

It prints both rates and their ratio. The baseline is deliberately lean (it gives up the delivery
guarantees Parley exists to keep), so the ratio says what HTTP, validation and the guarantees cost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from bench.flow_meters import CpuMeter, profiling, statement_log
from bench.intake import partner_key
from shared.bus.kafka import ensure_topics, make_producer
from shared.db import asyncpg_dsn
from shared.settings import Settings
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack

# Pricing loads the demo fee schedules (FL 1.40 × Medicare among them) at start-up.
MANIFEST = PROJECT_ROOT / "services" / "pricing" / "data" / "demo" / "manifest.json"


def _bill(client_id: str, n: int) -> dict:
    lines = [
        {"procedure_code": "99214", "units": 1, "charge": "310.00", "service_date": "2025-10-03"},
        {"procedure_code": "73030", "units": 1, "charge": "120.00", "service_date": "2025-10-03"},
    ]
    return {
        "partner_claim_id": f"BENCH-{n}",
        "client_id": client_id,
        "provider": {"npi": "1912301953", "tin": "587654321"},
        "facility": {"state": "FL", "zip": "33111"},
        "lines": lines,
        "total_charge": "430.00",
    }


def _percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of already sorted values."""
    return sorted_values[max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))]


async def run_parley(
    stack: DevStack, bills: int, concurrency: int, key: str, rate: float | None = None
) -> dict[str, float]:
    """Post ``bills`` bills and wait until reporting has seen a case opened for each.

    Closed loop (``rate`` None): ``concurrency`` requests in flight. Paced: bill n is due at n / rate
    seconds and its latency counts from then (up to ``concurrency`` connections are open).
    Returns rates (bills/s), POST latencies (ms), end-to-end latencies (ms) and CPU ms per bill.
    """
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    intake = stack.services["intake"].base_url
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    conn = await asyncpg.connect(asyncpg_dsn(stack.superuser_url()))
    meter = CpuMeter(stack)

    refused = 0

    async def post(client: httpx.AsyncClient, n: int, due: float | None) -> None:
        nonlocal refused
        async with gate:
            due = due or time.perf_counter()  # closed loop: from when its turn came
            while True:
                response = await client.post(f"{intake}/v1/bills", json=_bill(client_id, n))
                if response.status_code != 503:
                    break
                # Overloaded: send it again after the time intake asks for, as a partner would; the
                # latency still counts from when the bill was due.
                refused += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            latencies.append(time.perf_counter() - due)
            response.raise_for_status()

    sessions = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    sessions_before = await conn.fetchval(sessions)
    cpu_before = meter.read()
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=auth) as client:
        if rate is None:
            await asyncio.gather(*(post(client, n, None) for n in range(bills)))
        else:
            tasks = []
            for n in range(bills):
                due = started + n / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                tasks.append(asyncio.create_task(post(client, n, due)))
            await asyncio.gather(*tasks)
    accepted = time.perf_counter() - started
    while True:
        done = await conn.fetchval(
            "SELECT count(*) FROM reporting.bill_facts WHERE client_id = $1 AND case_opened_at IS NOT NULL",
            client_id,
        )
        if done >= bills:
            break
        await asyncio.sleep(0.05)
    flowed = time.perf_counter() - started
    cpu_after = meter.read()
    connections = await conn.fetchval(sessions) - sessions_before
    rows = await conn.fetch(
        "SELECT extract(epoch FROM case_opened_at - received_at) AS opened,"
        " extract(epoch FROM updated_at - received_at) AS reported"
        " FROM reporting.bill_facts WHERE client_id = $1",
        client_id,
    )
    await conn.close()
    latencies.sort()
    opened = sorted(float(r["opened"]) for r in rows)
    reported = sorted(float(r["reported"]) for r in rows)
    figures = {
        "accepted_per_s": bills / accepted,
        "flow_per_s": bills / flowed,
        "lag_s": flowed - accepted,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "connections_per_bill": connections / bills,
        "refused": refused,
    }
    for name, values in (("opened", opened), ("reported", reported)):
        for q in (50, 95, 99):
            figures[f"{name}_p{q}_ms"] = _percentile(values, q) * 1000
    for name, seconds in cpu_after.items():
        figures[f"cpu_ms:{name}"] = (seconds - cpu_before[name]) / bills * 1000
    return figures


async def run_baseline(stack: DevStack, bills: int, concurrency: int) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    topics = [f"{schema}.hop{i}" for i in (1, 2, 3)]
    settings = Settings(kafka_bootstrap=stack.infra.bootstrap)
    await ensure_topics(settings, topics)
    pool = await asyncpg.create_pool(asyncpg_dsn(stack.superuser_url()), min_size=4, max_size=concurrency + 6)
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
        for i in range(4):
            await conn.execute(f"CREATE TABLE {schema}.hop{i} (id uuid PRIMARY KEY, body jsonb)")
    producer = make_producer(settings)
    await producer.start()
    finished = asyncio.Event()
    arrived = 0

    async def hop(i: int) -> None:
        nonlocal arrived
        consumer = AIOKafkaConsumer(
            topics[i - 1],
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{schema}-{i}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            while not finished.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                for messages in batches.values():
                    async with pool.acquire() as conn:
                        for m in messages:
                            body = json.loads(m.value or b"{}")
                            await conn.execute(
                                f"INSERT INTO {schema}.hop{i} VALUES ($1, $2)",
                                uuid.UUID(body["id"]),
                                m.value.decode(),
                            )
                            if i < 3:
                                await producer.send(topics[i], value=m.value, key=m.key)
                            else:
                                arrived += 1
                    if arrived >= bills:
                        finished.set()
                await consumer.commit()
        finally:
            await consumer.stop()

    hops = [asyncio.create_task(hop(i)) for i in (1, 2, 3)]
    await asyncio.sleep(6)  # let the three groups join before the clock starts
    gate = asyncio.Semaphore(concurrency)

    async def send(n: int) -> None:
        async with gate, pool.acquire() as conn:
            bill_id = uuid.uuid4()
            body = json.dumps({"id": str(bill_id), **_bill("baseline", n)})
            await conn.execute(f"INSERT INTO {schema}.hop0 VALUES ($1, $2)", bill_id, body)
            await producer.send_and_wait(topics[0], value=body.encode(), key=str(bill_id).encode())

    started = time.perf_counter()
    await asyncio.gather(*(send(n) for n in range(bills)))
    await finished.wait()
    elapsed = time.perf_counter() - started
    for task in hops:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await producer.stop()
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()
    return {"flow_per_s": bills / elapsed}


async def main(
    bills: int, concurrency: int, rate: float | None, profile: Path | None, statements: bool
) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-{os.getpid()}"
    stack = DevStack.throwaway(
        root,
        env={"PARLEY_ENVIRONMENT": "test"},
        service_env={"pricing": {"PARLEY_REFERENCE_MANIFEST": str(MANIFEST)}},
    )
    try:
        started = time.perf_counter()
        await stack.start_infrastructure()
        stack.start_services()
        await stack.wait_ready(timeout=600)  # a loaded machine: pricing loads its reference data first
        print(f"stack ready in {time.perf_counter() - started:.1f}s (embedded Postgres, Tansu, 5 services)")
        key = await partner_key(stack)
        await run_parley(stack, min(50, bills), concurrency, key)  # warm-up: connections, joins, caches
        counts: dict[str, collections.Counter[str]] | None = {} if statements else None
        with profiling(stack, profile):
            async with statement_log(stack, counts):
                parley = await run_parley(stack, bills, concurrency, key, rate)
        baseline = await run_baseline(stack, bills, concurrency)
    except BaseException:
        stack.stop()
        print(f"the run failed: the services' logs are kept in {stack.logs}")
        raise
    stack.stop()
    shutil.rmtree(root, ignore_errors=True)
    report(parley, baseline, bills, concurrency, rate)
    if counts:
        print("  statements per bill (BEGIN and COMMIT included), and the most frequent:")
        for name, counter in sorted(counts.items(), key=lambda item: -item[1].total()):
            print(f"    {name:16} {counter.total() / bills:6.1f}")
            for text, n in counter.most_common(12):
                print(f"      {n / bills:5.2f}  {text}")


def report(
    parley: dict[str, float], baseline: dict[str, float], bills: int, concurrency: int, rate: float | None
) -> None:
    flow = "intake → pricing → negotiation → reporting"
    load = f"paced at {rate:g} bills/s" if rate else f"{concurrency} in flight"
    print(f"\n{bills} bills, {load}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"  Parley intake accepted   {parley['accepted_per_s']:8.1f} bills/s  "
        f"(POST p50 {parley['p50_ms']:.1f} ms, p99 {parley['p99_ms']:.1f} ms)"
    )
    if parley["refused"]:
        print(f"  503 Retry-After answers  {parley['refused']:8.0f}  (each POST sent again after it)")
    print(
        f"  Parley whole flow        {parley['flow_per_s']:8.1f} bills/s  ({flow}; "
        f"last case {parley['lag_s']:.1f} s after the last POST)"
    )
    print(
        f"  baseline bare 3-hop      {baseline['flow_per_s']:8.1f} bills/s  (asyncpg+aiokafka, no guarantees)"
    )
    print(f"  ratio Parley / baseline  {parley['flow_per_s'] / baseline['flow_per_s']:8.2f}")
    for name, what in (("opened", "received → case opened"), ("reported", "received → in reporting")):
        figures = ", ".join(f"p{q} {parley[f'{name}_p{q}_ms']:.0f}" for q in (50, 95, 99))
        print(f"  end to end, {what:24} {figures} ms")
    print(f"  new database connections  {parley['connections_per_bill']:.2f} per bill")
    cpu = {k.split(":", 1)[1]: v for k, v in parley.items() if k.startswith("cpu_ms:")}
    print(f"  CPU per bill: {sum(cpu.values()):.1f} ms in all")
    for name, ms in sorted(cpu.items(), key=lambda item: -item[1]):
        print(f"    {name:16} {ms:6.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (paced: at most)")
    parser.add_argument("--rate", type=float, default=None, help="send bills at this rate (bills/s)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy each service into this folder")
    parser.add_argument(
        "--statements", action="store_true", help="count each service's statements per bill (slows it)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.bills, args.concurrency, args.rate, args.profile, args.statements))
