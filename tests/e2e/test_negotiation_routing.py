"""Routing, re-routing, revision of an open case, work queues and assignment, on the running services.

U&C targets come from tests/fixtures/negotiation (27447 → 1,000.00 per unit, 29827 → 500.00); every test
uses its own client and provider TIN.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import (
    UC_CODE,
    UC_CODE_2,
    UserMaker,
    agree_case,
    bill,
    case_of_bill,
    line,
    negotiable_bill,
    new_tin,
    submit_bill,
    unique,
    wait_until,
)

pytestmark = pytest.mark.e2e


async def opened(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], body: dict
) -> dict:
    bill_id = (await submit_bill(http, urls, body)).json()["id"]
    return await wait_until(lambda: case_of_bill(staff["negotiator"], urls, bill_id), what="a case")


async def events_of(db: asyncpg.Connection, bill_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT body FROM negotiation.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        bill_id,
        f"parley.{event_type}",
    )
    return [json.loads(r["body"])["data"] for r in rows]


async def test_audit_findings_above_the_clients_threshold_route_to_audit(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_reference: None
) -> None:
    # Two identical lines of 27447: line 2 is a duplicate_line finding with 2,500.00 at stake.
    lines = [line(UC_CODE, "2500.00"), line(UC_CODE, "2500.00")]
    case = await opened(http, urls, staff, negotiable_bill(lines=lines))
    assert (case["route"], Decimal(case["findings_at_stake"]), Decimal(case["at_stake"])) == (
        "audit",
        Decimal("2500.00"),
        Decimal("2500.00"),
    )
    assert "duplicate_line 2,500.00 on line 2" in case["route_reason"]
    assert "above" in case["route_reason"]
    assert "threshold of 100.00" in case["route_reason"]
    duplicate = [f for f in case["evidence"]["findings"] if f["rule"] == "duplicate_line"]
    assert [(f["line_number"], f["amount_at_stake"], f["error"]) for f in duplicate] == [(2, "2500.00", True)]

    # A client whose threshold is higher negotiates the same bill (its settings, set by an admin).
    client = unique("lenient")
    put = await staff["admin"].put(
        f"{urls['negotiation']}/v1/clients/{client}/settings", json={"audit_threshold": "5000.00"}
    )
    assert put.status_code == 200, put.text
    assert put.json()["overrides"] == {"audit_threshold": "5000.00"}
    assert put.json()["settings"]["offer_validity_days"] == 10  # the default, for what it did not set
    forbidden = await staff["negotiator"].put(f"{urls['negotiation']}/v1/clients/{client}/settings", json={})
    assert forbidden.status_code == 403
    lenient = await opened(http, urls, staff, negotiable_bill(client_id=client, lines=lines))
    assert lenient["route"] == "negotiate"
    assert Decimal(lenient["target"]) == Decimal("2000.00")


async def test_a_bill_at_or_under_its_target_opens_no_case(
    http: httpx.AsyncClient, urls: dict[str, str], uc_reference: None
) -> None:
    bill_id = (await submit_bill(http, urls, negotiable_bill(lines=[line(UC_CODE, "900.00")]))).json()["id"]

    async def decided() -> dict | None:
        found = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
        return found if found["status"] == "not_negotiated" else None

    shown = await wait_until(decided, what="not_negotiated")
    assert shown["status_detail"] == "billed 900.00 is not above the U&C target 900.00; nothing to negotiate"


async def test_a_supervisor_reroutes_with_a_reason(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    case = await opened(http, urls, staff, negotiable_bill())
    route = f"{urls['negotiation']}/v1/cases/{case['id']}/route"
    body = {"route": "audit", "reason": "the operative report does not support the knee"}
    assert (await staff["negotiator"].post(route, json=body)).status_code == 403
    moved = await staff["supervisor"].post(route, json=body)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["route"], moved.json()["route_reason"]) == ("audit", body["reason"])
    again = await staff["supervisor"].post(route, json=body)
    assert again.status_code == 409
    assert (await staff["supervisor"].post(route, json={**body, "route": "repriced"})).status_code == 422
    (routed,) = await events_of(db, case["bill_id"], "case.routed")
    assert (routed["route"], routed["previous_route"], routed["routed_by"]) == (
        "audit",
        "negotiate",
        "supervisor@staff.test",
    )
    detail = (await staff["auditor"].get(f"{urls['negotiation']}/v1/cases/{case['id']}")).json()
    assert [(h["kind"], h["actor"]) for h in detail["history"]][-1] == ("routed", "supervisor@staff.test")
    assert detail["suggested_offer"] is None  # the strategy's opening is for the negotiate route


async def test_a_replacement_re_priced_while_open_revises_the_case_and_flags_the_offer_out(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    body = negotiable_bill()
    case = await opened(http, urls, staff, body)
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    offer = (await negotiator.post(f"{base}/offers", json={})).json()["offers"][0]
    assert Decimal(offer["amount"]) == Decimal("1000.00")

    # The partner replaces the claim: 27447 at 3,000.00 and 29827 at 900.00 → target 1,500.00.
    replacement = {
        **body,
        "frequency": "replacement",
        "lines": [line(UC_CODE, "3000.00"), line(UC_CODE_2, "900.00")],
        "total_charge": "3900.00",
    }
    assert (await submit_bill(http, urls, replacement)).status_code == 200

    async def revised() -> dict | None:
        found = (await negotiator.get(base)).json()
        return found if found["pricing_revision"] == 2 else None

    now = await wait_until(revised, what="the case to be revised")
    assert (Decimal(now["billed"]), Decimal(now["target"]), now["status"]) == (
        Decimal("3900.00"),
        Decimal("1500.00"),
        "open",
    )
    assert Decimal(now["suggested_offer"]) == Decimal("1500.00")
    (out,) = now["offers"]
    assert (Decimal(out["amount"]), out["status"], out["pricing_revision"]) == (Decimal("1000.00"), "open", 1)
    assert out["flagged"] == (
        "made on pricing revision 1; the bill was re-priced (revision 2, replacement claim, revision 2): "
        "target 1,000.00 → 1,500.00"
    )
    (event,) = await events_of(db, case["bill_id"], "case.revised")
    assert (event["previous_target"], event["target"], event["flagged_offer_id"]) == (
        "1000.00",
        "1500.00",
        out["id"],
    )
    assert [h["kind"] for h in now["history"]].count("revised") == 1

    # After agreement a re-pricing is refused: recorded, nothing changes.
    agreed = await agree_case(negotiator, urls, case["id"], amount="1400.00")
    assert agreed["status"] == "agreed"
    reprice = await staff["supervisor"].post(
        f"{urls['pricing']}/v1/pricings/{case['bill_id']}/reprice", json={"reason": "new reference data"}
    )
    assert reprice.status_code == 201, reprice.text

    # The agreements service sends the agreement meanwhile: its "agreement_sent" may come before or after.
    async def refused() -> tuple[dict, dict] | None:
        found = (await negotiator.get(base)).json()
        entry = next((h for h in found["history"] if h["kind"] == "revision_refused"), None)
        return (found, entry) if entry else None

    final, entry = await wait_until(refused, what="the re-pricing to be refused")
    assert (final["status"], final["pricing_revision"], final["agreed_amount"]) == ("agreed", 2, "1400.00")
    assert "pricing revision 3 arrived after the case was agreed; not applied" in entry["detail"]


async def test_a_repriced_bill_replaced_into_negotiation_reopens_its_case(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    body = bill()  # FL: priced by the fee schedule, repriced at once
    case = await opened(http, urls, staff, body)
    assert (case["route"], case["status"], case["outcome"]) == ("repriced", "closed", "repriced")

    async def bill_status(status: str) -> dict | None:
        found = (await http.get(f"{urls['intake']}/v1/bills/{case['bill_id']}")).json()
        return found if found["status"] == status else None

    await wait_until(lambda: bill_status("repriced"), what="intake to show repriced")
    # The partner replaces the claim with one from WY, above its U&C target: the case reopens to negotiate.
    replacement = {
        **negotiable_bill(tin=body["provider"]["tin"]),
        "partner_claim_id": body["partner_claim_id"],
        "client_id": body["client_id"],
        "frequency": "replacement",
    }
    assert (await submit_bill(http, urls, replacement)).status_code == 200

    async def reopened() -> dict | None:
        found = (await negotiator.get(f"{urls['negotiation']}/v1/cases/{case['id']}")).json()
        return found if found["status"] == "open" else None

    now = await wait_until(reopened, what="the case to reopen")
    assert (now["route"], now["outcome"], Decimal(now["target"])) == ("negotiate", None, Decimal("1000.00"))
    assert [e["route"] for e in await events_of(db, case["bill_id"], "case.routed")] == ["negotiate"]
    (event,) = await events_of(db, case["bill_id"], "case.reopened")
    assert "re-priced (revision 2" in event["reason"]
    shown = await wait_until(lambda: bill_status("in_negotiation"), what="intake to follow the reopen")
    assert shown["status_detail"].startswith("back in negotiation: the bill was re-priced")


async def test_queues_order_by_priority_filter_page_and_record_assignments(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
    make_user: UserMaker,
) -> None:
    client, tin = unique("queue"), new_tin()
    # At stake (billed − target 1,000.00): 1,500.00, 4,000.00 and 500.00.
    small, big, medium = [
        await opened(http, urls, staff, negotiable_bill(client_id=client, tin=tin, lines=[line(UC_CODE, c)]))
        for c in ("1500.00", "5000.00", "2500.00")
    ]
    negotiate = f"{urls['negotiation']}/v1/queues/negotiate"

    async def queue(**params: Any) -> dict:
        response = await staff["negotiator"].get(negotiate, params={"client_id": client, **params})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    ordered = await queue()
    assert ordered["total"] == 3
    assert [c["id"] for c in ordered["items"]] == [big["id"], medium["id"], small["id"]]
    for item, at_stake in zip(ordered["items"], ("4000.00", "1500.00", "500.00"), strict=True):
        # a case opened seconds ago: age adds well under a cent per thousand dollars
        assert Decimal(at_stake) <= Decimal(item["priority"]) < Decimal(at_stake) + Decimal("0.10")

    # A deadline that has passed triples the priority: an offer on the small case reaches its first
    # follow-up (its job's due time moved to now, as three business days passing would) and is unanswered.
    offer = await staff["negotiator"].post(f"{urls['negotiation']}/v1/cases/{small['id']}/offers", json={})
    offer_id = offer.json()["offers"][0]["id"]
    moved_job = await db.execute(
        "UPDATE negotiation.scheduled_jobs SET due_at = now() WHERE kind = 'offer.follow_up' AND key = $1",
        f"{offer_id}:3",
    )
    assert moved_job == "UPDATE 1"

    async def tripled() -> dict | None:
        items = (await queue())["items"]
        return items if items[1]["id"] == small["id"] else None

    items = await wait_until(tripled, what="the overdue case to rise")
    assert Decimal("1500.00") <= Decimal(items[1]["priority"]) < Decimal("1500.10")  # 500.00 × 3
    assert items[1]["follow_up_due_at"] is not None

    page_one, page_two = await queue(limit=2), await queue(limit=2, offset=2)
    assert [len(page_one["items"]), len(page_two["items"]), page_two["total"]] == [2, 1, 3]
    assert (await queue(min_billed="2000.00", max_billed="3000.00"))["items"][0]["id"] == medium["id"]
    assert (await queue(state="WY", provider_tin=tin))["total"] == 3
    assert (await queue(state="FL"))["total"] == 0
    assert (await queue(age="0-30"))["total"] == 3
    assert (await queue(age="31-60"))["total"] == 0

    # Assignment: take a case, nobody else takes it, a supervisor reassigns it; each is recorded.
    assign = f"{urls['negotiation']}/v1/cases/{big['id']}/assignment"
    took = await staff["negotiator"].post(assign, json={"assignee": "negotiator@staff.test"})
    assert took.json()["assignee"] == "negotiator@staff.test"
    taken = await staff["negotiator2"].post(assign, json={"assignee": "negotiator2@staff.test"})
    assert taken.status_code == 409
    assert "assigned to negotiator@staff.test" in taken.json()["detail"]
    others = await staff["negotiator"].post(
        f"{urls['negotiation']}/v1/cases/{medium['id']}/assignment",
        json={"assignee": "negotiator2@staff.test"},
    )
    assert others.status_code == 409  # a negotiator takes cases for themselves only
    # Only a known user who may work the client's cases can be assigned (any string was stored).
    elsewhere = f"{unique('neg')}@other.test"
    await make_user(["negotiator"], [unique("other-client")], elsewhere)
    for assignee, kind, message in (
        (
            "🙂" * 300,
            "unknown_user",
            "no such user is known here (users are made with `parley users create`)",
        ),
        ("viewer@staff.test", "cannot_work", "user viewer@staff.test is not a negotiator or supervisor"),
        (elsewhere, "cannot_work", f"user {elsewhere} does not serve client {client}"),
    ):
        refused = await staff["supervisor"].post(assign, json={"assignee": assignee})
        assert refused.status_code == 422, (assignee, refused.text)
        assert refused.json()["errors"] == [{"field": "assignee", "message": message, "type": kind}]
    assert (await staff["supervisor"].post(assign, json={"assignee": "x" * 321})).status_code == 422
    assert (await staff["negotiator"].get(f"{urls['negotiation']}/v1/cases/{big['id']}")).json()[
        "assignee"
    ] == "negotiator@staff.test"
    moved = await staff["supervisor"].post(assign, json={"assignee": "negotiator2@staff.test"})
    assert moved.json()["assignee"] == "negotiator2@staff.test"
    assert [c["id"] for c in (await queue(assignee="negotiator2@staff.test"))["items"]] == [big["id"]]
    assert (await queue(assignee="none"))["total"] == 2
    assigned = await events_of(db, big["bill_id"], "case.assigned")
    assert [(e["assignee"], e["previous_assignee"], e["assigned_by"]) for e in assigned] == [
        ("negotiator@staff.test", None, "negotiator@staff.test"),
        ("negotiator2@staff.test", "negotiator@staff.test", "supervisor@staff.test"),
    ]

    overview = await staff["viewer"].get(f"{urls['negotiation']}/v1/queues", params={"client_id": client})
    assert overview.status_code == 403  # a viewer sees KPIs, not cases
    figures = {
        q["name"]: q
        for q in (
            await staff["auditor"].get(f"{urls['negotiation']}/v1/queues", params={"client_id": client})
        ).json()["items"]
    }
    assert (figures["negotiate"]["cases"], figures["negotiate"]["unassigned"]) == (3, 2)
    assert Decimal(figures["negotiate"]["at_stake"]) == Decimal("6000.00")
    assert figures["follow_ups"]["cases"] == 1
