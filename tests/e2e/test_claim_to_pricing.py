"""What intake's claim model changes in pricing, end to end: line of business, exempt facilities,
outpatient facility bills on OPPS. Reference data: tests/fixtures/pricing/fee_schedules.json (loaded by
the test stack at start-up); figures worked out by hand from the bundled 2025 CMS files.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.helpers import bill, line, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e

NV_EXEMPT_FACILITY = "1003000126"  # listed as exempt from the NV workers' compensation test schedule


async def _pricing_of(
    http: httpx.AsyncClient, staff: dict[str, httpx.AsyncClient], urls: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]

    async def priced() -> dict[str, Any] | None:
        response = await staff["negotiator"].get(f"{urls['pricing']}/v1/pricings/{bill_id}")
        return response.json()["latest"] if response.status_code == 200 else None

    return await wait_until(priced, what="pricing")


def _nv_bill(line_of_business: str, facility_npi: str | None = None) -> dict[str, Any]:
    body = bill(client_id=unique("nv"), state="NV", zip_code="89101", lines=[line("99213", "300.00")])
    body["line_of_business"] = line_of_business
    if facility_npi:
        body["facility"]["npi"] = facility_npi
    return body


def _step(pricing: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in pricing["decision"] if s["step"] == name)


async def test_a_workers_comp_bill_is_priced_on_the_workers_comp_schedule(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    pricing = await _pricing_of(http, staff, urls, _nv_bill("workers_compensation"))
    assert (pricing["method"], pricing["fee_schedule_id"]) == ("fee_schedule", "test-nv-wc")
    # NV (one locality: work 1, PE 1, MP 0.844): (1.30 + 1.35 + 0.10 × 0.844) × 32.3465 = 88.448… → 88.45
    # × 1.60 = 141.52
    (priced,) = pricing["lines"]
    assert Decimal(priced["allowed"]) == Decimal("141.52")


async def test_the_same_bill_under_group_health_is_not_on_the_workers_comp_schedule(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    pricing = await _pricing_of(http, staff, urls, _nv_bill("group_health"))
    assert pricing["method"] != "fee_schedule"
    step = _step(pricing, "fee_schedule")
    assert step["applied"] is False
    assert "workers_compensation" in step["detail"]


async def test_an_exempt_facility_skips_the_schedule_and_says_why(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    pricing = await _pricing_of(http, staff, urls, _nv_bill("workers_compensation", NV_EXEMPT_FACILITY))
    assert pricing["method"] != "fee_schedule"
    step = _step(pricing, "fee_schedule")
    assert step["applied"] is False
    assert "exempt" in step["detail"]
    assert "federal facility" in step["detail"]


async def test_an_outpatient_facility_bill_is_priced_on_opps_with_the_facility_multiplier(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    body = bill(
        client_id=unique("opps"),
        state="FL",
        zip_code="33111",
        lines=[
            line("99283", "900.00", revenue_code="0450"),
            line("71046", "300.00", revenue_code="0324"),
            line("36415", "40.00", revenue_code="0300"),
        ],
    )
    body.update(claim_type="institutional", type_of_bill="0131")
    body.pop("place_of_service")
    body["facility"]["npi"] = "1912301953"
    pricing = await _pricing_of(http, staff, urls, body)
    assert (pricing["method"], pricing["fee_schedule_id"]) == ("fee_schedule", "test-fl")
    lines = {x["line_number"]: x for x in pricing["lines"]}
    # OPPS Addendum B 2025 × 2.00 (the FL test schedule's outpatient facility multiplier):
    # 99283 status J2, APC 5023, 276.89 → 553.78; 71046 status Q3, APC 5521, 88.05 → 176.10;
    # 36415 status Q4 (a lab test) on a claim with a J2 and a Q3 service → packaged (CMS: Q4 is paid on
    # the lab fee schedule only when no J1, J2, S, T, V, Q1, Q2 or Q3 service is on the claim).
    assert Decimal(lines[1]["allowed"]) == Decimal("553.78")
    assert Decimal(lines[2]["allowed"]) == Decimal("176.10")
    assert Decimal(lines[3]["allowed"]) == Decimal("0.00")
    assert "Q4" in lines[3]["basis"]
    assert "packaged" in lines[3]["basis"]
    assert Decimal(pricing["total_allowed"]) == Decimal("729.88")
    assert Decimal(pricing["unpriced_billed"]) == Decimal("0.00")
