"""Offers and terms on the running services: the opening strategy from a provider's history (worked by
hand), the provider database, settlement authority and approvals, both sides confirming, the
duplicate-payment block, automatic offers, and the agreement's outcomes (declined, expired, executed).

U&C targets: 27447 → 1,000.00 per unit (tests/fixtures/negotiation). Each test has its own client and
provider TIN, so a provider's history is only what the test made.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from shared.bus.kafka import make_producer
from shared.contracts import (
    AgreementDeclinedV1,
    AgreementExecutedV1,
    AgreementExpiredV1,
    Envelope,
    Payload,
    RecipientRole,
)
from shared.settings import Settings
from tests.helpers import agree_case, case_of_bill, negotiable_bill, new_tin, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e


async def opened(
    http: httpx.AsyncClient, urls: dict[str, str], negotiator: httpx.AsyncClient, body: dict
) -> dict:
    bill_id = (await submit_bill(http, urls, body)).json()["id"]
    return await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="a case")


async def events_of(db: asyncpg.Connection, bill_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT body FROM negotiation.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        bill_id,
        f"parley.{event_type}",
    )
    return [json.loads(r["body"])["data"] for r in rows]


async def publish(settings: Settings, payload: Payload, bill_id: str) -> None:
    """An agreements event, as the agreements service (issue 9) will emit it."""
    envelope = Envelope.wrap(payload, source="/parley/agreements", subject=bill_id)
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(payload.topic.value, value=envelope.to_bytes(), key=bill_id.encode())
    finally:
        await producer.stop()


async def test_the_opening_follows_the_providers_history_within_the_clients_limits(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_reference: None
) -> None:
    negotiator = staff["negotiator"]
    client, tin = unique("history"), new_tin()
    # Three bills of 2,500.00 (target 1,000.00) agreed at 950.00, 900.00 and 920.00: shares of the
    # target 0.95, 0.90, 0.92 (median 0.92); of billed 38 %, 36 %, 36.8 %.
    for amount in ("950.00", "900.00", "920.00"):
        case = await opened(http, urls, negotiator, negotiable_bill(client_id=client, tin=tin))
        assert Decimal(case["suggested_offer"]) == Decimal("1000.00")  # fewer than 3 payments: the target
        assert (await agree_case(negotiator, urls, case["id"], amount=amount))["status"] == "agreed"

    fourth = await opened(http, urls, negotiator, negotiable_bill(client_id=client, tin=tin))
    assert Decimal(fourth["suggested_offer"]) == Decimal("920.00")  # 92 % of 1,000.00, within 90–110 %
    assert fourth["suggested_basis"] == (
        "U&C median 1,000.00; provider accepted 36–38% of billed on 3 prior bill(s), a median 92% of the "
        "target on 3; 92% of 1,000.00 = 920.00"
    )
    offer = (await negotiator.post(f"{urls['negotiation']}/v1/cases/{fourth['id']}/offers", json={})).json()
    assert offer["offers"][0]["basis"] == f"opening strategy: {fourth['suggested_basis']}"
    assert offer["offers"][0]["statement_sha256"] == fourth["statement_sha256"]

    # A client whose floor is 95 % opens the same provider's next bill at 950.00.
    strict = await staff["admin"].put(
        f"{urls['negotiation']}/v1/clients/{client}/settings",
        json={"strategy": {"floor_percent_of_target": "95"}},
    )
    assert strict.status_code == 200, strict.text
    fifth = await opened(http, urls, negotiator, negotiable_bill(client_id=client, tin=tin))
    assert Decimal(fifth["suggested_offer"]) == Decimal("950.00")
    assert "held to" in fifth["suggested_basis"]
    assert "floor of 95% of the target" in fifth["suggested_basis"]

    # The provider database: built from the bills, the pricings and the agreements, nothing typed twice.
    provider = (await staff["auditor"].get(f"{urls['negotiation']}/v1/providers/{tin}")).json()
    assert provider["name"] == "Ben Kildare Service"
    assert [(n["npi"], n["kind"]) for n in provider["npis"]] == [("1912301953", "billing")]
    assert [
        (c["code"], c["lines"], c["median_billed"], c["median_uc_target"]) for c in provider["codes"]
    ] == [("27447", 5, "2500.00", "1000.00")]
    payments = [(p["amount"], p["share_of_billed"], p["share_of_target"]) for p in provider["payments"]]
    assert payments == [
        ("920.00", "0.3680", "0.9200"),
        ("900.00", "0.3600", "0.9000"),
        ("950.00", "0.3800", "0.9500"),
    ]
    assert all(p["quick_pay_taken"] and p["first_offer_accepted"] for p in provider["payments"])
    assert provider["summary"] == {
        "cases": 5,
        "cases_open": 2,
        "cases_agreed": 3,
        "payer_offers_resolved": 3,
        "payer_offers_accepted": 3,
        "acceptance_rate": "100.0",
        "median_share_of_billed": "36.8",
        "median_share_of_target": "92.0",
        "median_days_to_agree": "0",
        "quick_pay_rate": "100.0",
    }
    assert [c["name"] for c in provider["contacts"]] == ["Pat Lee"]  # named when confirming the terms

    # Contacts and notes are the negotiators' to edit; an auditor reads them only.
    contacts = f"{urls['negotiation']}/v1/providers/{tin}/contacts"
    added = await negotiator.post(contacts, json={"name": "Sam Ortiz", "role": "CFO", "phone": "555-0100"})
    assert added.status_code == 201, added.text
    sam = next(c for c in added.json()["contacts"] if c["name"] == "Sam Ortiz")
    changed = await negotiator.put(
        f"{contacts}/{sam['id']}", json={"name": "Sam Ortiz", "role": "CFO", "active": False}
    )
    assert next(c for c in changed.json()["contacts"] if c["id"] == sam["id"])["active"] is False
    note = await negotiator.post(
        f"{urls['negotiation']}/v1/providers/{tin}/notes",
        json={"text": "prefers fax", "case_id": fourth["id"]},
    )
    assert [(n["author"], n["text"]) for n in note.json()["notes"]] == [
        ("negotiator@staff.test", "prefers fax")
    ]
    assert (await staff["auditor"].post(contacts, json={"name": "X"})).status_code == 403
    assert (await negotiator.get(f"{urls['negotiation']}/v1/providers/{new_tin()}")).status_code == 404


async def test_nothing_beyond_authority_is_sent_or_accepted_before_a_supervisors_approval(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    negotiator, supervisor = staff["negotiator"], staff["supervisor"]
    case = await opened(http, urls, negotiator, negotiable_bill())
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    # Default authority on 2,500.00 billed, target 1,000.00: min(80 % of billed = 2,000.00, target + 10 %
    # = 1,100.00, 25,000.00) = 1,100.00.
    refused = await negotiator.post(f"{base}/offers", json={"amount": "1200.00"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "offer of 1,200.00 is beyond a negotiator's authority: at most 1,100.00 (the target 1,000.00 plus "
        f"10%); request a supervisor's approval: POST /v1/cases/{case['id']}/approvals"
    )
    assert (await negotiator.get(base)).json()["offers"] == []

    approvals = f"{base}/approvals"
    within = await negotiator.post(
        approvals, json={"action": "offer", "amount": "1000.00", "reason": "x" * 5}
    )
    assert within.status_code == 422
    asked = await negotiator.post(
        approvals, json={"action": "offer", "amount": "1200.00", "reason": "ER visit"}
    )
    assert asked.status_code == 201, asked.text
    (pending,) = asked.json()["approvals"]
    assert (pending["status"], pending["limit_amount"], pending["rule"]) == (
        "pending",
        "1100.00",
        "the target 1,000.00 plus 10%",
    )
    twice = await negotiator.post(approvals, json={"action": "offer", "amount": "1200.00", "reason": "again"})
    assert twice.status_code == 409
    waiting = await negotiator.post(f"{base}/offers", json={"amount": "1200.00"})
    assert waiting.status_code == 403
    assert "a supervisor's decision on the pending request is needed first" in waiting.json()["detail"]
    queue = (await supervisor.get(f"{urls['negotiation']}/v1/approvals")).json()["items"]
    assert pending["id"] in [a["id"] for a in queue]
    assert (await negotiator.get(f"{urls['negotiation']}/v1/queues/approvals")).json()["total"] >= 1

    decision = f"{approvals}/{pending['id']}/decision"
    assert (
        await negotiator.post(decision, json={"approve": True, "reason": "looks right"})
    ).status_code == 403
    denied = await supervisor.post(decision, json={"approve": False, "reason": "stay at the target"})
    assert denied.json()["approvals"][0]["status"] == "denied"
    assert (
        await supervisor.post(decision, json={"approve": True, "reason": "changed my mind"})
    ).status_code == 409
    assert (await negotiator.post(f"{base}/offers", json={"amount": "1200.00"})).status_code == 403

    second = await negotiator.post(approvals, json={"action": "offer", "amount": "1250.00", "reason": "call"})
    approval = second.json()["approvals"][-1]
    ok = await supervisor.post(
        f"{approvals}/{approval['id']}/decision", json={"approve": True, "reason": "fine"}
    )
    assert ok.json()["approvals"][-1]["status"] == "approved"
    assert (await negotiator.post(f"{base}/offers", json={"amount": "1300.00"})).status_code == 403
    sent = await negotiator.post(f"{base}/offers", json={"amount": "1200.00"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["offers"][0]["basis"].endswith("; approved by supervisor@staff.test: fine")
    assert sent.json()["approvals"][-1]["status"] == "used"
    assert sent.json()["approvals"][-1]["used_by"] == "negotiator@staff.test"
    # Deciding it again: the 409 names who used it (it named the approving supervisor as the user).
    used_on = sent.json()["approvals"][-1]["used_at"][:10]
    late = await supervisor.post(
        f"{approvals}/{approval['id']}/decision", json={"approve": False, "reason": "too late"}
    )
    assert late.status_code == 409
    assert late.json()["detail"] == (
        f"approval {approval['id']} was already used by negotiator@staff.test on {used_on} "
        "(approved by supervisor@staff.test)"
    )
    assert (
        await negotiator.post(f"{base}/offers", json={"amount": "1150.00"})
    ).status_code == 403  # used once

    # Accepting the provider's counter beyond authority needs its own approval; nobody decides their own.
    counter = {"party": "provider", "decision": "counter", "amount": "1400.00", "contact": "Pat Lee"}
    assert (await negotiator.post(f"{base}/responses", json=counter)).status_code == 200
    accept = {"party": "payer", "decision": "accept"}
    assert (await negotiator.post(f"{base}/responses", json=accept)).status_code == 403
    own = await staff["supervisor2"].post(
        approvals, json={"action": "accept", "amount": "1400.00", "reason": "looks right"}
    )
    own_id = own.json()["approvals"][-1]["id"]
    mine = await staff["supervisor2"].post(
        f"{approvals}/{own_id}/decision", json={"approve": True, "reason": "looks right"}
    )
    assert mine.status_code == 403
    await supervisor.post(f"{approvals}/{own_id}/decision", json={"approve": True, "reason": "worth closing"})
    accepted = await negotiator.post(f"{base}/responses", json=accept)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["agreed_amount"]) == ("confirming", "1400.00")

    requested = await events_of(db, case["bill_id"], "case.approval_requested")
    decided = await events_of(db, case["bill_id"], "case.approval_decided")
    assert [(e["amount"], e["requested_by"]) for e in requested] == [
        ("1200.00", "negotiator@staff.test"),
        ("1250.00", "negotiator@staff.test"),
        ("1400.00", "supervisor2@staff.test"),
    ]
    assert [(e["approved"], e["decided_by"], e["reason"]) for e in decided] == [
        (False, "supervisor@staff.test", "stay at the target"),
        (True, "supervisor@staff.test", "fine"),
        (True, "supervisor@staff.test", "worth closing"),
    ]


async def test_both_sides_confirm_before_agreement_and_a_duplicate_payment_is_blocked(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    client, tin = unique("confirm"), new_tin()
    countersigner = {"name": "Riley Chen", "email": "riley@acme.example", "title": "Claims director"}
    settings = {"payment_terms_days": 45, "countersigner": countersigner}
    assert (
        await staff["admin"].put(f"{urls['negotiation']}/v1/clients/{client}/settings", json=settings)
    ).is_success
    patient = {
        "first_name": "Ted",
        "last_name": "Smith",
        "birth_date": "1973-05-01",
        "member_id": unique("M"),
    }
    first_body = negotiable_bill(client_id=client, tin=tin, patient=patient)
    first = await opened(http, urls, negotiator, first_body)
    base = f"{urls['negotiation']}/v1/cases/{first['id']}"
    await negotiator.post(f"{base}/offers", json={})
    accepted = await negotiator.post(
        f"{base}/responses", json={"party": "provider", "decision": "accept", "contact": "Pat Lee"}
    )
    assert accepted.json()["status"] == "confirming"  # agreement in principle is not agreement
    assert await events_of(db, first["bill_id"], "case.agreed") == []
    nameless = await negotiator.post(f"{base}/confirmations", json={"party": "provider"})
    assert nameless.status_code == 422
    provider = await negotiator.post(
        f"{base}/confirmations", json={"party": "provider", "contact": "Pat Lee", "title": "Billing manager"}
    )
    assert provider.json()["status"] == "confirming"
    assert (
        await negotiator.post(f"{base}/confirmations", json={"party": "provider", "contact": "Pat"})
    ).status_code == 409
    payer = await negotiator.post(f"{base}/confirmations", json={"party": "payer"})
    assert payer.json()["status"] == "agreed"
    assert payer.json()["terms"] == {
        "pay_within_days": 45,
        "quick_pay": {"discount_percent": "5.00", "pay_within_days": 10, "amount": "950.00"},
    }
    confirmed = await events_of(db, first["bill_id"], "case.terms_confirmed")
    assert [(e["party"], e["confirmed_by"], e["via"]) for e in confirmed] == [
        ("provider", "Pat Lee", "recorded"),
        ("payer", "negotiator@staff.test", "recorded"),
    ]
    (agreed,) = await events_of(db, first["bill_id"], "case.agreed")
    service_date = first_body["lines"][0]["service_date"]
    assert {
        k: agreed[k] for k in ("partner_claim_id", "service_from", "service_to", "jurisdiction", "method")
    } == {
        "partner_claim_id": first_body["partner_claim_id"],
        "service_from": service_date,
        "service_to": service_date,
        "jurisdiction": "WY",
        "method": "usual_and_customary",
    }
    assert agreed["patient"] == patient
    assert (agreed["billed"], agreed["target"], agreed["agreed_amount"]) == ("2500.00", "1000.00", "1000.00")
    assert agreed["terms"] == payer.json()["terms"]
    assert agreed["provider_signer"] == {
        "name": "Pat Lee",
        "email": None,
        "title": "Billing manager",
        "user_id": None,
    }
    assert agreed["payer_signer"] == {**countersigner, "user_id": None}
    assert (agreed["provider_confirmed_by"], agreed["payer_confirmed_by"]) == (
        "Pat Lee",
        "negotiator@staff.test",
    )
    assert (agreed["first_offer_accepted"], agreed["offers"], agreed["statement_sha256"]) == (
        True,
        1,
        first["statement_sha256"],
    )

    # The same provider, patient and dates of service on another claim: blocked, with the reason.
    second = await opened(http, urls, negotiator, negotiable_bill(client_id=client, tin=tin, patient=patient))
    blocked = await agree_case(negotiator, urls, second["id"])
    assert blocked["status"] == "confirming"
    assert blocked["blocked_reason"] == (
        f"possible duplicate payment: case {first['id']} (bill {first['bill_id']}) for the same provider, "
        "patient and dates of service was agreed at 1,000.00"
    )
    assert await events_of(db, second["bill_id"], "case.agreed") == []
    retry = f"{urls['negotiation']}/v1/cases/{second['id']}/agreement"
    assert (await negotiator.post(retry, json={})).json()["blocked_reason"] == blocked["blocked_reason"]
    override = {"duplicate_override": "separate visits that day, per the operative notes"}
    assert (await negotiator.post(retry, json=override)).status_code == 403
    overridden = await staff["supervisor"].post(retry, json=override)
    assert overridden.json()["status"] == "agreed"
    assert len(await events_of(db, second["bill_id"], "case.agreed")) == 1


async def test_small_bills_are_offered_automatically_within_authority(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_reference: None
) -> None:
    negotiator, admin = staff["negotiator"], staff["admin"]
    auto, capped = unique("auto"), unique("capped")
    await admin.put(
        f"{urls['negotiation']}/v1/clients/{auto}/settings", json={"auto_offer_ceiling": "3000.00"}
    )
    await admin.put(
        f"{urls['negotiation']}/v1/clients/{capped}/settings",
        json={"auto_offer_ceiling": "3000.00", "authority": {"max_amount": "500.00"}},
    )

    async def offered(bill_id: str) -> dict | None:
        found = await case_of_bill(negotiator, urls, bill_id)
        return found if found and found["offers"] else None

    bill_id = (await submit_bill(http, urls, negotiable_bill(client_id=auto))).json()["id"]
    case = await wait_until(lambda: offered(bill_id), what="the automatic offer")
    (offer,) = case["offers"]
    assert (offer["amount"], offer["made_by"], offer["automatic"]) == ("1000.00", "parley", True)
    assert offer["basis"].startswith(
        f"offered automatically (billed 2,500.00 is at or under {auto}'s ceiling of 3,000.00 for automatic "
        "offers): U&C median 1,000.00;"
    )
    assert case["opening_offer"] == "1000.00"

    none = await opened(http, urls, negotiator, negotiable_bill(client_id=capped))
    assert none["offers"] == []
    assert none["attention"] == (
        "no automatic offer: the opening 1,000.00 is beyond a negotiator's authority (the absolute limit of "
        "500.00)"
    )


async def test_a_declined_signature_reopens_the_case_an_expired_one_flags_it_executed_settles_it(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    settings: Settings,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    client, tin = unique("signing"), new_tin()
    case = await opened(http, urls, negotiator, negotiable_bill(client_id=client, tin=tin))
    await agree_case(negotiator, urls, case["id"])
    bill_id, base = case["bill_id"], f"{urls['negotiation']}/v1/cases/{case['id']}"

    async def bill_status(status: str) -> dict | None:
        found = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
        return found if found["status"] == status else None

    await wait_until(lambda: bill_status("agreement_sent"), what="today's agreements service to send it")
    now = datetime.now(UTC)
    ids = {"agreement_id": uuid.uuid4(), "case_id": uuid.UUID(case["id"]), "bill_id": uuid.UUID(bill_id)}
    declined = AgreementDeclinedV1(
        **ids, client_id=client, role=RecipientRole.provider, signer_name="Pat Lee",
        reason="the amount is not what we agreed", declined_at=now,
    )  # fmt: skip
    await publish(settings, declined, bill_id)

    async def reopened() -> dict | None:
        found = (await negotiator.get(base)).json()
        return found if found["status"] == "open" else None

    back = await wait_until(reopened, what="the case to reopen")
    assert back["attention"] == (
        f"back in negotiation: Pat Lee declined to sign agreement {ids['agreement_id']}: the amount is not "
        "what we agreed"
    )
    assert back["agreed_amount"] is None
    assert all(not c["current"] for c in back["confirmations"])
    shown = await wait_until(lambda: bill_status("in_negotiation"), what="intake to follow the reopen")
    assert shown["status_detail"].startswith("back in negotiation: Pat Lee declined to sign")
    assert [h["status"] for h in shown["status_history"]][-3:] == [
        "agreed",
        "agreement_sent",
        "in_negotiation",
    ]
    summary = (await negotiator.get(f"{urls['negotiation']}/v1/providers/{tin}")).json()["summary"]
    assert summary["cases_agreed"] == 0  # the withdrawn payment is no longer history

    # The negotiator answers with a new offer; the provider takes it; both confirm again.
    again = await agree_case(negotiator, urls, case["id"], amount="1050.00")
    assert (again["status"], again["agreed_amount"]) == ("agreed", "1050.00")

    expired = AgreementExpiredV1(
        **ids, client_id=client, waiting_for=RecipientRole.provider, expired_at=datetime.now(UTC)
    )
    await publish(settings, expired, bill_id)

    async def flagged() -> dict | None:
        found = (await negotiator.get(base)).json()
        return found if found["attention"] and "expired unsigned" in found["attention"] else None

    assert (await wait_until(flagged, what="the expiry flag"))["status"] == "agreed"

    executed = AgreementExecutedV1(
        **ids, client_id=client, agreed_amount=Decimal("1050.00"), document_sha256="a" * 64,
        executed_sha256="b" * 64, provider_signer="Pat Lee", countersigner="Riley Chen",
        executed_at=datetime.now(UTC),
    )  # fmt: skip
    await publish(settings, executed, bill_id)

    async def settled() -> dict | None:
        found = (await negotiator.get(base)).json()
        return found if found["status"] == "settled" else None

    final = await wait_until(settled, what="settlement on the executed agreement")
    assert (final["outcome"], final["attention"]) == ("settled", None)
    assert "countersigned by Riley Chen" in final["close_reason"]
    shown = await wait_until(lambda: bill_status("settled"), what="intake to show settled")
    assert shown["agreed_amount"] == "1050.00"
    payments = (await negotiator.get(f"{urls['negotiation']}/v1/providers/{tin}")).json()["payments"]
    assert [(p["amount"], p["settled_at"] is not None) for p in payments] == [("1050.00", True)]
