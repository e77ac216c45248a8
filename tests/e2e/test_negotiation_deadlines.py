"""Deadlines on the running services: offer expiry and follow-ups as scheduled jobs that survive a
restart, and the No Surprises Act clock in business days over federal holidays.

Waiting ten business days is not a test, so a test moves a job's due time to now (as the days passing
would) while the service is stopped, then starts it: the job is a row in Postgres, so the restarted
service finds it and runs it once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from services.negotiation.deadlines import EASTERN, offer_expiry
from shared.stack.devstack import DevStack
from tests.helpers import agree_case, case_of_bill, negotiable_bill, submit_bill, wait_until

pytestmark = pytest.mark.e2e


async def opened(http: httpx.AsyncClient, urls: dict[str, str], negotiator: httpx.AsyncClient) -> dict:
    bill_id = (await submit_bill(http, urls, negotiable_bill())).json()["id"]
    return await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="a case")


async def events_of(db: asyncpg.Connection, bill_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT body FROM negotiation.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        bill_id,
        f"parley.{event_type}",
    )
    return [json.loads(r["body"])["data"] for r in rows]


async def restart_with(stack: DevStack, db: asyncpg.Connection, moves: list[tuple[str, str, int]]) -> None:
    """Stop negotiation, make jobs (kind, key) due that many seconds ago, start it again."""
    stack.stop_service("negotiation")
    try:
        for kind, key, ago in moves:
            moved = await db.execute(
                "UPDATE negotiation.scheduled_jobs SET due_at = now() - make_interval(secs => $3) "
                "WHERE kind = $1 AND key = $2 AND status = 'pending'",
                kind,
                key,
                ago,
            )
            assert moved == "UPDATE 1", (kind, key)
    finally:
        stack.start_service("negotiation")
        await stack.wait_ready(["negotiation"])


async def test_an_offer_expires_and_raises_its_follow_up_across_a_restart_once(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    stack: DevStack,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    case = await opened(http, urls, negotiator)
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    offer = (await negotiator.post(f"{base}/offers", json={})).json()["offers"][0]
    made_at = datetime.fromisoformat(offer["made_at"])
    expires_at = datetime.fromisoformat(offer["expires_at"])
    # 10 business days after the day of the offer, at the end of that day in New York (the day-counting
    # over holidays is worked by hand in tests/unit/test_negotiation_rules.py).
    assert expires_at == offer_expiry(made_at, 10)
    assert (expires_at.astimezone(EASTERN).hour, expires_at.astimezone(EASTERN).minute) == (23, 59)
    jobs = await db.fetch(
        "SELECT kind, key, due_at, status FROM negotiation.scheduled_jobs WHERE payload->>'offer_id' = $1 "
        "ORDER BY due_at",
        offer["id"],
    )
    assert [(j["kind"], j["key"], j["status"]) for j in jobs] == [
        ("offer.follow_up", f"{offer['id']}:3", "pending"),
        ("offer.follow_up", f"{offer['id']}:7", "pending"),
        ("offer.expire", offer["id"], "pending"),
    ]
    assert jobs[2]["due_at"] == expires_at

    # Three, then seven business days pass, then the offer's validity, while negotiation is down.
    await restart_with(
        stack,
        db,
        [
            ("offer.follow_up", f"{offer['id']}:3", 3),
            ("offer.expire", offer["id"], 2),
            ("offer.follow_up", f"{offer['id']}:7", 1),
        ],
    )

    async def expired() -> dict | None:
        found = (await negotiator.get(base)).json()
        return found if found["offers"][0]["status"] == "expired" else None

    after = await wait_until(expired, what="the offer to expire")
    assert after["attention"] == "the offer of 1,000.00 expired unanswered: make a new offer or close"
    assert after["follow_up_due_at"] is not None  # the first follow-up was raised before the expiry
    late = await negotiator.post(
        f"{base}/responses", json={"party": "provider", "decision": "accept", "contact": "Pat Lee"}
    )
    assert late.status_code == 409  # no open payer offer any more

    async def all_done() -> bool:
        statuses = await db.fetch(
            "SELECT status FROM negotiation.scheduled_jobs WHERE payload->>'offer_id' = $1", offer["id"]
        )
        return [s["status"] for s in statuses] == ["done"] * 3

    await wait_until(all_done, what="every job of the offer to finish")
    assert [e["offer_id"] for e in await events_of(db, case["bill_id"], "case.offer_expired")] == [
        offer["id"]
    ]
    follow_ups = await events_of(db, case["bill_id"], "case.follow_up_due")
    assert [(e["offer_id"], e["business_days"]) for e in follow_ups] == [(offer["id"], 3)]

    # A new offer clears the flag and starts its own clock.
    renewed = await negotiator.post(f"{base}/offers", json={"amount": "1050.00"})
    assert (renewed.json()["attention"], renewed.json()["follow_up_due_at"]) == (None, None)


async def test_the_no_surprises_act_clock_counts_business_days_over_holidays_and_lapses(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    stack: DevStack,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    case = await opened(http, urls, negotiator)
    clocks = f"{urls['negotiation']}/v1/cases/{case['id']}/clocks"
    started = await negotiator.post(clocks, json={"started_on": "2026-11-20"})
    assert started.status_code == 200, started.text
    (clock,) = started.json()["clocks"]
    # Day 1 is Fri 2026-11-20; Thanksgiving (Nov 26), Christmas (Fri Dec 25) and New Year's Day (Fri
    # Jan 1) are not business days: day 30 is Tue 2027-01-05; IDR may start on days 31–34, to Mon Jan 11.
    assert (clock["kind"], clock["due_on"], clock["follow_on_due"], clock["status"]) == (
        "nsa_open_negotiation",
        "2027-01-05",
        "2027-01-11",
        "running",
    )
    assert (await negotiator.post(clocks, json={"started_on": "2026-11-23"})).status_code == 409
    assert (await negotiator.post(clocks, json={"started_on": "2099-01-02"})).status_code == 422

    await restart_with(stack, db, [("clock.lapse", clock["id"], 1)])

    async def lapsed() -> dict | None:
        found = (await negotiator.get(f"{urls['negotiation']}/v1/cases/{case['id']}")).json()
        return found if found["clocks"][0]["status"] == "lapsed" else None

    after = await wait_until(lapsed, what="the clock to lapse")
    assert after["attention"] == (
        "No Surprises Act open negotiation ended on 2027-01-05 without agreement; either party may initiate "
        "IDR through 2027-01-11"
    )
    states = [(e["state"], e["due_on"]) for e in await events_of(db, case["bill_id"], "case.clock")]
    assert states == [("started", "2027-01-05"), ("lapsed", "2027-01-05")]

    # A clock started long ago lapses and closes its IDR window at once; agreement in time marks one met.
    old = await opened(http, urls, negotiator)
    assert (
        await negotiator.post(
            f"{urls['negotiation']}/v1/cases/{old['id']}/clocks", json={"started_on": "2025-03-03"}
        )
    ).is_success

    async def closed() -> list | None:
        found = [e["state"] for e in await events_of(db, old["bill_id"], "case.clock")]
        return found if found[-1:] == ["window_closed"] else None

    assert await wait_until(closed, what="both periods to end") == ["started", "lapsed", "window_closed"]
    met = await opened(http, urls, negotiator)
    assert (await negotiator.post(f"{urls['negotiation']}/v1/cases/{met['id']}/clocks", json={})).is_success
    agreed = await agree_case(negotiator, urls, met["id"])
    assert agreed["clocks"][0]["status"] == "met"
    assert [e["state"] for e in await events_of(db, met["bill_id"], "case.clock")] == ["started", "met"]
