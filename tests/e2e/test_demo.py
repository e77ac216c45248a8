"""The dev-stack demo (what a newcomer's ``make up`` shows) works with partner and user authentication."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.catalog import service
from shared.stack.demo import (
    DEMO_CLIENTS,
    DEMO_REFERENCE_MANIFEST,
    DEMO_ROLES,
    create_demo_key,
    create_demo_tokens,
    load_demo,
    load_reporting_history,
)
from shared.stack.demo_bills import DEMO_BILLS
from shared.stack.devstack import DevStack

pytestmark = pytest.mark.e2e


async def test_the_demo_gets_its_key_and_tokens_from_the_admin_commands_and_plays_every_bill(
    stack: DevStack, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    # `make up` loads the demo's U&C observations at start-up; the test stack loads them here.
    observations = DEMO_REFERENCE_MANIFEST.parent / "observations.csv"
    loaded = await staff["admin"].post(
        f"{urls['pricing']}/v1/reference/observations",
        content=observations.read_bytes(),
        params={"target": "demo-observations"},
    )
    assert loaded.status_code in (200, 201), loaded.text
    intake = stack.database_url(service("intake"))
    key = await asyncio.to_thread(create_demo_key, intake)
    assert key.startswith("prly_")
    tokens = await create_demo_tokens(intake, urls)
    assert sorted(tokens) == sorted(DEMO_ROLES)
    async with httpx.AsyncClient(timeout=10) as client:
        for role, token in tokens.items():
            assert token.startswith("prlu_")
            me = await client.get(f"{urls['reporting']}/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert (me.json()["roles"], sorted(me.json()["clients"])) == ([role], sorted(DEMO_CLIENTS))
    rows = await load_demo(urls, key, tokens)
    by_claim = {row["claim"]: row for row in rows}
    assert len(by_claim) == len(DEMO_BILLS)
    assert (by_claim["DEMO-1001"]["status"], by_claim["DEMO-1001"]["route"]) == ("repriced", "repriced")
    assert (by_claim["DEMO-1004"]["status"], by_claim["DEMO-1004"]["route"]) == ("in_negotiation", "review")
    # Hospital and specialty pricing under the FL schedule: anesthesia by units, the stay by MS-DRG.
    assert (by_claim["DEMO-1006"]["route"], by_claim["DEMO-1007"]["route"]) == ("repriced", "repriced")
    assert [by_claim[f"DEMO-200{n}"]["status"] for n in (1, 2, 3)] == ["settled"] * 3
    # Cascade accepted 2,050.00, 2,000.00 and 2,100.00 of a 2,200.00 target: a median 93.2 % opens the
    # fourth at 2,200.00 × 0.932 = 2,050.40.
    assert by_claim["DEMO-2004"]["route"] == "negotiate"
    assert by_claim["DEMO-2004"]["note"].startswith("offer 2050.40 sent; provider link http")
    assert by_claim["DEMO-3001"]["route"] == "audit"
    assert by_claim["DEMO-3002"]["note"] == "approval waiting: accept 1,200.00 beyond 990.00"
    assert (by_claim["DEMO-3003"]["route"], by_claim["DEMO-3003"]["case"]) == ("negotiate", "open")
    # The settled bills' agreements are executed (signed by both through their links, sealed); one
    # agreement waits for the provider, its signing link printed.
    negotiator = {"Authorization": f"Bearer {tokens['negotiator']}"}
    waiting = by_claim["DEMO-4001"]
    assert waiting["status"] == "agreement_sent"
    first_link = waiting["note"].removeprefix("agreement waits for the provider's signature; signing link ")
    async with httpx.AsyncClient(timeout=10) as client:
        settled = (
            await client.get(
                f"{urls['agreements']}/v1/agreements",
                params={"bill_id": by_claim["DEMO-2001"]["bill_id"]},
                headers=negotiator,
            )
        ).json()["items"]
        assert [a["status"] for a in settled] == ["executed"]
        page = await client.get(first_link)
        assert page.status_code == 200
        assert "Sign the agreement" in page.text
    # Run again on the same data (a second `make up`): a new key and new tokens for the same partner and
    # users (`parley users token`), nothing doubled.
    again_tokens = await create_demo_tokens(intake, urls)
    assert set(again_tokens.values()).isdisjoint(tokens.values())
    again = await load_demo(urls, await asyncio.to_thread(create_demo_key, intake), again_tokens)
    assert [row["bill_id"] for row in again] == [row["bill_id"] for row in rows]
    # The second run prints a new signing link; the first one no longer works.
    relinked = next(row for row in again if row["claim"] == "DEMO-4001")["note"].split(" signing link ")[1]
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(first_link)).status_code == 404
        assert (await client.get(relinked)).status_code == 200


async def test_the_demo_history_gives_the_dashboard_weeks_of_figures_once(
    stack: DevStack, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    http = staff["viewer"]
    reporting_url = stack.database_url(service("reporting"))
    printed = await asyncio.to_thread(load_reporting_history, reporting_url)
    assert printed == "demo history: 240 synthetic bills loaded"
    kpis = (await http.get(f"{urls['reporting']}/v1/kpis", params={"client_id": "acme-employers"})).json()
    assert kpis["demo_bills"] > 0
    by_week = (
        await http.get(
            f"{urls['reporting']}/v1/kpis/breakdown", params={"by": "week", "client_id": "harbor-comp"}
        )
    ).json()
    assert len([w for w in by_week["items"] if w["received"] > 0]) >= 5  # six weeks of history
    assert any(w["resolved"] > 0 and float(w["fees"]) > 0 for w in by_week["items"])
    reports = (await http.get(f"{urls['reporting']}/v1/reports/weekly")).json()
    assert {r["client_id"] for r in reports["items"] if r["made_by"] == "demo"} == {
        "acme-employers",
        "harbor-comp",
    }
    # A second `make up` loads nothing more.
    assert await asyncio.to_thread(load_reporting_history, reporting_url) == "demo history already loaded"
    again = (await http.get(f"{urls['reporting']}/v1/kpis", params={"client_id": "acme-employers"})).json()
    assert again["demo_bills"] == kpis["demo_bills"]
