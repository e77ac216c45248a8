"""Intake's throughput, beside a bare baseline measured in the same run on the same Postgres.

Run by hand: ``python -m bench.intake`` (``--bills``, ``--concurrency 1 4 16 64``, ``--files``,
``--claims``). It starts a throwaway stack, stops the four downstream services (so the figures are
intake's own: HTTP, authentication, validation, idempotency, the bill with its lines, history, revision
and patient rows, the outbox event, the webhook check), and starts the baseline
(:mod:`bench.baseline_app`: a bare FastAPI endpoint doing the same two inserts, bill and lines, with
asyncpg) as its own uvicorn process. Then:

- JSON: N bills of 10 lines at each concurrency: bills/s, and p50/p99 latency of each POST;
- X12: F files of C claims (10 lines each), two files in flight: claims/s.

Each Parley figure is printed beside the baseline's and as a ratio (Parley / baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.intake.keys import create_key
from shared.catalog import service
from shared.db import asyncpg_dsn
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.broker import free_port
from shared.stack.devstack import DevStack
from tests.helpers import x12_claim, x12_interchange

CODES = ["99213", "99214", "73030", "97110", "97140", "97112", "72100", "20610", "99203", "73560"]
DOWNSTREAM = ("pricing", "negotiation", "agreements", "reporting")


async def partner_key(stack: DevStack) -> str:
    """An API key for the benchmark partner, scoped to all its clients."""
    engine = create_async_engine(stack.database_url(service("intake")))
    try:
        async with AsyncSession(engine) as session, session.begin():
            return (await create_key(session, partner_id="bench-partner", clients=["*"])).key
    finally:
        await engine.dispose()


def json_bill(n: int, run: str) -> dict[str, Any]:
    lines = [
        {"procedure_code": code, "units": 1, "charge": f"{100 + i}.00", "service_date": "2025-10-03"}
        for i, code in enumerate(CODES)
    ]
    return {
        "partner_claim_id": f"B-{run}-{n}",
        "client_id": "bench-client",
        "provider": {"npi": "1912301953", "tin": "587654321"},
        "facility": {"state": "FL", "zip": "33111"},
        "place_of_service": "11",
        "lines": lines,
        "total_charge": f"{sum(100 + i for i in range(10))}.00",
    }


async def json_run(url: str, headers: dict[str, str], bills: int, concurrency: int) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    dropped = 0
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits, headers=headers) as client:

        async def post(n: int) -> None:
            nonlocal dropped
            async with gate:
                started = time.perf_counter()
                try:
                    response = await client.post(url, json=json_bill(n, run))
                except httpx.TransportError:
                    dropped += 1  # counted and reported, not retried: a benchmark must not hide them
                    return
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(bills)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "per_s": (bills - dropped) / elapsed,
        "dropped": dropped,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def x12_file(claims: int, run: str) -> str:
    lines = [(f"HC:{code}", f"{100 + i}", "1") for i, code in enumerate(CODES)]
    return x12_interchange(*(x12_claim(f"X{run}{n}", lines, hl=1) for n in range(claims)))


async def x12_run(url: str, headers: dict[str, str], files: int, claims: int) -> dict[str, float]:
    bodies = [x12_file(claims, uuid.uuid4().hex[:8]).encode() for _ in range(files)]
    gate = asyncio.Semaphore(2)
    async with httpx.AsyncClient(timeout=300, headers=headers) as client:

        async def post(body: bytes) -> None:
            async with gate:
                response = await client.post(
                    url, content=body, headers={"content-type": "application/edi-x12"}
                )
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
                result = response.json()
                if result.get("rejected"):
                    raise RuntimeError(f"{url}: rejected claims: {str(result['claims'][0]['errors'])[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(post(b) for b in bodies))
        elapsed = time.perf_counter() - started
    return {"per_s": files * claims / elapsed}


def start_baseline(port: int, dsn: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "bench.baseline_app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PARLEY_BENCH_DSN": dsn},
    )


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def main(bills: int, concurrencies: list[int], files: int, claims: int, pre_ping: bool) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-intake-{os.getpid()}"
    env = {"PARLEY_ENVIRONMENT": "test", "PARLEY_DB_POOL_PRE_PING": str(pre_ping).lower()}
    stack = DevStack.throwaway(root, env=env)
    baseline: subprocess.Popen[bytes] | None = None
    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    try:
        await stack.start_infrastructure()
        stack.start_services()
        await stack.wait_ready()
        for name in DOWNSTREAM:
            stack.stop_service(name)
        key = {"Authorization": f"Bearer {await partner_key(stack)}"}
        port = free_port()
        baseline = start_baseline(port, asyncpg_dsn(stack.superuser_url()))
        base = f"http://127.0.0.1:{port}"
        intake = stack.services["intake"].base_url
        await wait_up(f"{base}/docs")
        await json_run(f"{intake}/v1/bills", key, 100, 8)  # warm-up: pools, caches, JIT-free but lazy paths
        await json_run(f"{base}/bills", {}, 100, 8)
        for c in concurrencies:
            parley = await json_run(f"{intake}/v1/bills", key, bills, c)
            bare = await json_run(f"{base}/bills", {}, bills, c)
            rows.append((f"JSON, 10 lines, {c:>2} in flight", parley, bare))
        parley = await x12_run(f"{intake}/v1/bills/x12?client_id=bench-client", key, files, claims)
        bare = await x12_run(f"{base}/x12", {}, files, claims)
        rows.append((f"X12, {claims} claims/file", parley, bare))
    finally:
        if baseline is not None:
            baseline.terminate()
            baseline.wait(10)
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\nintake alone (downstream services stopped), {os.cpu_count()} CPUs, {bills} bills per JSON run, "
        f"pool pre-ping {'on' if pre_ping else 'off'}"
    )
    print(f"{'':32} {'Parley':>12} {'baseline':>12} {'ratio':>6}   Parley p50/p99 ms   baseline p50/p99 ms")
    for label, parley, bare in rows:
        unit = "claims/s" if label.startswith("X12") else "bills/s"
        latency = ""
        if "p50_ms" in parley:
            latency = (
                f"   {parley['p50_ms']:7.1f} / {parley['p99_ms']:<7.1f}"
                f"   {bare['p50_ms']:7.1f} / {bare['p99_ms']:<7.1f}"
            )
        dropped = parley.get("dropped", 0) + bare.get("dropped", 0)
        print(
            f"{label:32} {parley['per_s']:8.1f} {unit[:-2]:<3} {bare['per_s']:8.1f}    "
            f"{parley['per_s'] / bare['per_s']:5.2f}{latency}"
            + (
                f"   ({parley.get('dropped', 0)} / {bare.get('dropped', 0)} connections dropped)"
                if dropped
                else ""
            )
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument(
        "--pre-ping",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="PARLEY_DB_POOL_PRE_PING for intake (off by default, as in the service settings)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.bills, args.concurrency, args.files, args.claims, args.pre_ping))
