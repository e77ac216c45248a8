"""Reference-file benchmarks, run by hand: ``python -m bench.reference_files`` (--items, --rows).

All data here is SYNTHETIC. It measures, on a throwaway embedded Postgres:

1. Transparency in Coverage in-network rates: a generated file of ``--items`` in-network items (five
   negotiated rates of two prices each, by provider reference) with ``--items`` provider references
   (three TIN groups of five NPIs each), loaded through the real streaming loader (``run_load``), at 1×
   and 4× that size: MB/s, and the process RSS high-water mark after each, which stays where it was
   if memory is flat (the file is never held whole; provider references go to a temporary table).
   Baseline, same run, same file: a bare ijson pass building every in-network item and doing nothing;
   the same pass read through ``open_json`` (its JSON nesting guard) says what the guard adds to a load.
2. The table-reading layer: a generated ``--rows``-row CSV (a copyright preamble, then ``HCPCS,MOD,
   RATE,NOTE``) read through ``read_table`` (encoding check, header found by content, named columns),
   against a bare ``csv.reader`` over the same UTF-8 file: rows/s and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import shutil
import time
from pathlib import Path

import ijson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.pricing.config import PricingSettings
from services.pricing.importers import LoadSummary, run_load
from services.pricing.importers.tables import Columns, detect_encoding, open_json, read_table
from shared.catalog import service
from shared.db import create_engine
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack

CODES = [f"{99200 + i}" for i in range(300)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_tic(path: Path, items: int, seed: int) -> None:
    """Streamed out piece by piece, so writing a large file does not itself hold it in memory."""
    rng = random.Random(seed)
    with path.open("w") as out:
        out.write(
            '{"reporting_entity_name": "Synthetic Health", "reporting_entity_type": "health insurance '
            'issuer", "last_updated_on": "2026-11-01", "version": "1.3.1", "provider_references": ['
        )
        for ref in range(1, items + 1):
            groups = [
                {
                    "npi": [1000000000 + rng.randrange(10**8) for _ in range(5)],
                    "tin": {"type": "ein", "value": f"{rng.randrange(10**9):09d}"},
                }
                for _ in range(3)
            ]
            out.write(
                ("," if ref > 1 else "") + json.dumps({"provider_group_id": ref, "provider_groups": groups})
            )
        out.write('], "in_network": [')
        for number in range(items):
            rates = [
                {
                    "provider_references": [rng.randrange(1, items + 1)],
                    "negotiated_prices": [
                        {
                            "negotiated_type": "negotiated",
                            "negotiated_rate": round(rng.uniform(40, 900), 2),
                            "expiration_date": "9999-12-31",
                            "billing_class": "professional",
                            "service_code": ["11"],
                        },
                        {
                            "negotiated_type": "percentage",
                            "negotiated_rate": rng.choice([55.0, 60.0, 65.0, 70.0]),
                            "expiration_date": "9999-12-31",
                            "billing_class": "institutional",
                        },
                    ],
                }
                for _ in range(5)
            ]
            item = {
                "negotiation_arrangement": "ffs",
                "name": "synthetic",
                "billing_code_type": "CPT",
                "billing_code_type_version": "2026",
                "billing_code": rng.choice(CODES),
                "description": "synthetic service",
                "negotiated_rates": rates,
            }
            out.write(("," if number else "") + json.dumps(item))
        out.write("]}")


async def bench_tic(sessions: async_sessionmaker[AsyncSession], folder: Path, items: int) -> None:
    for scale in (1, 4):
        path = folder / f"synthetic_in_network_{scale}x.json"
        write_tic(path, items * scale, seed=scale)
        size = path.stat().st_size / 1e6
        started = time.perf_counter()
        count = 0
        with path.open("rb") as fh:
            for _ in ijson.items(fh, "in_network.item"):
                count += 1
        bare = time.perf_counter() - started
        detect_encoding(path)  # the loader's encoding check, remembered: only the guard differs below
        started = time.perf_counter()
        with open_json(path, LoadSummary("tic", path.name)) as fh:
            for _ in ijson.items(fh, "in_network.item"):
                pass
        guarded = time.perf_counter() - started
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            summary = await run_load(session, "tic", path, target=f"synthetic-tic-{scale}")
        elapsed = time.perf_counter() - started
        print(
            f"TiC in-network (SYNTHETIC) {scale}×: {size:.0f} MB, {count:,} items, {summary.rows_loaded:,} "
            f"prices loaded in {elapsed:.1f} s = {size / elapsed:.1f} MB/s; baseline bare ijson pass "
            f"{bare:.1f} s = {size / bare:.1f} MB/s (ratio {bare / elapsed:.2f}); "
            f"process RSS high-water mark now {rss_mb():.0f} MB"
        )
        print(
            f"  nesting guard: the bare pass through open_json's depth guard {guarded:.2f} s against "
            f"{bare:.2f} s, {guarded - bare:+.2f} s = {100 * (guarded - bare) / elapsed:+.1f}% of the load"
        )
        path.unlink()


def bench_table(folder: Path, rows: int) -> None:
    path = folder / "synthetic_fees.csv"
    rng = random.Random(7)
    with path.open("w", newline="") as fh:
        fh.write('"CPT codes and descriptions only are copyright 2025 American Medical Association.",,,\n')
        out = csv.writer(fh)
        out.writerow(["HCPCS", "MOD", "RATE", "NOTE"])
        for _ in range(rows):
            out.writerow(
                [rng.choice(CODES), rng.choice(["", "26", "TC"]), f"{rng.uniform(5, 900):.2f}", "plain"]
            )
    columns = Columns(required={"code": ("HCPCS",), "modifier": ("MOD",), "rate": ("RATE",)})
    started = time.perf_counter()
    read = sum(1 for _ in read_table(path, columns, LoadSummary("bench", path.name)))
    layered = time.perf_counter() - started
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        bare = sum(1 for row in csv.reader(fh) if row and row[0] != "HCPCS") - 1
    plain = time.perf_counter() - started
    print(
        f"table layer (SYNTHETIC) {rows:,}-row CSV, {path.stat().st_size / 1e6:.0f} MB: "
        f"read_table {read:,} rows in {layered:.2f} s = {read / layered:,.0f} rows/s; "
        f"baseline bare csv.reader {bare:,} rows in {plain:.2f} s = {bare / plain:,.0f} rows/s "
        f"(ratio {plain / layered:.2f})"
    )
    path.unlink()


async def main(items: int, rows: int) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-reference-{os.getpid()}"
    stack = DevStack.throwaway(root)
    try:
        await stack.start_infrastructure()
        settings = PricingSettings(service="bench", database_url=stack.database_url(service("pricing")))
        engine = create_engine(settings)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        folder = root / "files"
        folder.mkdir(parents=True, exist_ok=True)
        print(f"machine: {os.cpu_count()} CPUs; embedded Postgres; process RSS at start {rss_mb():.0f} MB")
        bench_table(folder, rows)
        await bench_tic(sessions, folder, items)
        await engine.dispose()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.rows))
