"""Stays by MS-DRG, anesthesia by units, lab and DME on their schedules, the locality from the ZIP, and
comprehensive APCs: bills through intake, priced by the running pricing service, every figure worked by
hand from the real CMS files (tests/fixtures/pricing/cms; services/pricing/data/cms for DMEPOS).

Reference data the test stack loads at start-up (tests/fixtures/pricing/manifest.json): Table 5 FY2026,
IPPS FY2026 rates, ANES2025, the anesthesia base units, CLFS 2025 Q4, a Florida excerpt of ZIP5, and test
fee schedules (IL auto: stays at 100% of IPPS; IL workers' compensation: 150%; OK workers' compensation:
a 2,500.00 per diem; FL 1.40 × Medicare professional, 2.00 × OPPS). The sample stay (tests.helpers):
MS-DRG 885, 2018-06-28 to 2018-07-02, nine revenue-code lines, 17,166.70 billed.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from shared.stack.bootstrap import PROJECT_ROOT
from tests.helpers import VALID_NPI, bill, inpatient_stay_837i, line, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "pricing"
BUNDLED = PROJECT_ROOT / "services" / "pricing" / "data" / "cms"
WAGE_NPI = "1499900003"  # a facility registered below with CCN 149990 (illustrative wage index 1.2500)


async def _load(
    http: httpx.AsyncClient, urls: dict[str, str], dataset: str, body: bytes, **params: Any
) -> dict:
    response = await http.post(f"{urls['pricing']}/v1/reference/{dataset}", content=body, params=params)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def _pricing(reader: httpx.AsyncClient, urls: dict[str, str], bill_id: str) -> dict:
    async def probe() -> dict | None:
        response = await reader.get(f"{urls['pricing']}/v1/pricings/{bill_id}")
        return response.json()["latest"] if response.status_code == 200 else None

    return await wait_until(probe, what=f"pricing of {bill_id}")


async def _stay(
    http: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    urls: dict[str, str],
    text: str,
    client: str,
    lob: str | None = None,
) -> dict:
    params = {"client_id": client, **({"line_of_business": lob} if lob else {})}
    response = await http.post(
        f"{urls['intake']}/v1/bills/x12",
        params=params,
        content=text.encode(),
        headers={"content-type": "application/edi-x12"},
    )
    assert response.status_code == 200, response.text
    (claim,) = response.json()["claims"]
    assert claim["outcome"] == "created", claim["errors"]
    return await _pricing(reader, urls, claim["bill"]["id"])


def _allowed(pricing: dict) -> list[Decimal]:
    return [Decimal(x["allowed"]) for x in pricing["lines"]]


async def test_drg_885_at_medicare_ipps_national_then_with_a_loaded_wage_index(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    admin, reader = staff["admin"], staff["negotiator"]
    # Table 5 FY2026: MS-DRG 885 PSYCHOSES weight 1.3968. The discharge (2018-07-02) is in FY2018, whose
    # rates are not loaded: FY2026's are used, and the basis says so.
    # National (wage index 1.0 ≤ 1: labor 4,186.62, non-labor 2,565.99):
    #   operating = 1.3968 × (4,186.62 × 1.0 + 2,565.99) = 9,432.045648 → 9,432.05
    #   capital   = 524.15 × 1.3968 × GAF 1.0 = 732.13272 → 732.13;   IPPS = 10,164.18
    # IL auto test schedule: 100% of IPPS. Shared by charge over 17,166.70: 9,148 → 5,416.41, 48.10 → 28.48,
    # 133 → 78.75, 32.90 → 19.48, 798.50 → 472.78, 200.60 → 118.77, 175 → 103.62, 113.60 → 67.26, and
    # the last line the rest: 10,164.18 − 6,305.55 = 3,858.63.
    national = await _stay(http, reader, urls, inpatient_stay_837i(unique("STAY")), unique("ipps"), "auto")
    assert (national["method"], national["fee_schedule_id"]) == ("fee_schedule", "test-il-auto")
    assert _allowed(national) == [
        Decimal(x)
        for x in ("5416.41", "28.48", "78.75", "19.48", "472.78", "118.77", "103.62", "67.26", "3858.63")
    ]
    assert Decimal(national["total_allowed"]) == Decimal("10164.18")
    basis = national["lines"][0]["basis"]
    assert "operating = weight 1.3968 × (labor 4186.62 × wage index 1 + non-labor 2565.99) = 9432.05" in basis
    assert "capital = federal rate 524.15 × 1.3968 × GAF 1.0000 = 732.13" in basis
    assert "wage index 1.0 (national)" in basis
    assert "discharge in FY2018, whose rates are not loaded: FY2026 rates used" in basis
    assert "high-cost outlier payment not computed" in basis

    # With a wage index: the billing NPI registered with CCN 149990, whose FY2026 wage index (an
    # illustrative Table 2 row: no wage-index file was handed over) is 1.2500 (> 1: labor 4,456.72,
    # non-labor 2,295.89):
    #   operating = 1.3968 × (4,456.72 × 1.25 + 2,295.89) = 1.3968 × 7,866.79 = 10,988.332272 → 10,988.33
    #   GAF = 1.25 ^ 0.6848 = 1.16510… → 1.1651;  capital = 524.15 × 1.3968 × 1.1651 = 853.00783 → 853.01
    #   IPPS = 11,841.34
    registry = (
        "npi,name,facility_type,beds,teaching,trauma_level,state,zip,ccn\n"
        f"{WAGE_NPI},Lakeside Behavioral (test),psychiatric,60,none,none,IL,60640,149990\n"
    )
    await _load(admin, urls, "facilities", registry.encode(), source="wage-facility.csv")
    wage = (FIXTURES / "cms" / "wage_index_illustrative.csv").read_bytes()
    loaded = await _load(admin, urls, "wage-index", wage, year=2026, source="wage_index_illustrative.csv")
    assert loaded["skipped"] or loaded["rows_loaded"] == 1
    text = inpatient_stay_837i(unique("STAY")).replace(VALID_NPI, WAGE_NPI)
    local = await _stay(http, reader, urls, text, unique("ipps"), "auto")
    assert Decimal(local["total_allowed"]) == Decimal("11841.34")
    assert "FY2026 wage index of CCN 149990" in local["lines"][0]["basis"]
    assert "GAF 1.1651 = 853.01" in local["lines"][0]["basis"]


async def test_fee_schedules_at_a_percent_of_ipps_or_a_per_diem_and_a_stay_without_a_drg(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    reader = staff["negotiator"]
    # IL workers' compensation (test): 150% of IPPS = 10,164.18 × 1.5 = 15,246.27 for the stay.
    wc = await _stay(
        http, reader, urls, inpatient_stay_837i(unique("STAY")), unique("wc"), "workers_compensation"
    )
    assert wc["fee_schedule_id"] == "test-il-wc"
    assert Decimal(wc["total_allowed"]) == Decimal("15246.27")
    assert (
        "× 1.5 (IL workers' compensation (test): 150% of IPPS) = 15246.27 for the stay"
        in wc["lines"][0]["basis"]
    )
    (step,) = [s for s in wc["decision"] if s["step"] == "fee_schedule"]
    assert "stays at 150% of Medicare IPPS" in step["detail"]
    # OK workers' compensation (test): a 2,500.00 per diem; 2018-06-28 to 2018-07-02 = 4 days = 10,000.00.
    tulsa = inpatient_stay_837i(unique("STAY")).replace("N4*CHICAGO*IL*606400000", "N4*TULSA*OK*741030000")
    per_diem = await _stay(http, reader, urls, tulsa, unique("wc"), "workers_compensation")
    assert (per_diem["fee_schedule_id"], Decimal(per_diem["total_allowed"])) == (
        "test-ok-wc",
        Decimal("10000.00"),
    )
    # No MS-DRG on the claim: nothing is grouped at home; every line says why.
    no_drg = inpatient_stay_837i(unique("STAY")).replace("HI*DR:885", "HI*ABF:F17210")
    unpriced = await _stay(http, reader, urls, no_drg, unique("nodrg"), "auto")
    assert Decimal(unpriced["total_allowed"]) == Decimal("0.00")
    assert Decimal(unpriced["unpriced_billed"]) == Decimal("17166.70")
    assert "without an MS-DRG" in unpriced["lines"][0]["reason"]
    assert "does not group stays itself" in unpriced["lines"][0]["reason"]


async def _client_with(
    admin: httpx.AsyncClient, urls: dict[str, str], tag: str, *, contract: str | None = None
) -> str:
    client = f"drg-{tag}"
    network = None
    if contract is not None:
        await _load(admin, urls, "contracts", contract.encode(), source=f"c-{tag}.json")
        net = f'[{{"id": "net-{tag}", "name": "Hospital network", "contracts": ["case-{tag}"]}}]'
        await _load(admin, urls, "networks", net.encode(), source=f"n-{tag}.json")
        network = f"net-{tag}"
    body = (
        f'[{{"client_id": "{client}", "uc_percentile": 20, "uc_basis": "allowed"'
        + (f', "network": "{network}"' if network else "")
        + "}]"
    )
    await _load(admin, urls, "clients", body.encode(), source=f"k-{tag}.json")
    return client


async def test_a_stay_under_a_per_drg_case_rate_and_under_u_and_c_from_hospital_drg_rows(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, staff: dict[str, httpx.AsyncClient]
) -> None:
    admin, reader = staff["admin"], staff["negotiator"]
    # The West Mercy v3 file (CMS example) publishes MS-DRG 885 allowed amounts per payer:
    #   Platform PPO: median 22,157.22 (10th 15,230.18, 90th 24,000), count "1 through 10":
    #   1 point, weight 1;
    #   Region HMO: median 18,230.33, 10th 16,100.21, 90th 20,500.90, count 50 → ten points of weight 5,
    #   at quantiles 0.05, 0.15 … 0.95 read off the lines through the percentiles: 16,100.21, 16,366.48,
    #   16,899.01 (16,100.21 + 2,130.12 × 0.375 = 16,899.005 → .01), 17,431.54, …, 20,500.90.
    # Total weight 51 (the same multiset again for every other load of the file: percentiles unchanged).
    # The client's 20th percentile of allowed amounts (nearest rank): cumulative weight ≥ 10.2 → 3rd point,
    # 16,899.01. Services: national; geography: ZIP3 606 (0) → IL (0) → national; peers: facility not
    # registered. Median of the two = 16,899.01 for the stay, shared by charge: 9,148 → 9,005.35, …,
    # last line 6,415.37.
    await _load(admin, urls, "hpt", (FIXTURES / "hpt_v3_tall.csv").read_bytes(), target="drg-stays-tall")
    tag = uuid.uuid4().hex[:8]
    uc_client = await _client_with(admin, urls, tag)
    uc = await _stay(http, reader, urls, inpatient_stay_837i(unique("STAY")), uc_client)
    assert uc["method"] == "usual_and_customary"
    assert Decimal(uc["total_allowed"]) == Decimal("16899.01")
    assert (_allowed(uc)[0], _allowed(uc)[-1]) == (Decimal("9005.35"), Decimal("6415.37"))
    services = uc["usual_and_customary"]["reviews"][0]
    (stay_review,) = services["lines"]
    assert (stay_review["line_number"], Decimal(stay_review["per_unit"])) == (0, Decimal("16899.01"))
    assert stay_review["observations"] % 51 == 0
    assert "the stay reviewed as one service (MS-DRG 885)" in uc["lines"][0]["basis"]
    # The bill is now evidence of a DRG 885 stay billed at 17,166.70 (as a whole, beside its lines).
    assert await db.fetchval(
        "SELECT amount FROM pricing.observations WHERE bill_id = $1 AND code = 'DRG885'",
        uuid.UUID(uc["bill_id"]),
    ) == Decimal("17166.70")

    # A per-DRG case rate: 12,000.00 for MS-DRG 885, shared by charge: 9,148 → 6,394.71, …, last 4,555.57.
    tag = uuid.uuid4().hex[:8]
    contract = (
        f'[{{"id": "case-{tag}", "kind": "ppo", "name": "Case rates", "provider": {{"tin": "587654321"}}, '
        f'"terms": {{"type": "case_rate", "rates": {{"885": "12000.00"}}, '
        f'"per_diem": 1800}}}}]'
    )
    case_client = await _client_with(admin, urls, tag, contract=contract)
    cased = await _stay(http, reader, urls, inpatient_stay_837i(unique("STAY")), case_client)
    assert (cased["method"], cased["contract_id"]) == ("contract", f"case-{tag}")
    assert Decimal(cased["total_allowed"]) == Decimal("12000.00")
    assert (_allowed(cased)[0], _allowed(cased)[-1]) == (Decimal("6394.71"), Decimal("4555.57"))
    assert "case rate for MS-DRG 885 = 12000.00" in cased["lines"][0]["basis"]
    assert not [f for f in cased["findings"] if f["rule"] == "contract_above_uc"]  # 12,000.00 < 16,899.01
    # Another MS-DRG: the contract's per diem, 1,800.00 × 4 days = 7,200.00.
    other = await _stay(http, reader, urls, inpatient_stay_837i(unique("STAY"), drg="470"), case_client)
    assert Decimal(other["total_allowed"]) == Decimal("7200.00")
    assert "no case rate for MS-DRG 470" in other["lines"][0]["basis"]


def _anesthesia_bill(zip_code: str) -> dict:
    body = bill(
        client_id=unique("anes"),
        zip_code=zip_code,
        lines=[line("00142", "1200.00", modifiers=["QK", "P3"], units=61, unit_of_measure="minutes")],
    )
    return body


async def test_anesthesia_00142_for_61_minutes_with_qk_in_miami_and_in_tampa(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, staff: dict[str, httpx.AsyncClient]
) -> None:
    reader = staff["negotiator"]
    # 00142: 4 base units; 61 minutes ÷ 15 = 4.0667 → 4.1 time units; 8.1 units. ZIP5: 33125 → carrier
    # 09102 locality 04 (MIAMI, ANES CF 22.39); 33602 → locality 99 (REST OF FLORIDA, CF 20.73).
    # Miami: 8.1 × 22.39 = 181.359; QK 50% = 90.6795 → 90.68; FL test schedule × 1.40 = 126.952 → 126.95
    # Tampa: 8.1 × 20.73 = 167.913; QK 50% = 83.9565 → 83.96; × 1.40 = 117.544 → 117.54
    figures = {}
    for zip_code in ("33125", "33602"):
        created = await submit_bill(http, urls, _anesthesia_bill(zip_code))
        assert created.status_code == 201, created.text
        pricing = await _pricing(reader, urls, created.json()["id"])
        (priced,) = pricing["lines"]
        figures[zip_code] = (Decimal(priced["allowed"]), priced["basis"])
    assert figures["33125"][0] == Decimal("126.95")
    assert "8.1 units × CF 22.39 (MIAMI, carrier 09102 locality 04, 2025" in figures["33125"][1]
    assert "ZIP 33125 is carrier 09102 locality 04 in the CMS ZIP5 file (20254)" in figures["33125"][1]
    assert "physical status P3" in figures["33125"][1]
    assert figures["33602"][0] == Decimal("117.54")
    assert "CF 20.73 (REST OF FLORIDA, carrier 09102 locality 99" in figures["33602"][1]
    # Its charge is evidence per anesthesia unit: 1,200.00 / 8.1 = 148.148… → 148.15, never 1,200 / 61.
    amount = await db.fetchval(
        "SELECT amount FROM pricing.observations o JOIN pricing.pricings p ON p.bill_id = o.bill_id "
        "WHERE p.id = $1 AND o.code = '00142'",
        uuid.UUID(pricing["id"]),
    )
    assert amount == Decimal("148.15")


async def test_lab_on_the_clfs_dme_rural_and_urban_and_a_line_no_schedule_covers(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    admin, reader = staff["admin"], staff["negotiator"]
    # CLFS 2025 Q4: 80053 00010.56; × 1.40 = 14.784 → 14.78 (no 2026 CLFS loaded: 2025's, said).
    # 99199 (unlisted special service): PFS status C, not on the CLFS or DMEPOS: unpriced with the reason.
    created = await submit_bill(
        http, urls, bill(client_id=unique("lab"), lines=[line("80053", "60.00"), line("99199", "75.00")])
    )
    lab, unlisted = (await _pricing(reader, urls, created.json()["id"]))["lines"]
    assert Decimal(lab["allowed"]) == Decimal("14.78")
    assert "Medicare CLFS 2025 80053: national limitation amount 10.56 × 1.40" in lab["basis"]
    assert unlisted["allowed"] is None
    assert "status C" in unlisted["reason"]
    assert "not on the CLFS or DMEPOS" in unlisted["reason"]
    # OK workers' compensation (test) has its own multipliers: lab × 2.00 CLFS (80053: 10.56 × 2.00 = 21.12)
    # and its own anesthesia CF 55.00 (00142, 61 minutes, QX: 8.1 units × 55.00 = 445.50; 50% = 222.75).
    body = bill(
        client_id=unique("okwc"),
        state="OK",
        zip_code="74103",
        lines=[
            line("80053", "60.00"),
            line("00142", "900.00", modifiers=["QX"], units=61, unit_of_measure="minutes"),
        ],
    )
    body["line_of_business"] = "workers_compensation"
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    ok_lab, ok_anesthesia = (await _pricing(reader, urls, created.json()["id"]))["lines"]
    assert Decimal(ok_lab["allowed"]) == Decimal("21.12")
    assert Decimal(ok_anesthesia["allowed"]) == Decimal("222.75")
    assert "8.1 units × CF 55.0000" in ok_anesthesia["basis"]
    # DMEPOS January 2026 (the Excel as shipped), E0601 RR in FL: non-rural 51.94, rural 86.69.
    # ZIP5: 33602 urban; 33001 rural (R). × 1.40: 72.716 → 72.72; 121.366 → 121.37.
    await _load(
        admin,
        urls,
        "dmepos",
        (BUNDLED / "DMEPOS26_JAN.xlsx").read_bytes(),
        year=2026,
        source="DMEPOS26_JAN.xlsx",
    )
    amounts = {}
    for zip_code in ("33602", "33001"):
        body = bill(
            client_id=unique("dme"), zip_code=zip_code, lines=[line("E0601", "200.00", modifiers=["RR"])]
        )
        created = await submit_bill(http, urls, body)
        (priced,) = (await _pricing(reader, urls, created.json()["id"]))["lines"]
        amounts[zip_code] = (Decimal(priced["allowed"]), priced["basis"])
    assert amounts["33602"][0] == Decimal("72.72")
    assert "Medicare DMEPOS 2026 E0601 RR FL, urban ZIP: non-rural fee 51.94" in amounts["33602"][1]
    assert amounts["33001"][0] == Decimal("121.37")
    assert "rural ZIP: rural fee 86.69" in amounts["33001"][1]


async def test_an_outpatient_claim_with_a_j1_service_is_paid_at_the_comprehensive_apc(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    reader = staff["negotiator"]
    # OPPS 2025: 29881 J1, APC 5113, 3,244.61 × 2.00 (FL outpatient multiplier) = 6,489.22. The claim's
    # 96374 (S), 85025 (Q4), J1100 (N) and a revenue-code-only supply line are packaged into it (0.00).
    body = bill(
        client_id=unique("j1"),
        lines=[
            line("29881", "9000.00", revenue_code="0360"),
            line("96374", "400.00", revenue_code="0260"),
            line("85025", "50.00", revenue_code="0300"),
            line("J1100", "40.00", revenue_code="0636"),
            {**line("29881", "100.00", revenue_code="0272"), "procedure_code": None},
        ],
    )
    body.update(claim_type="institutional", type_of_bill="0131")
    body.pop("place_of_service")
    body["facility"]["npi"] = "1912301953"
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    pricing = await _pricing(reader, urls, created.json()["id"])
    assert _allowed(pricing) == [Decimal("6489.22")] + [Decimal("0.00")] * 4
    assert "comprehensive APC" in pricing["lines"][0]["basis"]
    assert "packaged into comprehensive APC 5113 (29881, status J1, line 1)" in pricing["lines"][1]["basis"]
    assert Decimal(pricing["total_allowed"]) == Decimal("6489.22")
