"""Batches, replacements and voids, through intake and the services downstream of it."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.stack.devstack import DevStack
from tests.helpers import (
    agree_case,
    bill,
    case_of_bill,
    line,
    negotiable_bill,
    submit_bill,
    unique,
    wait_until,
)

pytestmark = pytest.mark.e2e


async def bill_in_negotiation(
    http: httpx.AsyncClient, urls: dict[str, str], negotiator: httpx.AsyncClient
) -> tuple[dict, str, dict]:
    """A new bill above its U&C target, once negotiation has opened its case: (body, bill id, case)."""
    body = negotiable_bill()
    bill_id = (await submit_bill(http, urls, body)).json()["id"]
    return body, bill_id, await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="a case")


async def _stored(db: asyncpg.Connection, claim: str) -> int:
    return int(await db.fetchval("SELECT count(*) FROM intake.bills WHERE partner_claim_id = $1", claim))


async def test_a_batch_stores_the_good_bills_and_answers_each(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    good = [bill(client_id=client) for _ in range(3)]
    bad = bill(client_id=client)
    bad["lines"][0]["charge"] = "-1"
    rule = bill(client_id=client)
    rule["diagnoses"] = ["250.00"]  # an ICD-9 code on a current bill
    duplicate = dict(good[0])
    body = {"bills": [good[0], bad, good[1], rule, duplicate, good[2], "not a bill"]}
    response = await http.post(f"{urls['intake']}/v1/bills/batch", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["rejected"]) == (3, 4)
    outcomes = [(i["index"], i["outcome"], i["status"]) for i in result["items"]]
    assert outcomes == [
        (0, "created", 201),
        (1, "rejected", 422),
        (2, "created", 201),
        (3, "rejected", 422),
        (4, "rejected", 422),
        (5, "created", 201),
        (6, "rejected", 422),
    ]
    assert result["items"][1]["errors"][0]["field"] == "lines[0].charge"
    assert result["items"][3]["errors"][0]["field"] == "diagnoses[0]"
    assert result["items"][4]["errors"][0]["type"] == "duplicate_in_request"
    assert await _stored(db, bad["partner_claim_id"]) == 0
    assert await _stored(db, rule["partner_claim_id"]) == 0
    for body in good:
        assert await _stored(db, body["partner_claim_id"]) == 1
    again = await http.post(f"{urls['intake']}/v1/bills/batch", json={"bills": [good[1]]})
    assert again.json()["items"][0]["status"] == 409
    for raw in (b"[]", b'{"bills": []}', b"{", b'{"bills": [], "x": 1}'):
        refused = await http.post(f"{urls['intake']}/v1/bills/batch", content=raw)
        assert refused.status_code == 422, raw


async def test_a_replacement_is_the_same_bill_at_the_next_revision_and_is_priced_again(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    original = bill(lines=[line("99214", "310.00"), line("73030", "120.00")])
    created = await submit_bill(http, urls, original)
    bill_id = created.json()["id"]
    replacement = {
        **original,
        "frequency": "replacement",
        "lines": [line("99213", "200.00", modifiers=["25"])],
        "total_charge": "200.00",
    }
    replaced = await submit_bill(http, urls, replacement)
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["id"], replaced.json()["revision"]) == (bill_id, 2)

    async def priced_twice() -> bool:
        n = await db.fetchval("SELECT count(*) FROM pricing.pricings WHERE bill_id = $1", uuid.UUID(bill_id))
        return n == 2

    await wait_until(priced_twice, what="pricing of both revisions")
    events = await db.fetch(
        "SELECT body FROM intake.outbox WHERE key = $1 AND event_type = 'parley.bill.received' ORDER BY id",
        bill_id,
    )
    data = [json.loads(e["body"])["data"] for e in events]
    assert [(d["revision"], d["frequency"], d["total_charge"]) for d in data] == [
        (1, "original", "430.00"),
        (2, "replacement", "200.00"),
    ]
    full = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
    assert [x["procedure_code"] for x in full["lines"]] == ["99213"]
    assert full["lines"][0]["modifiers"] == ["25"]
    assert [r["revision"] for r in full["revisions"]] == [1, 2]
    assert [x["procedure_code"] for x in full["revisions"][0]["replaced_lines"]] == ["99214", "73030"]
    assert full["revisions"][1]["replaced_lines"] is None
    unknown = await submit_bill(http, urls, {**bill(), "frequency": "replacement"})
    assert unknown.status_code == 422


async def test_a_void_stops_the_bill_downstream(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    db: asyncpg.Connection,
    staff: dict[str, httpx.AsyncClient],
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    body, bill_id, opened = await bill_in_negotiation(http, urls, negotiator)
    assert opened["status"] == "open"
    voided = await submit_bill(http, urls, {**body, "frequency": "void"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"

    async def closed() -> dict | None:
        found = await case_of_bill(negotiator, urls, bill_id)
        return found if found and found["status"] == "closed" else None

    shut = await wait_until(closed, what="the case to close")
    assert shut["outcome"] == "voided"
    assert "voided" in shut["close_reason"]

    async def reported() -> bool:
        at = await db.fetchval(
            "SELECT voided_at FROM reporting.bill_facts WHERE bill_id = $1", uuid.UUID(bill_id)
        )
        return at is not None

    await wait_until(reported, what="reporting to record the void")

    async def closed_in_history() -> dict | None:
        shown = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
        return shown if "closed" in [h["status"] for h in shown["status_history"]] else None

    shown = await wait_until(closed_in_history, what="intake to hear of the closed case")
    assert shown["status"] == "voided"  # the case.closed that followed does not move it
    again = await submit_bill(http, urls, {**body, "frequency": "replacement"})
    assert again.status_code == 409
    assert "voided" in again.json()["detail"]


async def test_a_bill_voided_before_it_is_priced_never_opens_a_case(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, stack: DevStack
) -> None:
    """Negotiation hears of the void first (pricing is down), then of the pricing: no case opens."""
    body = bill()
    stack.stop_service("pricing")
    try:
        bill_id = uuid.UUID((await submit_bill(http, urls, body)).json()["id"])
        await submit_bill(http, urls, {**body, "frequency": "void"})

        async def void_seen() -> bool:
            return bool(
                await db.fetchval("SELECT 1 FROM negotiation.voided_bills WHERE bill_id = $1", bill_id)
            )

        await wait_until(void_seen, what="negotiation to record the void")
    finally:
        stack.start_service("pricing")
        await stack.wait_ready(["pricing"])

    async def priced_event() -> uuid.UUID | None:
        return await db.fetchval(
            "SELECT event_id FROM pricing.outbox WHERE key = $1 AND event_type = 'parley.bill.priced'",
            str(bill_id),
        )

    event_id = await wait_until(priced_event, what="the bill to be priced")

    async def handled() -> bool:
        return bool(await db.fetchval("SELECT 1 FROM negotiation.inbox WHERE event_id = $1", event_id))

    await wait_until(handled, what="negotiation to take the priced event")
    assert await db.fetchval("SELECT count(*) FROM negotiation.cases WHERE bill_id = $1", bill_id) == 0


async def test_an_agreed_bill_can_no_longer_be_replaced_or_voided(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_reference: None
) -> None:
    body, bill_id, opened = await bill_in_negotiation(http, urls, staff["negotiator"])
    agreed = await agree_case(staff["negotiator"], urls, opened["id"])
    assert agreed["status"] == "agreed"

    async def agreed() -> bool:
        shown = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
        return shown["status"] in ("agreed", "agreement_sent")

    await wait_until(agreed, what="intake to show the agreement")
    for frequency in ("replacement", "void"):
        refused = await submit_bill(http, urls, {**body, "frequency": frequency})
        assert refused.status_code == 409, frequency


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=20)
        | st.floats(allow_nan=False, allow_infinity=False),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
        max_leaves=20,
    ),
    st.sampled_from(
        ["partner_claim_id", "lines", "provider", "facility", "total_charge", "patient", "diagnoses"]
    ),
)
async def test_fuzz_json_bodies_never_cause_a_500(
    http: httpx.AsyncClient, urls: dict[str, str], junk: object, field: str
) -> None:
    body = bill()
    body[field] = junk
    for target in ("/v1/bills", "/v1/bills/batch"):
        payload = body if target == "/v1/bills" else {"bills": [body, junk]}
        response = await http.post(f"{urls['intake']}{target}", json=payload)
        assert response.status_code < 500, response.text


async def test_amounts_stay_decimal(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    body = bill(lines=[line("99213", "0.10"), line("99214", "0.20")])
    body["total_charge"] = "0.30"
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    stored = await db.fetchval(
        "SELECT total_charge FROM intake.bills WHERE id = $1", uuid.UUID(created.json()["id"])
    )
    assert stored == Decimal("0.30")
