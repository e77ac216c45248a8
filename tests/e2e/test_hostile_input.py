"""Hostile input found by trying the running stack as an attacker would: each answer is a clear 4xx and
nothing is stored or changed.

U&C target 1,000.00 for 27447 (tests/fixtures/negotiation); billed 2,500.00.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import case_of_bill, negotiable_bill, submit_bill, wait_until

pytestmark = pytest.mark.e2e


async def open_case(
    http: httpx.AsyncClient, urls: dict[str, str], negotiator: httpx.AsyncClient
) -> dict[str, Any]:
    bill_id = (await submit_bill(http, urls, negotiable_bill())).json()["id"]
    return await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="a case")


async def test_a_counter_offer_of_nan_on_the_offer_page_is_refused_and_changes_nothing(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    case = await open_case(http, urls, negotiator)
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    offer = (await negotiator.post(f"{base}/offers", json={})).json()["offers"][-1]
    link = (await negotiator.post(f"{base}/offers/{offer['id']}/link")).json()["url"]
    # "NaN" parsed as a Decimal and then failed the comparison with billed: a 500.
    for amount in ("NaN", "nan", "-NaN", "sNaN", "Infinity"):
        answer = await http.post(
            f"{link}/counter", data={"amount": amount, "note": "x", "name": "Pat"}, follow_redirects=False
        )
        assert answer.status_code == 303, (amount, answer.status_code, answer.text)
        assert "must%20be%20an%20amount%20in%20dollars" in answer.headers["location"]
    after = (await negotiator.get(base)).json()
    assert [(o["party"], o["amount"], o["status"]) for o in after["offers"]] == [
        ("payer", offer["amount"], "open")
    ]
