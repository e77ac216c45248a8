"""Pricing benchmarks, run by hand: ``python -m bench.pricing`` (--observations, --stays, --hpt-rows, …).

All data here is SYNTHETIC, generated around real 2025 Medicare amounts: each synthetic facility has a
chargemaster (Medicare national amount × a facility markup, rounded to dollars, as chargemasters are), and
each observation is a charge of a random code at a random facility. It measures, on a throwaway embedded
Postgres:

1. import: a generated hospital price-transparency v3 tall CSV of ``--hpt-rows`` rows through the real
   streaming loader: rows/s and peak memory (tracemalloc peak of Python objects, and the process RSS
   high-water mark before and after), beside a plain COPY of the same observations into an unindexed
   table (``bench.imports`` measures every observation format that way);
2. pricing: with ``--observations`` charge observations and ``--stays`` whole-stay observations (10
   MS-DRGs, in cents as stays' totals are; default one in 50 observations) folded into the U&C cells, the
   latency (p50/p99) of the full decision (fee schedule → contract → three U&C reviews → audit) for
   10-line professional bills and for inpatient stays, each bill decided once before it is timed (the
   per-process reference cache holds its codes and facility, as in a running service), and the
   throughput with 4 concurrent sessions over the same bills and over as many not seen before;
3. baseline, same run, same bills: the same review scopes answered by a plain SQL
   ``percentile_disc(0.8)`` over the observations table (with its index on kind, setting, code), and a
   check that both give the same amounts.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import resource
import shutil
import statistics
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.pricing.config import PricingSettings
from services.pricing.decision import decide
from services.pricing.importers import load_cms, run_load
from services.pricing.observations import COLUMNS, SCHEMA, fold
from services.pricing.service_codes import stay_code
from shared.catalog import service
from shared.contracts import BillLineV1, BillReceivedV1, ClaimType, FacilityRef, ProviderRef
from shared.db import create_engine
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.demo_bills import STAY_LINES
from shared.stack.devstack import DevStack

STATES = [
    "AL",
    "AZ",
    "CA",
    "CO",
    "FL",
    "GA",
    "ID",
    "IL",
    "MT",
    "NV",
    "NY",
    "OH",
    "OR",
    "PA",
    "TX",
    "UT",
    "WA",
    "WY",
]
TYPES = ["acute care hospital", "critical access hospital", "ambulatory surgery center", "physician group"]


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far, from ``/proc`` (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_pids(root: Path) -> list[int]:
    """The stack's postmaster and every process it started (backends, WAL writer, autovacuum…)."""
    postmaster = int((root / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == postmaster:
                pids.append(int(entry.name))
    return pids


def postgres_cpu(root: Path) -> float:
    return sum(map(cpu_seconds, postgres_pids(root)))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def medicare_amounts(session: AsyncSession, count: int) -> dict[str, Decimal]:
    rows = await session.execute(
        text(
            "SELECT hcpcs, round((work_rvu + pe_nonfacility_rvu + mp_rvu) * conversion_factor, 2) "
            f"FROM {SCHEMA}.rvu "
            "WHERE year = 2025 AND modifier = '' AND status_code = 'A' AND work_rvu > 0.5 "
            "AND hcpcs ~ '^[0-9]{5}$' ORDER BY hcpcs"
        )
    )
    amounts = {r[0]: Decimal(r[1]) for r in rows}
    chosen = random.Random(7).sample(sorted(amounts), min(count, len(amounts)))
    return {c: amounts[c] for c in chosen}


def facilities(n: int) -> list[dict[str, str]]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        base = f"1{i:08d}"
        npi = next(base + str(d) for d in range(10) if _luhn_ok(base + str(d)))
        state = rng.choice(STATES)
        out.append(
            {
                "npi": npi,
                "name": f"Synthetic {i}",
                "facility_type": rng.choice(TYPES),
                "beds": str(rng.choice([25, 80, 150, 250, 400, 650])),
                "teaching": rng.choice(["major", "minor", "none"]),
                "trauma_level": rng.choice(["I", "II", "III", "none"]),
                "state": state,
                "zip": f"{rng.randint(100, 999)}{rng.randint(10, 99)}",
                "markup": str(round(rng.lognormvariate(1.0, 0.35), 3)),
            }
        )
    return out


def _luhn_ok(npi: str) -> bool:
    from shared.codes import npi_check_digit_ok

    return npi_check_digit_ok(npi)


def write_hpt(path: Path, rows: int, codes: dict[str, Decimal]) -> None:
    """A v3 tall CSV: items of ~5 payer rows each, a gross charge per item, percentiles on 1 row in 6."""
    rng = random.Random(3)
    header = [
        "description",
        "code | 1",
        "code | 1 | type",
        "setting",
        "standard_charge | gross",
        "standard_charge | discounted_cash",
        "payer_name",
        "plan_name",
        "modifiers",
        "standard_charge | negotiated_dollar",
        "median_amount",
        "10th_percentile",
        "90th_percentile",
        "count",
        "standard_charge | methodology",
    ]
    code_list = sorted(codes)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["hospital_name", "last_updated_on", "version", "hospital_address", "type_2_npi"])
        out.writerow(["Synthetic General", "2026-01-01", "3.0.0", "1 Main St, Boise, ID 83701", "1000000004"])
        out.writerow(header)
        written = 0
        item = 0
        while written < rows:
            code = code_list[item % len(code_list)]
            gross = (codes[code] * Decimal("3.1") + item % 97).quantize(Decimal("1"))
            for payer in range(5):
                if written >= rows:
                    break
                median = (gross * Decimal("0.45")).quantize(Decimal("0.01"))
                stats = (
                    [
                        median,
                        (median * Decimal("0.7")).quantize(Decimal("0.01")),
                        (median * Decimal("1.5")).quantize(Decimal("0.01")),
                        rng.randint(11, 400),
                    ]
                    if written % 6 == 0
                    else ["", "", "", ""]
                )
                out.writerow(
                    [
                        f"item {item}",
                        code,
                        "CPT",
                        "outpatient",
                        gross,
                        gross * Decimal("0.9"),
                        f"Payer {payer}",
                        "PPO",
                        "",
                        (gross * Decimal("0.4")).quantize(Decimal("0.01")),
                        *stats,
                        "fee schedule",
                    ]
                )
                written += 1
            item += 1


async def bench_import(
    sessions: async_sessionmaker[AsyncSession], folder: Path, rows: int, codes: dict[str, Decimal]
) -> None:
    path = folder / "synthetic_hpt_tall.csv"
    write_hpt(path, rows, codes)
    size = path.stat().st_size
    before = rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        summary = await run_load(session, "hpt", path, target="synthetic-hpt")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    from bench.imports import baseline_copy  # bench.imports reuses this module's generators

    dump = folder / "dump.bin"
    base = await baseline_copy(sessions, "hpt", "synthetic-hpt", dump)
    dump.unlink()
    print(
        f"import (SYNTHETIC) hpt tall CSV: {rows:,} rows, {size / 1e6:.0f} MB, "
        f"loaded {summary.rows_loaded:,}, rejected {summary.rows_rejected:,} in {elapsed:.1f}s = "
        f"{summary.rows_loaded / elapsed:,.0f} rows/s; "
        f"baseline, a plain COPY of its observations into an unindexed table: "
        f"{summary.rows_loaded / base.wall:,.0f} rows/s (ratio {base.wall / elapsed:.3f}; every format: "
        "bench.imports)"
    )
    print(
        f"  peak Python memory during the load {peak / 1e6:.1f} MB; process RSS high-water mark "
        f"{before:.0f} MB before, {rss_mb():.0f} MB after"
    )
    path.unlink()


async def analyze_uc(session: AsyncSession) -> None:
    """Fresh statistics on the folded U&C tables after a bulk fold (autovacuum would take a while)."""
    for table in (
        "uc_services",
        "uc_places",
        "uc_place_cells",
        "uc_scope_cells",
        "uc_place_scopes",
        "uc_totals",
    ):
        await session.execute(text(f"ANALYZE {SCHEMA}.{table}"))


async def load_observations(
    sessions: async_sessionmaker[AsyncSession],
    n: int,
    codes: dict[str, Decimal],
    registry: list[dict[str, str]],
) -> None:
    rng = random.Random(5)
    code_list = sorted(codes)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(code_list))]  # a few codes are common, most are not
    started = time.perf_counter()
    done = 0
    async with sessions() as session, session.begin():
        raw = await (await session.connection()).get_raw_connection()
        driver = raw.driver_connection
        while done < n:
            batch = []
            for code in rng.choices(code_list, weights, k=min(200_000, n - done)):
                f = rng.choice(registry)
                amount = (codes[code] * Decimal(f["markup"])).quantize(Decimal("1"))
                batch.append(
                    (
                        "bench",
                        "synthetic",
                        "charge",
                        "professional",
                        code,
                        amount,
                        1,
                        f["state"],
                        f["zip"][:3],
                        f["npi"],
                        date(2025, 6, 1),
                        None,
                        True,
                    )
                )
            await driver.copy_records_to_table(
                "observations", schema_name=SCHEMA, records=batch, columns=COLUMNS
            )
            done += len(batch)
        copied = time.perf_counter() - started
        # As a file load does before its fold (``fold_staged``): counts for the planner, and room for the
        # sums and sorts of millions of rows in memory.
        await session.execute(text(f"ANALYZE {SCHEMA}.observations"))
        await session.execute(text("SET LOCAL work_mem = '256MB'"))
        await fold(session, f"(SELECT * FROM {SCHEMA}.observations WHERE origin = 'bench')")
        # The plain-SQL baseline reads observations by service: the index such a design would have
        # (Parley reads cells, and keeps no such index on observations since issue 13).
        await session.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS bench_observations_service ON {SCHEMA}.observations "
                "(kind, setting, code)"
            )
        )
        await session.execute(text(f"ANALYZE {SCHEMA}.observations"))
        await analyze_uc(session)
        cells = (await session.execute(text(f"SELECT count(*) FROM {SCHEMA}.uc_place_cells"))).scalar_one()
    print(
        f"observations (SYNTHETIC): {n:,} copied in {copied:.0f}s, folded into {cells:,} U&C place cells in "
        f"{time.perf_counter() - started - copied:.0f}s"
    )


# Synthetic MS-DRGs of the stays: a typical total charge (dollars) each, around which hospitals' stays vary.
STAY_DRGS = {
    "885": 18_000,
    "871": 52_000,
    "470": 61_000,
    "291": 33_000,
    "392": 21_000,
    "690": 15_000,
    "194": 29_000,
    "683": 27_000,
    "603": 19_000,
    "312": 14_000,
}


async def load_stays(
    sessions: async_sessionmaker[AsyncSession], n: int, registry: list[dict[str, str]]
) -> None:
    """``n`` whole-stay charge observations (``DRG885``…, facility setting), in cents as stays' totals are."""
    rng = random.Random(6)
    drgs = sorted(STAY_DRGS)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        done = 0
        while done < n:
            batch = []
            for drg in rng.choices(drgs, k=min(200_000, n - done)):
                f = rng.choice(registry)
                amount = Decimal(STAY_DRGS[drg] * float(f["markup"]) * rng.uniform(0.7, 1.3)).quantize(
                    Decimal("0.01")
                )
                row = ("bench-stays", "synthetic", "charge", "facility", stay_code(drg), amount, 1)
                batch.append((*row, f["state"], f["zip"][:3], f["npi"], date(2025, 6, 1), None, True))
            await driver.copy_records_to_table(
                "observations", schema_name=SCHEMA, records=batch, columns=COLUMNS
            )
            done += len(batch)
        only = f"(SELECT * FROM {SCHEMA}.observations WHERE origin = 'bench-stays')"
        await session.execute(text(f"ANALYZE {SCHEMA}.observations"))
        await fold(session, only)
        await analyze_uc(session)
    print(
        f"stays (SYNTHETIC): {n:,} whole-stay observations of {len(drgs)} MS-DRGs copied and folded in "
        f"{time.perf_counter() - started:.0f}s"
    )


def make_bill(rng: random.Random, codes: list[str], registry: list[dict[str, str]]) -> BillReceivedV1:
    f = rng.choice(registry)
    lines = [
        BillLineV1(
            line_number=i + 1,
            procedure_code=code,
            units=Decimal(1),
            charge=Decimal(rng.randint(100, 5000)),
            service_date=date(2025, 10, 1),
            place_of_service="11",
        )
        for i, code in enumerate(rng.sample(codes, 10))
    ]
    return BillReceivedV1(
        bill_id=uuid.uuid4(),
        client_id="bench",
        partner_claim_id="B",
        claim_type=ClaimType.professional,
        provider=ProviderRef(npi="1912301953", tin="587654321"),
        facility=FacilityRef(state=f["state"], zip=f["zip"], npi=f["npi"]),
        total_charge=sum((x.charge for x in lines), Decimal(0)),
        lines=lines,
        received_at=datetime.now(UTC),
        jurisdiction="WY" if f["state"] != "WY" else "ID",  # no fee schedule loaded: every bill goes to U&C
    )


def make_stay(rng: random.Random, registry: list[dict[str, str]]) -> BillReceivedV1:
    """An inpatient stay (type of bill 0111) of one of the synthetic MS-DRGs at a registry facility."""
    f = rng.choice(registry)
    admitted = date(2025, 10, 1)
    lines = [
        BillLineV1(
            line_number=n,
            revenue_code=code,
            units=Decimal(units),
            charge=Decimal(charge),
            service_date=admitted,
        )
        for n, (code, charge, units) in enumerate(STAY_LINES, start=1)
    ]
    return BillReceivedV1(
        bill_id=uuid.uuid4(),
        client_id="bench",
        partner_claim_id="S",
        claim_type=ClaimType.institutional,
        provider=ProviderRef(npi="1912301953", tin="587654321"),
        facility=FacilityRef(state=f["state"], zip=f["zip"], npi=f["npi"]),
        total_charge=sum((x.charge for x in lines), Decimal(0)),
        lines=lines,
        received_at=datetime.now(UTC),
        jurisdiction="WY" if f["state"] != "WY" else "ID",
        type_of_bill="0111",
        admission_date=admitted,
        discharge_date=date(2025, 10, 5),
        drg=rng.choice(sorted(STAY_DRGS)),
        discharge_status="01",
    )


BASELINE = f"""
SELECT percentile_disc(0.8) WITHIN GROUP (ORDER BY o.amount) AS value, count(*) AS n
FROM {SCHEMA}.observations o LEFT JOIN {SCHEMA}.facilities f ON f.npi = o.facility_npi
WHERE o.kind = 'charge' AND o.setting = :setting AND o.code = :code AND {{where}}
"""


async def baseline_bill(
    session: AsyncSession, bill: BillReceivedV1, facility: dict[str, str]
) -> list[Decimal | None]:
    """The same scopes a decision asks for, each answered by a plain SQL percentile over the rows."""
    scopes = [
        ("true", {}),
        ("o.zip3 = :zip3", {"zip3": facility["zip"][:3]}),
        ("o.state = :state", {"state": facility["state"]}),
        (
            "f.facility_type = :t AND f.bed_band = :b AND f.teaching = :te AND f.trauma_level = :tr",
            {
                "t": facility["facility_type"],
                "b": facility["band"],
                "te": facility["teaching"],
                "tr": facility["trauma"],
            },
        ),
        (
            "f.facility_type = :t AND f.bed_band = :b AND f.teaching = :te",
            {"t": facility["facility_type"], "b": facility["band"], "te": facility["teaching"]},
        ),
        ("f.facility_type = :t AND f.bed_band = :b", {"t": facility["facility_type"], "b": facility["band"]}),
        ("f.facility_type = :t", {"t": facility["facility_type"]}),
    ]
    if bill.drg:  # a stay is compared as one service, its MS-DRG, against whole stays
        services = [("facility", stay_code(bill.drg))]
    else:
        services = [("professional", line.procedure_code or "") for line in bill.lines]
    values = []
    for setting, code in services:
        for where, params in scopes:
            row = (
                await session.execute(
                    text(BASELINE.format(where=where)), {"setting": setting, "code": code, **params}
                )
            ).one()
            values.append(row.value)
    return values


def credentials(bill: BillReceivedV1, by_npi: dict) -> dict[str, str]:
    r = by_npi[bill.facility.npi]
    return {
        "zip": bill.facility.zip,
        "state": bill.facility.state,
        "facility_type": r[1],
        "band": r[2],
        "teaching": r[3],
        "trauma": r[4],
    }


async def bench_decisions(
    sessions: async_sessionmaker[AsyncSession],
    settings: PricingSettings,
    what: str,
    sample: list[BillReceivedV1],
    more: list[BillReceivedV1],
    by_npi: dict,
    root: Path,
) -> float:
    """Latency of ``decide`` over ``sample`` (each bill decided once before, unmeasured: the reference
    cache holds its codes and facility, as in a running service), then throughput with 4 concurrent
    sessions over ``sample`` again and over ``more`` (bills not seen
    before: their facilities' registry entries are read on the way)."""
    for bill in sample:  # warm-up
        async with sessions() as session, session.begin():
            await decide(session, bill, settings)
    timings = []
    cpu, database = time.process_time(), postgres_cpu(root)
    for bill in sample:
        async with sessions() as session, session.begin():
            started = time.perf_counter()
            await decide(session, bill, settings)
            timings.append(time.perf_counter() - started)
    cpu, database = (time.process_time() - cpu) / len(sample), (postgres_cpu(root) - database) / len(sample)
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(
        f"{what}, full decision (fee schedule, contract, 3 U&C reviews, audit): p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms over {len(sample)} bills (reference cache warm); CPU per decision: "
        f"this process {cpu * 1000:.1f} ms, Postgres {database * 1000:.1f} ms",
        flush=True,
    )

    async def worker(queue: list[BillReceivedV1]) -> int:
        done = 0
        while queue:
            bill = queue.pop()
            async with sessions() as session, session.begin():
                await decide(session, bill, settings)
            done += 1
        return done

    for label, bills in (("the same bills again", sample), ("as many bills not seen before", more)):
        queue = list(bills)
        started = time.perf_counter()
        total = sum(await asyncio.gather(*(worker(queue) for _ in range(4))))
        print(
            f"  throughput, 4 concurrent sessions, {label}: {total / (time.perf_counter() - started):.0f} "
            "bills/s (decision only: no HTTP, no bus)",
            flush=True,
        )
    return p50


async def bench_baseline(
    sessions: async_sessionmaker[AsyncSession],
    settings: PricingSettings,
    what: str,
    sample: list[BillReceivedV1],
    by_npi: dict,
    p50: float,
) -> None:
    """The plain-SQL baseline on ``sample`` (timed), and its national percentiles against the decision's."""
    agree = 0
    base_times = []
    for bill in sample:
        async with sessions() as session, session.begin():
            decision = await decide(session, bill, settings)
        assert decision.uc is not None  # no fee schedule or contract applies to the bench's bills
        async with sessions() as session:
            started = time.perf_counter()
            base = await baseline_bill(session, bill, credentials(bill, by_npi))
            base_times.append(time.perf_counter() - started)
        ours = [x.per_unit for x in decision.uc.summary.reviews[0].lines]
        agree += all(b == o for b, o in zip(base[::7], ours, strict=True))
    base_p50 = statistics.median(base_times)
    print(
        f"{what}: baseline, the same bills, the 7 scopes of each reviewed service by plain SQL "
        f"percentile_disc over the observations: p50 {base_p50 * 1000:.0f} ms per bill "
        f"(ratio {base_p50 / p50:.0f}× slower); "
        f"national percentiles equal on {agree}/{len(base_times)} bills",
        flush=True,
    )


async def bench_pricing(
    sessions: async_sessionmaker[AsyncSession],
    settings: PricingSettings,
    bills: int,
    codes: list[str],
    registry: list[dict[str, str]],
    root: Path,
    baseline_bills: int,
) -> None:
    rng = random.Random(9)
    async with sessions() as session:
        by_npi = {
            r[0]: r
            for r in await session.execute(
                text(
                    "SELECT npi, facility_type, bed_band, teaching, trauma_level, state, zip "
                    f"FROM {SCHEMA}.facilities"
                )
            )
        }
    professional = [make_bill(rng, codes, registry) for _ in range(bills * 2)]
    stays = [make_stay(rng, registry) for _ in range(bills * 2)]
    kinds = {"10-line professional bills": professional, "inpatient stays (MS-DRG, 9 lines)": stays}
    p50s = {
        what: await bench_decisions(sessions, settings, what, sample[:bills], sample[bills:], by_npi, root)
        for what, sample in kinds.items()
    }
    for what, sample in kinds.items():  # last: at millions of observations the baseline takes minutes
        await bench_baseline(sessions, settings, what, sample[:baseline_bills], by_npi, p50s[what])


async def main(observations: int, stays: int, hpt_rows: int, bills: int, baseline_bills: int) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-pricing-{os.getpid()}"
    stack = DevStack.throwaway(root)
    try:
        await stack.start_infrastructure()
        settings = PricingSettings(
            service="bench", database_url=stack.database_url(service("pricing")), db_pool_size=6
        )
        engine = create_engine(settings)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session, session.begin():
            await load_cms(session, settings.cms_dir, settings.cms_year)
            codes = await medicare_amounts(session, 300)
        registry = facilities(2000)
        folder = root / "files"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "facilities.csv").open("w", newline="") as fh:
            out = csv.DictWriter(
                fh, fieldnames=[k for k in registry[0] if k != "markup"], extrasaction="ignore"
            )
            out.writeheader()
            out.writerows(registry)
        async with sessions() as session, session.begin():
            await run_load(session, "facilities", folder / "facilities.csv")
        print(
            f"machine: {os.cpu_count()} CPUs; embedded Postgres; {len(codes)} codes, "
            f"{len(registry)} facilities"
        )
        await bench_import(sessions, folder, hpt_rows, codes)
        await load_observations(sessions, observations, codes, registry)
        await load_stays(sessions, stays, registry)
        await bench_pricing(sessions, settings, bills, sorted(codes), registry, root, baseline_bills)
        await engine.dispose()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=5_000_000)
    parser.add_argument(
        "--stays", type=int, default=None, help="whole-stay observations (default: observations / 50)"
    )
    parser.add_argument("--hpt-rows", type=int, default=1_000_000)
    parser.add_argument("--bills", type=int, default=200)
    parser.add_argument(
        "--baseline-bills", type=int, default=20, help="bills also answered by the plain-SQL baseline"
    )
    args = parser.parse_args()
    stays = args.observations // 50 if args.stays is None else args.stays
    asyncio.run(main(args.observations, stays, args.hpt_rows, args.bills, args.baseline_bills))
