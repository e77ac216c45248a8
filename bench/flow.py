"""Throughput of the whole flow: bills posted to intake until reporting has seen each case opened.

Run by hand (``make bench`` or ``python -m bench.flow --bills 1000``). It starts a throwaway stack,
then measures in the same run, on the same Postgres and broker:

- Parley: N bills POSTed to intake (JSON, 2 lines) with C in flight; the clock stops when reporting
  has recorded a negotiation case for every one of them: intake → pricing → negotiation → reporting,
  five processes, every hop through the outbox, Kafka and an inbox.
- Baseline: the same number of messages through a bare 3-hop pipeline in one process (asyncpg +
  aiokafka, an insert and a produce per hop, no HTTP, no outbox, no inbox): the floor set by the
  database and broker themselves on this machine.

It prints both rates and their ratio. The baseline is deliberately lean (it gives up the delivery
guarantees Parley exists to keep), so the ratio says what HTTP, validation and the guarantees cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import time
import uuid

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

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


async def run_parley(stack: DevStack, bills: int, concurrency: int, key: str) -> dict[str, float]:
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    intake = stack.services["intake"].base_url
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    conn = await asyncpg.connect(asyncpg_dsn(stack.superuser_url()))

    async def post(client: httpx.AsyncClient, n: int) -> None:
        async with gate:
            started = time.perf_counter()
            response = await client.post(f"{intake}/v1/bills", json=_bill(client_id, n))
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=auth) as client:
        await asyncio.gather(*(post(client, n) for n in range(bills)))
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
    await conn.close()
    latencies.sort()
    return {
        "accepted_per_s": bills / accepted,
        "flow_per_s": bills / flowed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


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


async def main(bills: int, concurrency: int) -> None:
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
        await stack.wait_ready()
        print(f"stack ready in {time.perf_counter() - started:.1f}s (embedded Postgres, Tansu, 5 services)")
        key = await partner_key(stack)
        await run_parley(stack, min(50, bills), concurrency, key)  # warm-up: connections, joins, caches
        parley = await run_parley(stack, bills, concurrency, key)
        baseline = await run_baseline(stack, bills, concurrency)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    flow = "intake → pricing → negotiation → reporting"
    print(f"\n{bills} bills, {concurrency} in flight, {os.cpu_count()} CPUs")
    print(
        f"  Parley intake accepted   {parley['accepted_per_s']:8.1f} bills/s  "
        f"(POST p50 {parley['p50_ms']:.1f} ms, p99 {parley['p99_ms']:.1f} ms)"
    )
    print(f"  Parley whole flow        {parley['flow_per_s']:8.1f} bills/s  ({flow})")
    print(
        f"  baseline bare 3-hop      {baseline['flow_per_s']:8.1f} bills/s  (asyncpg+aiokafka, no guarantees)"
    )
    print(f"  ratio Parley / baseline  {parley['flow_per_s'] / baseline['flow_per_s']:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.bills, args.concurrency))
