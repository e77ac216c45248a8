"""The provider's offer page in headless Chromium: the offer, its basis and the pricing evidence, no patient
data; counter, accept (confirming the terms) and decline from the page; 404 unknown, 410 expired.

U&C target 1,000.00 for 27447 (tests/fixtures/negotiation); billed 2,500.00.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page

from shared.stack.devstack import DevStack
from tests.browser import screenshot
from tests.helpers import case_of_bill, negotiable_bill, submit_bill, wait_until

pytestmark = pytest.mark.e2e

PATIENT = {"first_name": "Ada", "last_name": "Lovelace", "birth_date": "1980-12-10", "member_id": "ZX-4471"}


async def offered(
    http: httpx.AsyncClient, urls: dict[str, str], negotiator: httpx.AsyncClient, amount: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]:
    """A case with a payer offer and a link to it: (bill body, case, link URL, offer)."""
    body = negotiable_bill(patient=PATIENT)
    bill_id = (await submit_bill(http, urls, body)).json()["id"]
    case = await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="a case")
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    sent = await negotiator.post(f"{base}/offers", json={} if amount is None else {"amount": amount})
    assert sent.status_code == 201, sent.text
    offer = sent.json()["offers"][-1]
    link = await negotiator.post(f"{base}/offers/{offer['id']}/link")
    assert link.status_code == 201, link.text
    assert link.json()["expires_at"] == offer["expires_at"]
    return body, case, link.json()["url"], offer


async def events_of(db: asyncpg.Connection, bill_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT body FROM negotiation.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        bill_id,
        f"parley.{event_type}",
    )
    return [json.loads(r["body"])["data"] for r in rows]


async def test_the_provider_sees_the_offer_and_its_evidence_and_counters_then_accepts(
    page: Page,
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    stack: DevStack,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    body, case, url, offer = await offered(http, urls, negotiator)
    token_hash = await db.fetchval(
        "SELECT link_token_sha256 FROM negotiation.offers WHERE id = $1", uuid.UUID(offer["id"])
    )
    assert token_hash is not None
    assert url.rsplit("/", 1)[-1] not in token_hash  # only the hash is kept

    response = await page.goto(url)
    assert response is not None
    assert response.status == 200
    claim = body["partner_claim_id"]
    assert await page.text_content("[data-testid=heading]") == f"Payment offer for claim {claim}"
    assert await page.text_content("[data-testid=amount]") == "1,000.00"
    assert await page.text_content("[data-testid=billed]") == "2,500.00"
    assert "950.00 if paid within 10 business days" in (
        await page.text_content("[data-testid=quick-pay]") or ""
    )
    basis = await page.text_content("[data-testid=basis]")
    assert basis is not None
    assert basis.startswith("opening strategy: U&C median 1,000.00;")
    cells = await page.locator("[data-testid=line-1] td").all_text_contents()
    assert [c.strip() for c in cells] == ["1", "27447", "2,500.00", "1,000.00", "1,000.00", "–", "1,000.00"]
    assert await page.text_content("[data-testid=statement]") == case["statement_sha256"]
    content = await page.content()
    for phi in ("Lovelace", "Ada", "ZX-4471", "1980"):  # the claim reference only, never the patient
        assert phi not in content
    await screenshot(page, stack, "offer-page")
    viewed = (await negotiator.get(f"{urls['negotiation']}/v1/cases/{case['id']}")).json()["history"][-1]
    assert (viewed["kind"], viewed["actor"]) == ("link_viewed", "offer_page")

    # A counter-offer with a note goes back into the case for the negotiator.
    await page.fill("#counter-amount", "1,450.00")
    await page.fill("#counter-note", "our contract floor")
    await page.fill("#counter-name", "Pat Lee")
    await page.click("[data-testid=counter]")
    await page.wait_for_selector("[data-testid=done]")
    assert "counter-offer" in (await page.text_content("[data-testid=done]") or "")
    now = (await negotiator.get(f"{urls['negotiation']}/v1/cases/{case['id']}")).json()
    first, countered = now["offers"]
    assert (first["status"], countered["party"], countered["amount"]) == ("countered", "provider", "1450.00")
    assert (countered["made_by"], countered["note"]) == ("Pat Lee", "our contract floor")
    assert now["attention"] == "provider countered at 1,450.00: the payer answers"

    # The negotiator answers with a new offer within authority (1,100.00); the provider accepts it on its
    # link, which confirms the terms; the payer side confirms: agreed.
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    second = (await negotiator.post(f"{base}/offers", json={"amount": "1100.00"})).json()["offers"][-1]
    link = (await negotiator.post(f"{base}/offers/{second['id']}/link")).json()["url"]
    await page.goto(link)
    await page.fill("#accept-name", "Pat Lee")
    await page.fill("#accept-title", "Billing manager")
    await page.click("[data-testid=accept]")
    await page.wait_for_selector("[data-testid=done]")
    assert "accepted this offer and confirmed its terms" in (
        await page.text_content("[data-testid=done]") or ""
    )
    confirming = (await negotiator.get(base)).json()
    assert (confirming["status"], confirming["agreed_amount"]) == ("confirming", "1100.00")
    (provider,) = confirming["confirmations"]
    assert (provider["party"], provider["confirmed_by"], provider["via"]) == (
        "provider",
        "Pat Lee",
        "offer_page",
    )
    agreed = await negotiator.post(f"{base}/confirmations", json={"party": "payer"})
    assert agreed.json()["status"] == "agreed"
    (event,) = await events_of(db, case["bill_id"], "case.agreed")
    assert event["provider_signer"]["name"] == "Pat Lee"
    assert event["patient"]["member_id"] == "ZX-4471"  # for the agreement, over the bus, not on the page

    # The link of an answered offer shows what happened and takes no second answer.
    assert (await http.post(f"{link}/accept", data={"name": "Someone"})).status_code == 303
    await page.goto(link)
    assert await page.locator("[data-testid=accept-form]").count() == 0


async def test_the_provider_declines_with_a_reason_and_bad_or_old_links_are_refused(
    page: Page,
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    _, case, url, offer = await offered(http, urls, negotiator)

    # The server checks what the browser would: a decline needs a reason and a name.
    refused = await http.post(f"{url}/decline", data={"reason": "", "name": ""}, follow_redirects=False)
    assert refused.status_code == 303, refused.text
    assert "error=" in refused.headers["location"]
    await page.goto(url)
    await page.fill("#decline-reason", "we only settle at 80% of charges")
    await page.fill("#decline-name", "Sam Ortiz")
    await page.click("[data-testid=decline]")
    await page.wait_for_selector("[data-testid=done]")
    (declined,) = await events_of(db, case["bill_id"], "case.offer_declined")
    assert (declined["party"], declined["reason"], declined["offer_id"]) == (
        "provider",
        "we only settle at 80% of charges",
        offer["id"],
    )

    # Unknown: 404. A link replaced by a newer one: 404. An expired offer: 410.
    unknown = await page.goto(f"{urls['negotiation']}/offers/{uuid.uuid4().hex}")
    assert unknown is not None
    assert unknown.status == 404
    _, other, old_link, other_offer = await offered(http, urls, negotiator)
    base = f"{urls['negotiation']}/v1/cases/{other['id']}/offers/{other_offer['id']}/link"
    new_link = (await negotiator.post(base)).json()["url"]
    assert (await http.get(old_link)).status_code == 404
    assert (await http.get(new_link)).status_code == 200
    await db.execute(
        "UPDATE negotiation.offers SET expires_at = now() - interval '1 minute' WHERE id = $1",
        uuid.UUID(other_offer["id"]),
    )  # as the offer's ten business days passing would
    expired = await page.goto(new_link)
    assert expired is not None
    assert expired.status == 410
    assert await page.text_content("[data-testid=heading]") == "Offer expired"
    assert (await http.post(f"{new_link}/accept", data={"name": "Pat"})).status_code == 410
