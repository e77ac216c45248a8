"""The dev-stack demo (what a newcomer's ``make up`` shows) works with partner and user authentication."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.catalog import service
from shared.stack.demo import (
    DEMO_BILLS,
    DEMO_CLIENTS,
    DEMO_ROLES,
    create_demo_key,
    create_demo_tokens,
    load_demo,
)
from shared.stack.devstack import DevStack

pytestmark = pytest.mark.e2e


async def test_the_demo_gets_its_key_and_tokens_from_the_admin_commands_and_plays_every_bill(
    stack: DevStack, urls: dict[str, str]
) -> None:
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
    statuses = {row["claim"]: row["status"] for row in rows}
    assert len(statuses) == len(DEMO_BILLS)
    assert statuses["DEMO-1001"] == statuses["DEMO-1002"] == "settled"
    assert statuses["DEMO-1004"] == "not_negotiated"
    # One agreement waits for the provider, with its signing link printed; the others are executed.
    waiting = next(row for row in rows if row["claim"] == "DEMO-1006")
    assert waiting["status"] == "agreement_sent"
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(waiting["link"])
        assert page.status_code == 200
        assert "Sign the agreement" in page.text
    # Run again on the same data (a second `make up`): a new key and new tokens for the same partner and
    # users (`parley users token`), nothing doubled.
    again_tokens = await create_demo_tokens(intake, urls)
    assert set(again_tokens.values()).isdisjoint(tokens.values())
    again = await load_demo(urls, await asyncio.to_thread(create_demo_key, intake), again_tokens)
    assert [row["bill_id"] for row in again] == [row["bill_id"] for row in rows]
    # The second run prints a new link for the waiting agreement; the first one no longer works.
    relinked = next(row for row in again if row["claim"] == "DEMO-1006")
    async with httpx.AsyncClient(timeout=10) as browser:
        assert (await browser.get(waiting["link"])).status_code == 404
        assert (await browser.get(relinked["link"])).status_code == 200
