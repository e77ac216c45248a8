"""Hospital and specialty pricing, run by hand: ``python -m bench.hospital [--bills 300]``.

On a throwaway embedded Postgres it loads the bundled CMS files through the real loaders (timing each),
then measures the latency (p50/p99) of the full pricing decision (``decide``: fee schedule step,
audit) for three kinds of bill under the demo's FL schedule, in the same run:

- baseline: a two-line office bill (99214, 73030) on the physician fee schedule;
- a specialty bill: anesthesia 00142 for 61 minutes (QK), a CLFS lab test and a DMEPOS rental;
- an inpatient stay: MS-DRG 885 over nine revenue-code lines, 140% of Medicare IPPS, shared by charge.

Issue 13 asks for p99 < 10 ms per bill; this shows what the new bases add to the decision itself (no
HTTP, no bus).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import async_sessionmaker

from services.pricing.config import PricingSettings
from services.pricing.decision import decide
from services.pricing.importers import load_cms, load_manifest, run_load
from shared.catalog import service
from shared.contracts import BillReceivedV1
from shared.db import create_engine
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.demo import DEMO_REFERENCE_MANIFEST
from shared.stack.demo_bills import STAY_LINES
from shared.stack.devstack import DevStack

DMEPOS = PROJECT_ROOT / "services" / "pricing" / "data" / "cms" / "DMEPOS26_JAN.xlsx"
DAY = date(2026, 3, 2)


def _bill(lines: list[dict], **extra: object) -> BillReceivedV1:
    total = sum((Decimal(str(x["charge"])) for x in lines), Decimal(0))
    fields: dict[str, object] = {
        "bill_id": uuid.uuid4(),
        "client_id": "bench",
        "partner_claim_id": "B",
        "claim_type": "professional",
        "provider": {"npi": "1912301953", "tin": "587654321"},
        "facility": {"state": "FL", "zip": "33125", "npi": "1912301953"},
        "total_charge": total,
        "received_at": datetime.now(UTC),
        "place_of_service": "11",
        "lines": [
            {"line_number": n, "units": 1, "service_date": DAY, **x} for n, x in enumerate(lines, start=1)
        ],
        **extra,
    }
    return BillReceivedV1.model_validate(fields)


def bills() -> dict[str, BillReceivedV1]:
    return {
        "baseline: office bill, PFS": _bill(
            [{"procedure_code": "99214", "charge": "310.00"}, {"procedure_code": "73030", "charge": "120.00"}]
        ),
        "anesthesia + lab + DME": _bill(
            [
                {
                    "procedure_code": "00142",
                    "modifiers": ["QK"],
                    "units": 61,
                    "unit_of_measure": "minutes",
                    "charge": "1200.00",
                },
                {"procedure_code": "80053", "charge": "60.00"},
                {"procedure_code": "E0601", "modifiers": ["RR"], "charge": "200.00"},
            ]
        ),
        "inpatient stay, MS-DRG 885": _bill(
            [{"revenue_code": code, "units": units, "charge": charge} for code, charge, units in STAY_LINES],
            claim_type="institutional",
            place_of_service=None,
            type_of_bill="0111",
            admission_date=DAY,
            discharge_date=date(2026, 3, 6),
            drg="885",
            discharge_status="01",
        ),
    }


async def main(count: int) -> None:
    root = PROJECT_ROOT / ".parley" / f"bench-hospital-{os.getpid()}"
    stack = DevStack.throwaway(root)
    try:
        await stack.start_infrastructure()
        settings = PricingSettings(service="bench", database_url=stack.database_url(service("pricing")))
        engine = create_engine(settings)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session, session.begin():
            await load_cms(session, settings.cms_dir, settings.cms_year)
        async with sessions() as session, session.begin():
            started = time.perf_counter()
            loaded = await load_manifest(session, DEMO_REFERENCE_MANIFEST)
            names = ", ".join(s.dataset for s in loaded)
            print(f"demo manifest ({names}): {time.perf_counter() - started:.2f} s")
        async with sessions() as session, session.begin():
            started = time.perf_counter()
            summary = await run_load(session, "dmepos", DMEPOS, year=2026)
            took = time.perf_counter() - started
            print(f"DMEPOS January 2026 Excel, {summary.rows_loaded} codes: {took:.2f} s")
        results = {}
        for name, bill in bills().items():
            timings = []
            for i in range(count + 20):
                async with sessions() as session, session.begin():
                    started = time.perf_counter()
                    decision = await decide(session, bill, settings)
                    if i >= 20:  # warm-up
                        timings.append(time.perf_counter() - started)
            timings.sort()
            allowed = sum((q.allowed or 0 for q in decision.quotes), Decimal(0))
            results[name] = (statistics.median(timings), timings[int(len(timings) * 0.99) - 1], allowed)
        base = next(iter(results.values()))[0]
        print(f"machine: {os.cpu_count()} CPUs; {count} decisions per bill, sequential")
        for name, (p50, p99, allowed) in results.items():
            print(
                f"{name}: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, ratio to baseline "
                f"{p50 / base:.2f} (allowed {allowed})"
            )
        await engine.dispose()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.bills))
