"""One bill through all five services, as real processes over Kafka and Postgres."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.helpers import bill, execute_agreement, line, submit_bill, wait_until

pytestmark = pytest.mark.e2e


async def _json(http: httpx.AsyncClient, url: str) -> dict | None:
    response = await http.get(url)
    return response.json() if response.status_code == 200 else None


async def test_bill_is_priced_negotiated_signed_settled_and_reported(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    negotiator = staff["negotiator"]
    body = bill(lines=[line("99214", "310.00"), line("73030", "120.00"), line("87070", "45.00")])
    client_id = body["client_id"]
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]
    assert created.json()["status"] == "received"

    # pricing: real Medicare PFS amounts for FL (rest-of-state locality) × 1.40; the lab code is unpriced.
    pricing = await wait_until(
        lambda: _json(negotiator, f"{urls['pricing']}/v1/pricings/{bill_id}"), what="pricing"
    )
    lines = {ln["line_number"]: ln for ln in pricing["latest"]["lines"]}
    assert lines[1]["code"] == "99214"
    assert lines[1]["allowed"] is not None
    assert Decimal(lines[1]["allowed"]) < Decimal("310.00")
    assert "REST OF FLORIDA" in lines[1]["basis"]
    assert "1.40" in lines[1]["basis"]
    assert lines[3]["allowed"] is None
    assert "status X" in lines[3]["reason"]
    allowed = Decimal(lines[1]["allowed"]) + Decimal(lines[2]["allowed"])
    assert Decimal(pricing["latest"]["total_allowed"]) == allowed
    assert Decimal(pricing["latest"]["unpriced_billed"]) == Decimal("45.00")

    # negotiation: a case opens with the priced amount (plus unpriced lines at billed) as the offer.
    async def opened_case() -> dict | None:
        found = await _json(negotiator, f"{urls['negotiation']}/v1/cases?bill_id={bill_id}")
        return found["items"][0] if found and found["items"] else None

    case = await wait_until(opened_case, what="case")
    assert Decimal(case["opening_offer"]) == allowed + Decimal("45.00")
    assert case["status"] == "open"

    # The provider counters; the payer accepts: both sides have accepted the same amount.
    counter = (Decimal(case["opening_offer"]) + Decimal("20.00")).quantize(Decimal("0.01"))
    responses = f"{urls['negotiation']}/v1/cases/{case['id']}/responses"
    countered = await negotiator.post(
        responses, json={"party": "provider", "decision": "counter", "amount": str(counter)}
    )
    assert countered.status_code == 200, countered.text
    accepted = await negotiator.post(responses, json={"party": "payer", "decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "agreed"
    assert Decimal(accepted.json()["agreed_amount"]) == counter

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
        found = await _json(negotiator, f"{urls['negotiation']}/v1/cases/{case['id']}")
        return found if found and found["status"] == "settled" else None

    await wait_until(settled_case, what="settled case")

    async def settled_bill() -> dict | None:
        found = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
        return found if found and found["status"] == "settled" else None

    final = await wait_until(settled_bill, what="settled bill")
    history = [h["status"] for h in final["status_history"]]
    for status in ("received", "priced", "in_negotiation", "agreed", "agreement_sent", "signed", "settled"):
        assert status in history
    assert Decimal(final["agreed_amount"]) == counter

    # reporting: KPIs for this client.
    async def kpis() -> dict | None:
        found = await _json(staff["viewer"], f"{urls['reporting']}/v1/kpis?client_id={client_id}")
        return found if found and found["bills_settled"] == 1 else None

    figures = await wait_until(kpis, what="kpis")
    assert figures["bills_received"] == 1
    assert figures["bills_priced"] == 1
    assert Decimal(figures["total_billed"]) == Decimal("475.00")
    assert Decimal(figures["total_agreed"]) == counter
    assert Decimal(figures["savings"]) == Decimal("475.00") - counter
    expected_percent = ((Decimal("475.00") - counter) * 100 / Decimal("475.00")).quantize(Decimal("0.01"))
    assert Decimal(figures["savings_percent"]) == expected_percent


async def test_bill_with_no_fee_schedule_no_contract_and_no_comparable_data_is_not_negotiated(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    # WY has no fee schedule, the client no network, and no test loads observations of 97750: the U&C
    # reviews find too little data, the line stays unpriced, and nobody negotiates on a guess.
    body = bill(state="WY", zip_code="82001", lines=[line("97750", "180.00")])
    created = await submit_bill(http, urls, body)
    bill_id = created.json()["id"]

    async def stopped() -> dict | None:
        found = await _json(http, f"{urls['intake']}/v1/bills/{bill_id}")
        return found if found and found["status"] == "not_negotiated" else None

    final = await wait_until(stopped, what="not_negotiated status")
    assert "no line could be priced" in final["status_detail"]
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
