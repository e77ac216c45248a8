"""One bill through all five services, as real processes over Kafka and Postgres."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import httpx
import pytest

from tests.helpers import (
    UC_CODE,
    UC_CODE_2,
    bill,
    case_of_bill,
    execute_agreement,
    line,
    negotiable_bill,
    submit_bill,
    wait_until,
)

pytestmark = pytest.mark.e2e


async def _json(http: httpx.AsyncClient, url: str) -> dict | None:
    response = await http.get(url)
    return response.json() if response.status_code == 200 else None


async def _handled_by_intake(db: asyncpg.Connection, bill_id: str, *events: tuple[str, str]) -> None:
    """Wait until intake has handled each (schema, event type) the bill's outboxes hold."""
    announced = [
        await db.fetchval(
            f"SELECT event_id FROM {schema}.outbox WHERE key = $1 AND event_type = $2",
            bill_id,
            f"parley.{event_type}",
        )
        for schema, event_type in events
    ]
    assert None not in announced, announced

    async def handled() -> bool:
        count = await db.fetchval("SELECT count(*) FROM intake.inbox WHERE event_id = ANY($1)", announced)
        return bool(count == len(announced))

    await wait_until(handled, what=f"intake to handle {events}")


async def test_bill_priced_by_its_fee_schedule_is_repriced_without_negotiation(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], db: asyncpg.Connection
) -> None:
    negotiator = staff["negotiator"]
    body = bill(lines=[line("99214", "310.00"), line("73030", "120.00"), line("99199", "45.00")])
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]
    assert created.json()["status"] == "received"

    # pricing: real Medicare PFS amounts for the facility's ZIP (33111: MIAMI locality, from the ZIP5 file)
    # × 1.40; 99199 (unlisted, carrier-priced) is on no schedule and stays unpriced.
    pricing = await wait_until(
        lambda: _json(negotiator, f"{urls['pricing']}/v1/pricings/{bill_id}"), what="pricing"
    )
    lines = {ln["line_number"]: ln for ln in pricing["latest"]["lines"]}
    assert lines[1]["code"] == "99214"
    assert lines[1]["allowed"] is not None
    assert Decimal(lines[1]["allowed"]) < Decimal("310.00")
    assert "MIAMI" in lines[1]["basis"]
    assert "ZIP 33111 is carrier 09102 locality 04" in lines[1]["basis"]
    assert "1.40" in lines[1]["basis"]
    assert lines[3]["allowed"] is None
    assert "status C" in lines[3]["reason"]
    allowed = Decimal(lines[1]["allowed"]) + Decimal(lines[2]["allowed"])
    assert Decimal(pricing["latest"]["total_allowed"]) == allowed
    assert Decimal(pricing["latest"]["unpriced_billed"]) == Decimal("45.00")

    # negotiation: a bill priced by its fee schedule needs no negotiation: the case closes as repriced.
    repriced = await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="case")
    assert (repriced["route"], repriced["status"], repriced["outcome"]) == ("repriced", "closed", "repriced")
    assert repriced["close_reason"] == (
        f"priced by the FL fee schedule at {allowed:,.2f} plus 45.00 unpriced at billed: "
        "no negotiation needed"
    )
    assert Decimal(repriced["target"]) == allowed

    async def repriced_bill() -> dict | None:
        found = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
        return found if found and found["status"] == "repriced" else None

    assert (await wait_until(repriced_bill, what="intake to show repriced"))["priced_amount"] == f"{allowed}"
    # case.opened on the repriced route and case.closed as repriced both say "repriced": listed once.
    await _handled_by_intake(db, bill_id, ("negotiation", "case.opened"), ("negotiation", "case.closed"))
    shown = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
    assert shown is not None
    assert [h["status"] for h in shown["status_history"]] == ["received", "priced", "repriced"]


async def test_bill_above_its_uc_target_is_negotiated_confirmed_signed_settled_and_reported(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    uc_reference: None,
    db: asyncpg.Connection,
) -> None:
    negotiator = staff["negotiator"]
    # U&C targets (tests/fixtures/negotiation): 27447 → 1,000.00, 29827 → 500.00; billed 3,400.00.
    body = negotiable_bill(lines=[line(UC_CODE, "2500.00"), line(UC_CODE_2, "900.00")])
    client_id = body["client_id"]
    bill_id = (await submit_bill(http, urls, body)).json()["id"]
    case = await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="case")
    assert (case["route"], case["status"], Decimal(case["target"])) == (
        "negotiate",
        "open",
        Decimal("1500.00"),
    )
    assert Decimal(case["suggested_offer"]) == Decimal("1500.00")  # a new provider: the target itself
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"

    opening = await negotiator.post(f"{base}/offers", json={})
    assert opening.status_code == 201, opening.text
    offer = opening.json()["offers"][0]
    assert (Decimal(offer["amount"]), offer["party"], offer["status"]) == (
        Decimal("1500.00"),
        "payer",
        "open",
    )
    assert offer["basis"].startswith("opening strategy: U&C median 1,500.00;")
    # the client's default quick-pay tier: a further 5 % for payment within 10 business days
    assert offer["quick_pay"] == {"discount_percent": "5.00", "pay_within_days": 10, "amount": "1425.00"}

    # The provider counters by phone; the payer accepts (1,600.00 is within the negotiator's authority:
    # the target 1,500.00 plus 10 % = 1,650.00); both sides confirm the terms: agreed.
    countered = await negotiator.post(
        f"{base}/responses",
        json={"party": "provider", "decision": "counter", "amount": "1600.00", "contact": "Pat Lee"},
    )
    assert countered.status_code == 200, countered.text
    accepted = await negotiator.post(f"{base}/responses", json={"party": "payer", "decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["agreed_amount"]) == ("confirming", "1600.00")
    provider = await negotiator.post(
        f"{base}/confirmations", json={"party": "provider", "contact": "Pat Lee", "title": "Billing manager"}
    )
    assert provider.json()["status"] == "confirming"
    payer = await negotiator.post(f"{base}/confirmations", json={"party": "payer"})
    assert payer.status_code == 200, payer.text
    assert payer.json()["status"] == "agreed"
    counter = Decimal("1600.00")

    # agreements: drafted and sent on the agreed event; the provider signs, the payer countersigns.
    async def sent_agreement() -> dict | None:
        found = await _json(negotiator, f"{urls['agreements']}/v1/agreements?case_id={case['id']}")
        return found["items"][0] if found and found["items"] else None

    agreement = await wait_until(sent_agreement, what="agreement")
    assert agreement["status"] == "sent"
    assert Decimal(agreement["agreed_amount"]) == counter
    await execute_agreement(negotiator, urls, agreement["id"])

    # negotiation closes the case as settled; intake shows the whole lifecycle to the partner.
    async def settled_case() -> dict | None:
        found = await _json(negotiator, f"{base}")
        return found if found and found["status"] == "settled" else None

    await wait_until(settled_case, what="settled case")

    async def settled_bill() -> dict | None:
        found = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
        return found if found and found["status"] == "settled" else None

    await wait_until(settled_bill, what="settled bill")
    # agreement.executed and the settled case.closed both say "settled" (two topics, either order): it
    # was listed twice. Once intake has handled both, each change is listed once, in order.
    await _handled_by_intake(
        db, bill_id, ("negotiation", "case.closed"), ("agreements", "agreement.executed")
    )
    final = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
    assert [h["status"] for h in final["status_history"]] == [
        "received", "priced", "in_negotiation", "agreed", "agreement_sent", "signed", "settled",
    ]  # fmt: skip
    assert Decimal(final["agreed_amount"]) == counter

    # reporting: KPIs for this client, from the events the services emit (case.closed from negotiation
    # and agreement.executed from agreements reach it on two topics, in either order).
    async def kpis() -> dict | None:
        found = await _json(staff["viewer"], f"{urls['reporting']}/v1/kpis?client_id={client_id}")
        done = found and found["current"]["settled"] == 1 and found["current"]["executed"] == 1
        return found["current"] if done else None

    figures = await wait_until(kpis, what="kpis")
    assert figures["received"] == 1
    assert figures["priced"] == 1
    assert figures["cases_opened"] == 1
    assert (figures["agreed"], figures["executed"], figures["first_offer_accepted"]) == (1, 1, 0)
    assert figures["quick_pay_offered"] == 1  # the opening offer carried the client's quick-pay tier
    assert Decimal(figures["received_billed"]) == Decimal("3400.00")
    assert Decimal(figures["resolved_amount"]) == counter
    assert Decimal(figures["savings"]) == Decimal("1800.00")
    assert Decimal(figures["savings_percent"]) == Decimal("52.94")  # 1,800 / 3,400
    assert Decimal(figures["fees"]) == Decimal("0.00")  # no fee terms for this client
    assert figures["turnaround"]["received_to_agreed"]["bills"] == 1
    assert figures["turnaround"]["agreed_to_executed"]["bills"] == 1


async def test_bill_with_no_fee_schedule_no_contract_and_no_comparable_data_goes_to_review(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    # WY has no fee schedule, the client no network, and no test loads observations of 97750: the U&C
    # reviews find too little data, the line stays unpriced, and nobody negotiates on a guess: the case
    # goes to the review route for a person.
    body = bill(state="WY", zip_code="82001", lines=[line("97750", "180.00")])
    created = await submit_bill(http, urls, body)
    bill_id = created.json()["id"]

    async def in_review() -> dict | None:
        found = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
        return found if found and found["status"] == "in_negotiation" else None

    final = await wait_until(in_review, what="in_negotiation status")
    assert "review route: no line could be priced (line 1: too little data" in final["status_detail"]
    case = await case_of_bill(staff["negotiator"], urls, bill_id)
    assert case is not None
    assert (case["route"], case["status"], case["target"], Decimal(case["at_stake"])) == (
        "review",
        "open",
        None,
        Decimal("180.00"),
    )
    pricing = await _json(staff["auditor"], f"{urls['pricing']}/v1/pricings/{bill_id}")
    assert pricing is not None
    latest = pricing["latest"]
    assert latest["method"] == "usual_and_customary"
    steps = {s["step"]: s for s in latest["decision"]}
    assert "no fee schedule is loaded for jurisdiction WY" in steps["fee_schedule"]["detail"]
    assert "uses no custom network" in steps["contract"]["detail"]
    (only,) = latest["lines"]
    assert only["allowed"] is None
    assert "too little data" in only["reason"]
