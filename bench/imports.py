"""Observation imports, run by hand: ``python -m bench.imports`` (--rows, --formats).

All data here is SYNTHETIC: 2,000 registered facilities, 300 codes with dollar-rounded charges. For each
format a file of ``--rows`` rows is generated and loaded through the real loader (``run_load``: SHA-256,
encoding check, parse, COPY into staging, set-wise folds into the U&C cells, each chunk's while the next
is parsed) in one transaction, as ``parley pricing load`` does. Printed per format:

- rows/s: the rows the load counts (``rows_loaded``) over its wall time, file bytes to observations the
  U&C reviews can query; the folds, and how long the load waited for them (the last one whole, the others
  only for what parsing did not cover);
- the observations and U&C cells it wrote;
- peak RSS: the process's resident memory sampled every 20 ms during the load (the file is never held);
- baseline, same run, same rows: the observations that load wrote (the same rows, the same values),
  dumped with ``COPY … TO`` and timed as one plain binary ``COPY … FROM`` into an unindexed table, with
  its rows/s over the same row count and the ratio (import ÷ baseline);
- the same in CPU time per row (this process's, and its Postgres backend's from ``/proc``), which other
  work sharing the cores does not move as it moves wall time: ``rows/s of CPU`` is what one free core
  running the load serially would reach.

Formats (a row is what the load counts): ``hpt-tall`` (a CSV row: one payer and plan of an item),
``hpt-wide`` (a CSV row: an item with five payers), ``hpt-json`` (a standard charge with five payers),
``tic-in-network`` (a negotiated price by provider reference; three contracts each), ``tic-allowed`` (a
provider's billed charge and allowed amount), ``observations`` (a row of the generic observation CSV).
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
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import services.pricing.importers.observed as observed
from bench.pricing import facilities, write_hpt
from bench.reference_files import write_tic
from services.pricing.config import PricingSettings
from services.pricing.importers import run_load
from services.pricing.observations import STAGED
from shared.catalog import service
from shared.db import create_engine
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack

PAYERS = 5


def synthetic_codes(count: int = 300) -> dict[str, Decimal]:
    """CPT-shaped codes with a Medicare-like amount each (dollars and cents)."""
    rng = random.Random(13)
    return {f"{10000 + i * 37:05d}": Decimal(rng.randint(2000, 90000)) / 100 for i in range(count)}


def _hospital_rows() -> list[list[str]]:
    return [
        ["hospital_name", "last_updated_on", "version", "hospital_address", "type_2_npi"],
        ["Synthetic General", "2026-01-01", "3.0.0", "1 Main St, Boise, ID 83701", "1000000004"],
    ]


def write_hpt_wide(path: Path, rows: int, codes: dict[str, Decimal]) -> None:
    """A v3 wide CSV: one row per item, five payers' negotiated dollars, percentiles for one in six."""
    rng = random.Random(4)
    plans = [(f"Payer {p}", "PPO") for p in range(PAYERS)]
    header = ["description", "code|1", "code|1|type", "setting", "standard_charge|gross"]
    header.append("standard_charge|discounted_cash")
    for payer, plan in plans:
        header += [
            f"standard_charge|{payer}|{plan}|negotiated_dollar",
            f"standard_charge|{payer}|{plan}|methodology",
        ]
        header += [
            f"{f}|{payer}|{plan}" for f in ("median_amount", "10th_percentile", "90th_percentile", "count")
        ]
    code_list = sorted(codes)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerows(_hospital_rows())
        out.writerow(header)
        for item in range(rows):
            code = code_list[item % len(code_list)]
            gross = (codes[code] * Decimal("3.1") + item % 97).quantize(Decimal("1"))
            row: list[Any] = [f"item {item}", code, "CPT", "outpatient", gross, gross * Decimal("0.9")]
            for payer in range(PAYERS):
                dollars = (gross * Decimal("0.4") + payer).quantize(Decimal("0.01"))
                row += [dollars, "fee schedule"]
                if (item + payer) % 6 == 0:
                    median = (gross * Decimal("0.45")).quantize(Decimal("0.01"))
                    row += [median, (median * Decimal("0.7")).quantize(Decimal("0.01"))]
                    row += [(median * Decimal("1.5")).quantize(Decimal("0.01")), rng.randint(11, 400)]
                else:
                    row += ["", "", "", ""]
            out.writerow(row)


def write_hpt_json(path: Path, rows: int, codes: dict[str, Decimal]) -> None:
    """A v3 JSON file, written item by item: one standard charge per item with five payers."""
    rng = random.Random(5)
    code_list = sorted(codes)
    with path.open("w") as out:
        out.write(
            '{"hospital_name": "Synthetic General", "last_updated_on": "2026-01-01", "version": "3.0.0", '
            '"hospital_address": ["1 Main St, Boise, ID 83701"], "type_2_npi": ["1000000004"], '
            '"standard_charge_information": ['
        )
        for item in range(rows):
            code = code_list[item % len(code_list)]
            gross = int(codes[code] * Decimal("3.1")) + item % 97
            payers = []
            for payer in range(PAYERS):
                entry: dict[str, Any] = {
                    "payer_name": f"Payer {payer}",
                    "plan_name": "PPO",
                    "methodology": "fee schedule",
                    "standard_charge_dollar": round(gross * 0.4 + payer, 2),
                }
                if (item + payer) % 6 == 0:
                    median = round(gross * 0.45, 2)
                    entry.update(
                        median_amount=median,
                        **{
                            "10th_percentile": round(median * 0.7, 2),
                            "90th_percentile": round(median * 1.5, 2),
                        },
                        count=str(rng.randint(11, 400)),
                    )
                payers.append(entry)
            document = {
                "description": f"item {item}",
                "code_information": [{"code": code, "type": "CPT"}],
                "standard_charges": [
                    {
                        "setting": "outpatient",
                        "gross_charge": gross,
                        "discounted_cash": round(gross * 0.9, 2),
                        "payers_information": payers,
                    }
                ],
            }
            out.write(("," if item else "") + json.dumps(document))
        out.write("]}")


def write_tic_allowed(path: Path, rows: int, codes: dict[str, Decimal], npis: list[str]) -> None:
    """An allowed-amount file: items of two payments of five providers (a row: one provider)."""
    rng = random.Random(6)
    code_list = sorted(codes)
    with path.open("w") as out:
        out.write(
            '{"reporting_entity_name": "Synthetic Health", "reporting_entity_type": "health insurance '
            'issuer", "plan_name": "synthetic", "last_updated_on": "2026-11-01", "version": "1.0.0", '
            '"out_of_network": ['
        )
        for item in range((rows + 9) // 10):
            code = code_list[item % len(code_list)]
            payments = [
                {
                    "allowed_amount": float((codes[code] * Decimal("1.2")).quantize(Decimal("1"))) + p,
                    "billing_code_modifier": [],
                    "providers": [
                        {"billed_charge": rng.randint(100, 3000), "npi": [int(rng.choice(npis))]}
                        for _ in range(5)
                    ],
                }
                for p in range(2)
            ]
            document = {
                "name": "synthetic",
                "billing_code_type": "CPT",
                "billing_code_type_version": "2026",
                "billing_code": code,
                "description": "synthetic service",
                "allowed_amounts": [
                    {
                        "tin": {"type": "ein", "value": "123456789"},
                        "billing_class": "professional",
                        "payments": payments,
                    }
                ],
            }
            out.write(("," if item else "") + json.dumps(document))
        out.write("]}")


def write_observations(
    path: Path, rows: int, codes: dict[str, Decimal], registry: list[dict[str, str]]
) -> None:
    """The generic observation CSV: charges at registered facilities (state and ZIP from the registry)."""
    rng = random.Random(8)
    code_list = sorted(codes)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["kind", "setting", "code", "amount", "units", "state", "zip", "facility_npi", "observed_on"]
        )
        for _ in range(rows):
            f = rng.choice(registry)
            code = rng.choice(code_list)
            amount = (codes[code] * Decimal(f["markup"])).quantize(Decimal("1"))
            out.writerow(["charge", "professional", code, amount, 1, "", "", f["npi"], "2026-06-01"])


class PeakRss:
    """The process's resident memory, sampled every 20 ms while in use: its peak in MB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.02):
            with open("/proc/self/statm") as fh:
                self.peak = max(self.peak, int(fh.read().split()[1]) * page / 1e6)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux ``/proc``): robust to other work sharing the cores."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def backend_pid(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


class Timed(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds of CPU (the Postgres backend's for a baseline; Python's + the backend's for a load)


async def _driver(session: AsyncSession) -> Any:
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def baseline_copy(
    sessions: async_sessionmaker[AsyncSession], origin: str, target: str, dump: Path
) -> Timed:
    """One plain binary COPY of the observations ``target`` wrote into an unindexed table: its wall
    time and the Postgres backend's CPU time."""
    async with sessions() as session, session.begin():
        driver = await _driver(session)
        await driver.copy_from_query(
            f"SELECT {', '.join(STAGED)} FROM pricing.observations WHERE origin = $1 AND origin_ref = $2",
            origin,
            target,
            output=str(dump),
            format="binary",
        )
        await session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS pricing.bench_copy (kind text, setting text, code text, "
                "amount numeric(12, 2), weight integer, state text, zip3 text, facility_npi text, "
                "observed_on date)"
            )
        )
    async with sessions() as session, session.begin():
        driver = await _driver(session)
        pid = await backend_pid(session)
        cpu, started = cpu_seconds(pid), time.perf_counter()
        await driver.copy_to_table("bench_copy", schema_name="pricing", source=str(dump), format="binary")
        timed = Timed(time.perf_counter() - started, cpu_seconds(pid) - cpu)
        await session.execute(text("TRUNCATE pricing.bench_copy"))
    return timed


Writer = Callable[[Path, int], None]


async def bench_format(
    sessions: async_sessionmaker[AsyncSession],
    folder: Path,
    name: str,
    dataset: str,
    write: Writer,
    rows: int,
) -> None:
    path = folder / f"synthetic_{name}"
    write(path, rows)
    size = path.stat().st_size / 1e6
    waited: list[float] = []
    chunks: list[str] = []
    settle, fold_staged, send_chunk = observed.settle, observed.fold_staged, observed.send_chunk

    async def timed_settle(session: AsyncSession) -> None:
        started = time.perf_counter()
        await settle(session)
        waited.append(time.perf_counter() - started)

    async def timed_fold(session: AsyncSession, origin: str, origin_ref: str) -> None:
        started = time.perf_counter()
        await fold_staged(session, origin, origin_ref)
        waited.append(time.perf_counter() - started)

    async def counted_chunk(session: AsyncSession, origin: str, origin_ref: str) -> None:
        chunks.append(origin_ref)
        await send_chunk(session, origin, origin_ref)

    observed.settle, observed.fold_staged, observed.send_chunk = timed_settle, timed_fold, counted_chunk
    try:
        with PeakRss() as rss:
            started, python = time.perf_counter(), own_cpu()
            async with sessions() as session, session.begin():
                pid = await backend_pid(session)
                database = cpu_seconds(pid)
                summary = await run_load(session, dataset, path, target=name)
                database = cpu_seconds(pid) - database
            elapsed, python = time.perf_counter() - started, own_cpu() - python
    finally:
        observed.settle, observed.fold_staged, observed.send_chunk = settle, fold_staged, send_chunk
    origin = {"hpt": "hpt", "tic": "tic", "observations": "file"}[dataset]
    async with sessions() as session:
        written = (
            await session.execute(
                text("SELECT count(*) FROM pricing.observations WHERE origin = :o AND origin_ref = :r"),
                {"o": origin, "r": name},
            )
        ).scalar_one()
        cells = (await session.execute(text("SELECT count(*) FROM pricing.uc_place_cells"))).scalar_one()
    base = await baseline_copy(sessions, origin, name, folder / "dump.bin")
    (folder / "dump.bin").unlink()
    loaded = summary.rows_loaded
    print(
        f"{name:15} {loaded:>9,} rows {size:5.0f} MB {written:>9,} obs | {loaded / elapsed:>7,.0f} rows/s "
        f"({elapsed:6.1f} s, {len(chunks) + 1} chunks, waited {sum(waited):5.1f} s) peak RSS "
        f"{rss.peak:4.0f} MB | baseline COPY "
        f"{loaded / base.wall:>9,.0f} rows/s ({base.wall:5.2f} s) ratio {base.wall / elapsed:.3f}",
        flush=True,
    )
    print(
        f"{'':15} CPU per row: Python {1e6 * python / loaded:6.1f} µs + Postgres "
        f"{1e6 * database / loaded:6.1f} µs = {loaded / (python + database):>7,.0f} rows/s of CPU | "
        f"baseline COPY {1e6 * base.cpu / loaded:5.1f} µs, ratio {base.cpu / (python + database):.3f} | "
        f"U&C place cells now {cells:,}",
        flush=True,
    )
    path.unlink()


FORMATS = ("hpt-tall", "hpt-wide", "hpt-json", "tic-in-network", "tic-allowed", "observations")


async def main(rows: int, formats: list[str]) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-imports-{os.getpid()}"
    stack = DevStack.throwaway(root)
    try:
        await stack.start_infrastructure()
        settings = PricingSettings(service="bench", database_url=stack.database_url(service("pricing")))
        engine = create_engine(settings)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        folder = root / "files"
        folder.mkdir(parents=True, exist_ok=True)
        registry = facilities(2000)
        with (folder / "facilities.csv").open("w", newline="") as fh:
            out = csv.DictWriter(
                fh, fieldnames=[k for k in registry[0] if k != "markup"], extrasaction="ignore"
            )
            out.writeheader()
            out.writerows(registry)
        async with sessions() as session, session.begin():
            await run_load(session, "facilities", folder / "facilities.csv")
        codes = synthetic_codes()
        npis = [f["npi"] for f in registry]
        writers: dict[str, tuple[str, Writer]] = {
            "hpt-tall": ("hpt", lambda p, n: write_hpt(p, n, codes)),
            "hpt-wide": ("hpt", lambda p, n: write_hpt_wide(p, n, codes)),
            "hpt-json": ("hpt", lambda p, n: write_hpt_json(p, n, codes)),
            "tic-in-network": ("tic", lambda p, n: write_tic(p, max(n // 10, 1), seed=1)),
            "tic-allowed": ("tic", lambda p, n: write_tic_allowed(p, n, codes, npis)),
            "observations": ("observations", lambda p, n: write_observations(p, n, codes, registry)),
        }
        print(
            f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; embedded Postgres; "
            f"{len(codes)} codes, {len(registry)} facilities; --rows {rows:,}"
        )
        for name in formats:
            dataset, write = writers[name]
            await bench_format(sessions, folder, name, dataset, write, rows)
        await engine.dispose()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: " + ", ".join(FORMATS))
    args = parser.parse_args()
    asyncio.run(main(args.rows, [f for f in args.formats.split(",") if f]))
