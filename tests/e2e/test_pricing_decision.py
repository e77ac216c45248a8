"""The pricing decision on the running service: reference data loaded through the admin API, bills
submitted through intake, every figure worked out by hand from the fixture files.

U&C figures for 29881 (professional charges, per unit; fixtures in tests/fixtures/pricing/uc/):
  Billings MT 591 (the bill's facility, acute care, 150 beds, major teaching, trauma II): 2000 2100 2200 2300
  Missoula MT 598 (same credentials): 1500 1600 1700 1800 1900
  Bozeman MT 597 (acute care, 40 beds): 2400 2500 2600 (billed as 2 units of 4800/5000/5200)
  Boise ID 837 (same credentials as Billings): 1400 1500 1600 1700 1800 1900
  Idaho 832 (no facility): 1000 1100 1200 1300
At the 80th percentile (nearest rank), a scope needing 10 observations:
  services, national, 22 observations: rank ceil(0.8 × 22) = 18 → 2200
  geography: ZIP3 591 has 4 → state MT, 12: rank 10 → 2400
  peers: same type, beds band 100-199, major, trauma II: 4 + 5 + 6 = 15, rank 12 → 2000
  median (2000, 2200, 2400) = 2200.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.stack.bootstrap import PROJECT_ROOT
from tests.helpers import bill, case_of_bill, line, new_tin, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "pricing"
BILLINGS = "1003000134"


async def _load(
    http: httpx.AsyncClient, urls: dict[str, str], dataset: str, body: bytes, **params: str
) -> httpx.Response:
    return await http.post(f"{urls['pricing']}/v1/reference/{dataset}", content=body, params=params)


async def _load_file(
    http: httpx.AsyncClient, urls: dict[str, str], dataset: str, path: Path, **params: str
) -> dict:
    response = await _load(http, urls, dataset, _read(path), source=path.name, **params)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _read(path: Path) -> bytes:
    return path.read_bytes()


async def _priced(http: httpx.AsyncClient, urls: dict[str, str], bill_id: str, revision: int = 1) -> dict:
    async def probe() -> dict | None:
        response = await http.get(f"{urls['pricing']}/v1/pricings/{bill_id}")
        if response.status_code != 200:
            return None
        body = response.json()
        return body if body["latest"]["revision"] >= revision else None

    return await wait_until(probe, what=f"pricing revision {revision}")


def _mt_bill(client_id: str, lines: list[dict]) -> dict:
    body = bill(client_id=client_id, state="MT", zip_code="59101", lines=lines)
    body["facility"]["npi"] = BILLINGS
    return body


@pytest.fixture(scope="module")
async def uc_data(urls: dict[str, str], staff: dict[str, httpx.AsyncClient]) -> None:
    facilities = await _load_file(staff["admin"], urls, "facilities", FIXTURES / "uc" / "facilities.csv")
    assert facilities["rows_rejected"] == 1  # the NPI whose check digit is wrong
    assert "npi" in facilities["rejections"][0]["reason"]
    observations = await _load_file(
        staff["admin"], urls, "observations", FIXTURES / "uc" / "observations.csv", target="uc-fixture"
    )
    assert (observations["rows_loaded"], observations["rows_rejected"]) in ((22, 1), (0, 0))


async def test_three_reviews_and_their_median_price_a_bill_without_schedule_or_contract(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_data: None
) -> None:
    body = _mt_bill(unique("uc"), [line("29881", "3000.00"), line("97750", "150.00")])
    body["provider"]["tin"] = new_tin()  # a provider without history: the opening is the target itself
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]
    latest = (await _priced(staff["negotiator"], urls, bill_id))["latest"]

    assert latest["method"] == "usual_and_customary"
    uc = latest["usual_and_customary"]
    assert (uc["percentile"], uc["basis"], uc["min_observations"]) == (80, "charges", 10)
    reviews = {r["kind"]: r["lines"][0] for r in uc["reviews"]}
    services, geography, peers = reviews["services"], reviews["geography"], reviews["peers"]
    assert (Decimal(services["allowance"]), services["observations"], services["scope"]) == (
        Decimal("2200.00"),
        22,
        "national, every facility",
    )
    assert Decimal(geography["allowance"]) == Decimal("2400.00")
    assert [(s["scope"], s["observations"], s["used"]) for s in geography["steps"]] == [
        ("ZIP3 591", 4, False),
        ("state MT", 12, True),
    ]
    assert (Decimal(peers["allowance"]), peers["observations"]) == (Decimal("2000.00"), 15)
    assert peers["steps"][0]["used"] is True
    assert "acute care hospital, 100-199 beds, teaching major, trauma II" in peers["scope"]

    lines = {x["line_number"]: x for x in latest["lines"]}
    assert Decimal(lines[1]["allowed"]) == Decimal("2200.00")  # median of 2000, 2200, 2400
    assert "median of 3 review(s)" in lines[1]["basis"]
    assert lines[2]["allowed"] is None
    assert "too little data" in lines[2]["reason"]
    too_thin = [r["lines"][1] for r in uc["reviews"]]
    assert all(x["allowance"] is None and "too little data" in x["note"] for x in too_thin)
    assert Decimal(uc["median_total"]) == Decimal("2200.00")
    assert Decimal(latest["total_allowed"]) == Decimal("2200.00")
    assert Decimal(latest["unpriced_billed"]) == Decimal("150.00")

    # Negotiation's opening strategy starts from the median (plus the unpriced line at billed): 2200 + 150.
    opened = await wait_until(lambda: case_of_bill(staff["negotiator"], urls, bill_id), what="case")
    assert opened["route"] == "negotiate"
    assert Decimal(opened["suggested_offer"]) == Decimal("2350.00")

    # The statement is served as stored, and its hash is the one in the pricing.
    statement = await staff["negotiator"].get(
        f"{urls['pricing']}/v1/pricings/{bill_id}/revisions/1/statement"
    )
    assert statement.status_code == 200
    assert hashlib.sha256(statement.text.encode()).hexdigest() == latest["statement_sha256"]
    assert "USUAL AND CUSTOMARY REVIEWS (80th percentile of charges" in statement.text
    assert "ZIP3 591 (4) → state MT (12, used)" in statement.text

    # New observations arrive (10 more in ZIP3 591 at 1000); re-pricing keeps the first revision.
    # services: 32 observations, rank 26 → 2000; geography: ZIP3 591 now has 14, rank 12 → 2100;
    # peers unchanged (no facility on the new rows) → 2000; median 2000. The bill's own charge
    # (3000, added after revision 1) is left out of its own re-pricing.
    extra = "kind,setting,code,amount,state,zip\n" + "charge,professional,29881,1000,MT,59101\n" * 10
    loaded = await _load(
        staff["admin"], urls, "observations", extra.encode(), target="uc-extra", source="extra.csv"
    )
    assert loaded.status_code in (200, 201), loaded.text
    repriced = await staff["supervisor"].post(
        f"{urls['pricing']}/v1/pricings/{bill_id}/reprice", json={"reason": "ZIP3 591 observations loaded"}
    )
    assert repriced.status_code == 201, repriced.text
    assert repriced.json()["revision"] == 2
    assert repriced.json()["trigger"] == "re-priced: ZIP3 591 observations loaded"
    history = await _priced(staff["negotiator"], urls, bill_id, revision=2)
    assert [r["revision"] for r in history["revisions"]] == [1, 2]
    assert Decimal(history["revisions"][0]["total_allowed"]) == Decimal("2200.00")
    second = {r["kind"]: r["lines"][0] for r in history["latest"]["usual_and_customary"]["reviews"]}
    assert (Decimal(second["services"]["allowance"]), second["services"]["observations"]) == (
        Decimal("2000.00"),
        32,
    )
    assert (Decimal(second["geography"]["allowance"]), second["geography"]["scope"]) == (
        Decimal("2100.00"),
        "ZIP3 591",
    )
    assert Decimal(history["latest"]["total_allowed"]) == Decimal("2000.00")


async def test_a_contract_in_the_clients_network_prices_the_bill_and_is_flagged_above_uc(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_data: None
) -> None:
    tag = uuid.uuid4().hex[:8]
    client_id = f"mosaic-{tag}"
    contracts = (
        f'[{{"id": "ppo-{tag}", "kind": "ppo", "name": "Mosaic PPO", "provider": {{"tin": "587654321"}},'
        f'"effective_from": "2020-01-01", "terms": {{"type": "percent_of_billed", "percent": 90}}}},'
        f'{{"id": "old-{tag}", "kind": "ppo", "name": "Expired PPO", "provider": {{"tin": "587654321"}},'
        f'"effective_from": "2019-01-01", "effective_to": "2019-12-31",'
        f'"terms": {{"type": "percent_of_billed", "percent": 10}}}}]'
    )
    assert (
        await _load(staff["admin"], urls, "contracts", contracts.encode(), source=f"c-{tag}.json")
    ).status_code == 201
    network = f'[{{"id": "net-{tag}", "name": "Custom", "contracts": ["ppo-{tag}", "old-{tag}"]}}]'
    assert (
        await _load(staff["admin"], urls, "networks", network.encode(), source=f"n-{tag}.json")
    ).status_code == 201
    clients = f'[{{"client_id": "{client_id}", "network": "net-{tag}"}}]'
    assert (
        await _load(staff["admin"], urls, "clients", clients.encode(), source=f"k-{tag}.json")
    ).status_code == 201

    created = await submit_bill(http, urls, _mt_bill(client_id, [line("29881", "3000.00")]))
    latest = (await _priced(staff["negotiator"], urls, created.json()["id"]))["latest"]
    assert (latest["method"], latest["contract_id"]) == ("contract", f"ppo-{tag}")
    (priced_line,) = latest["lines"]
    assert Decimal(priced_line["allowed"]) == Decimal("2700.00")  # 90% of 3000
    assert "PPO contract ppo-" in priced_line["basis"]
    steps = [(s["step"], s["applied"]) for s in latest["decision"]]
    assert steps == [("fee_schedule", False), ("contract", True), ("usual_and_customary", False)]
    uc_target = min(
        Decimal("3000.00"),
        sorted(Decimal(r["lines"][0]["allowance"]) for r in latest["usual_and_customary"]["reviews"])[1],
    )
    (flag,) = [f for f in latest["findings"] if f["rule"] == "contract_above_uc"]
    assert flag["line_number"] == 1
    assert Decimal(flag["amount_at_stake"]) == Decimal("2700.00") - uc_target


async def test_a_direct_agreement_beats_a_ppo_contract_and_pays_a_percent_of_medicare(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    tag = uuid.uuid4().hex[:8]
    client_id = f"agreement-{tag}"
    contracts = (
        f'[{{"id": "ppo-{tag}", "kind": "ppo", "name": "PPO", "provider": {{"tin": "587654321"}},'
        f'"terms": {{"type": "percent_of_billed", "percent": 95}}}},'
        f'{{"id": "da-{tag}", "kind": "agreement", "name": "Direct", "provider": {{"tin": "587654321",'
        f'"npi": "1912301953"}}, "terms": {{"type": "percent_of_fee_schedule", "percent": 150,'
        f'"schedule": "medicare", "unlisted_percent_of_billed": 60}}}}]'
    )
    assert (
        await _load(staff["admin"], urls, "contracts", contracts.encode(), source=f"c-{tag}.json")
    ).status_code == 201
    network = f'[{{"id": "net-{tag}", "name": "Custom", "contracts": ["ppo-{tag}", "da-{tag}"]}}]'
    assert (
        await _load(staff["admin"], urls, "networks", network.encode(), source=f"n-{tag}.json")
    ).status_code == 201
    clients = f'[{{"client_id": "{client_id}", "network": "net-{tag}", "uc_percentile": 50}}]'
    assert (
        await _load(staff["admin"], urls, "clients", clients.encode(), source=f"k-{tag}.json")
    ).status_code == 201

    body = bill(
        client_id=client_id,
        state="MT",
        zip_code="59101",
        lines=[line("99213", "200.00"), line("99199", "45.00"), line("87070", "45.00")],
    )
    latest = (await _priced(staff["negotiator"], urls, (await submit_bill(http, urls, body)).json()["id"]))[
        "latest"
    ]
    assert (latest["method"], latest["contract_id"]) == ("agreement", f"da-{tag}")
    lines = {x["line_number"]: x for x in latest["lines"]}
    # MT (one locality: work 1, PE 1, MP 0.978): (1.30 + 1.35 + 0.10 × 0.978) × 32.3465 = 88.88; × 1.50
    assert Decimal(lines[1]["allowed"]) == Decimal("133.32")
    # 99199 is carrier-priced (status C) and on no other schedule: unlisted, paid at 60% of billed
    assert Decimal(lines[2]["allowed"]) == Decimal("27.00")
    # 87070 is a lab test (PFS status X): 150% of its CLFS 2025 amount, 8.62 × 1.50 = 12.93
    assert Decimal(lines[3]["allowed"]) == Decimal("12.93")
    assert "Medicare CLFS 2025 87070" in lines[3]["basis"]
    assert latest["usual_and_customary"]["percentile"] == 50


async def test_audit_findings_name_line_rule_and_amount(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    for dataset, name in (("ncci", "ncci_practitioner.txt"), ("mue", "mue_practitioner.csv")):
        summary = await _load_file(
            staff["admin"], urls, dataset, FIXTURES / "audit" / name, target="practitioner"
        )
        assert summary["skipped"] or summary["rows_rejected"] == 1
    lines = [
        line("99213", "200.00", modifiers=["25"]),
        line("20610", "300.00"),
        line("20610", "300.00"),
        line("97110", "240.00", units=6),
        line("64450", "500.00", modifiers=["59"]),
        line("97140", "100.00"),
        line("71046", "150.00"),
        line("71046", "60.00", modifiers=["26"]),
        line("99214", "250.00", modifiers=["26"]),
    ]
    created = await submit_bill(http, urls, bill(lines=lines))
    latest = (await _priced(staff["negotiator"], urls, created.json()["id"]))["latest"]
    assert latest["method"] == "fee_schedule"
    found = sorted((f["line_number"], f["rule"], Decimal(f["amount_at_stake"])) for f in latest["findings"])
    assert found == [
        (1, "modifier_25", Decimal("200.00")),  # E/M-25 on the day of 20610 (0 global days)
        (3, "duplicate_line", Decimal("300.00")),
        (4, "mue", Decimal("80.00")),  # 6 units, MUE 4 per day: 2 × 40.00
        (5, "modifier_59", Decimal("500.00")),  # 20610/64450 has modifier indicator 0
        (6, "ncci_ptp", Decimal("100.00")),  # 97110/97140, indicator 1, no modifier
        (8, "modifier_pctc", Decimal("60.00")),  # global 71046 on line 7 already includes the 26
        (9, "modifier_pctc", Decimal("250.00")),  # 99214 has PC/TC indicator 0
    ]


async def test_price_transparency_files_load_streamed_and_reload_is_a_no_op(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], db: asyncpg.Connection
) -> None:
    tall = await _load_file(
        staff["admin"], urls, "hpt", FIXTURES / "hpt_v3_tall.csv", target="west-mercy-tall"
    )
    if not tall["skipped"]:
        reasons = " ".join(r["reason"] for r in tall["rejections"])
        assert "NDC" in reasons
    weights = await db.fetch(
        "SELECT kind, sum(weight) AS w, count(*) AS n FROM pricing.observations "
        "WHERE origin_ref = 'west-mercy-tall' AND code = 'C1785' GROUP BY kind ORDER BY kind"
    )
    # gross 40000 and cash 36000 once (two payer rows, one item); allowed: counts 18 + 37, ten points each
    assert [(r["kind"], r["w"], r["n"]) for r in weights] == [
        ("allowed", 55, 20),
        ("cash", 1, 1),
        ("charge", 1, 1),
    ]
    mri = await db.fetchrow(
        "SELECT amount, state, zip3 FROM pricing.observations WHERE origin_ref = 'west-mercy-tall' "
        "AND code = '70551' AND kind = 'charge'"
    )
    # two addresses in CA with different ZIP3s: state known, ZIP3 not
    assert (mri["amount"], mri["state"], mri["zip3"]) == (Decimal("1200.00"), "CA", None)
    again = await _load(
        staff["admin"], urls, "hpt", _read(FIXTURES / "hpt_v3_tall.csv"), target="west-mercy-tall"
    )
    assert again.status_code == 200
    assert again.json()["skipped"] is True

    for name, target in (("hpt_v3_wide.csv", "west-mercy-wide"), ("hpt_v3.json", "west-mercy-json")):
        await _load_file(staff["admin"], urls, "hpt", FIXTURES / name, target=target)
        er = await db.fetch(
            "SELECT kind, sum(weight) AS w FROM pricing.observations "
            "WHERE origin_ref = $1 AND code = '99283' GROUP BY kind ORDER BY kind",
            target,
        )
        assert [(r["kind"], r["w"]) for r in er] == [("allowed", 299 + 175), ("cash", 1), ("charge", 1)]
    for target in ("west-mercy-tall", "west-mercy-wide", "west-mercy-json"):
        # 70551: negotiated dollars per payer and plan (Platform PPO 400, Region HMO 250) as allowed amounts
        negotiated = await db.fetch(
            "SELECT amount FROM pricing.observations WHERE origin_ref = $1 AND code = '70551' "
            "AND kind = 'allowed' ORDER BY amount",
            target,
        )
        assert [r["amount"] for r in negotiated] == [Decimal("250.00"), Decimal("400.00")]

    tic = await _load_file(
        staff["admin"], urls, "tic", FIXTURES / "tic_allowed_amounts_single_plan.json", target="tic-sample"
    )
    assert tic["skipped"] or tic["rows_loaded"] == 3
    pairs = await db.fetch(
        "SELECT kind, amount FROM pricing.observations WHERE origin_ref = 'tic-sample' ORDER BY kind, amount"
    )
    assert [(r["kind"], r["amount"]) for r in pairs] == [("allowed", Decimal("25.00"))] * 3 + [
        ("charge", Decimal(a)) for a in ("50.00", "60.00", "70.00")
    ]


async def test_bad_reference_input_gets_4xx_naming_the_problem_and_changes_nothing(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], db: asyncpg.Connection
) -> None:
    unknown = await _load(staff["admin"], urls, "nonsense", b"x")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "path:dataset"
    no_year = await _load(staff["admin"], urls, "rvu", b"HCPCS,MOD\n")
    assert no_year.status_code == 422
    assert no_year.json()["errors"][0]["field"] == "query:year"
    no_target = await _load(staff["admin"], urls, "hpt", b"{}")
    assert no_target.json()["errors"][0]["field"] == "query:target"
    assert (await _load(staff["admin"], urls, "fee-schedules", b"[{not json")).status_code == 422
    empty = await _load(staff["admin"], urls, "fee-schedules", b"")
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (422, "body")

    before = await db.fetchval("SELECT count(*) FROM pricing.facilities")
    missing_column = b"npi,name,facility_type,beds,teaching,state,zip\n1003000126,X,clinic,10,none,NV,89101\n"
    refused = await _load(staff["admin"], urls, "facilities", missing_column)
    assert refused.status_code == 422
    assert "trauma_level" in refused.json()["detail"]
    all_bad = b'[{"id": "x", "name": "no jurisdiction", "professional_multiplier": "1.2"}]'
    rejected = await _load(staff["admin"], urls, "fee-schedules", all_bad)
    assert rejected.status_code == 422
    assert rejected.json()["errors"][0]["message"].startswith("jurisdiction")
    assert await db.fetchval("SELECT count(*) FROM pricing.facilities") == before
    assert await db.fetchval("SELECT count(*) FROM pricing.fee_schedules WHERE id = 'x'") == 0
    missing = await staff["supervisor"].post(
        f"{urls['pricing']}/v1/pricings/{uuid.uuid4()}/reprice", json={"reason": "why"}
    )
    assert missing.status_code == 404
