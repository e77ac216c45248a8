"""Browser sign-in, in real headless Chromium: the sign-in page, the session cookie shared by every
service on the host, CSRF on writes, sign-out, revocation ending a session, and single sign-on through
the identity provider (authorization code with PKCE)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from playwright.async_api import BrowserContext, Page

from shared.catalog import service
from shared.stack.devstack import DevStack
from tests.browser import screenshot, sign_in
from tests.helpers import UserMaker, unique, wait_until
from tests.idp import LoopbackIdp

pytestmark = pytest.mark.e2e


async def test_sign_in_with_a_token_serves_every_service_checks_csrf_and_signs_out(
    page: Page, context: BrowserContext, urls: dict[str, str], make_user: UserMaker, stack: DevStack
) -> None:
    token = await make_user(["negotiator", "auditor"], ["acme-employers"], f"{unique('pat')}@acme-cc.example")
    reporting, negotiation = urls["reporting"], urls["negotiation"]

    # A page without a session sends the browser to the sign-in form, and back after it.
    await page.goto(f"{reporting}/account")
    assert page.url == f"{reporting}/signin?next=%2Faccount"
    await page.fill("#token", "prlu_000000000000_" + "x" * 43)
    await page.click("[data-testid=sign-in]")
    assert "Not signed in: the token is not valid." in await page.inner_text("[data-testid=error]")
    await page.fill("#token", token)
    await page.click("[data-testid=sign-in]")
    await page.wait_for_url(f"{reporting}/account")
    assert await page.inner_text("[data-testid=roles]") == "auditor, negotiator"
    assert await page.inner_text("[data-testid=clients]") == "acme-employers"
    await screenshot(page, stack, "account")

    (cookie,) = [c for c in await context.cookies() if c["name"] == "parley_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)  # test: http

    # Cookies are per host: the same session opens every service on it, pages and API alike.
    await page.goto(f"{negotiation}/account")
    assert page.url == f"{negotiation}/account"
    me = await page.request.get(f"{negotiation}/v1/me")
    assert (me.status, (await me.json())["via"]) == (200, "session")

    # A write with the cookie needs the session's CSRF token (the forms carry it).
    csrf = await page.get_attribute("input[name=csrf_token]", "value")
    assert csrf
    respond = f"{negotiation}/v1/cases/{uuid.uuid4()}/responses"
    body = {"party": "payer", "decision": "accept"}
    refused = await page.request.post(respond, data=body)
    assert refused.status == 403
    assert (await refused.json())["errors"][0]["type"] == "csrf"
    through = await page.request.post(respond, data=body, headers={"X-CSRF-Token": csrf})
    assert through.status == 404  # past the door: there is no such case
    assert (await page.request.post(f"{negotiation}/signout", form={"csrf_token": "forged"})).status == 403

    # Sign out: the session is gone on every service.
    await page.click("[data-testid=sign-out]")
    await page.wait_for_url(f"{negotiation}/signin")
    await page.goto(f"{reporting}/account")
    assert page.url.startswith(f"{reporting}/signin")

    # Revoking the token ends a session opened with it, at the next request.
    await sign_in(page, reporting, token)
    env = {**os.environ, "PARLEY_DATABASE_URL": stack.database_url(service("intake"))}
    revoke = [sys.executable, "-m", "shared.cli", "users", "revoke", token.split("_")[1]]
    done = await asyncio.to_thread(
        subprocess.run, revoke, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr

    async def ended() -> bool:
        await page.goto(f"{reporting}/account")
        return page.url.startswith(f"{reporting}/signin")

    await wait_until(ended, timeout=10, what="the session to end")


async def test_single_sign_on_through_the_identity_provider(
    page: Page, urls: dict[str, str], idp: LoopbackIdp, stack: DevStack
) -> None:
    intake = urls["intake"]
    idp.next_user = {"subject": "sam@acme-cc.example", "roles": ["cc-negotiators"], "clients": ["acme"]}
    await page.goto(f"{intake}/account")
    await page.wait_for_url(f"{intake}/signin?next=%2Faccount")
    assert await page.inner_text("[data-testid=oidc]") == "Sign in with Test IdP"
    await page.click("[data-testid=oidc]")
    # The IdP signs Sam in and sends the browser back with a code; Parley checks state, PKCE and nonce.
    await page.wait_for_url(f"{intake}/account")
    assert await page.inner_text("[data-testid=subject]") == "sam@acme-cc.example"
    assert await page.inner_text("[data-testid=roles]") == "negotiator"
    assert await page.inner_text("[data-testid=method]") == "single sign-on"
    await screenshot(page, stack, "account-sso")
    me = await page.request.get(f"{urls['pricing']}/v1/me")
    assert (await me.json())["clients"] == ["acme"]
    # A callback that this browser did not start is refused.
    await page.goto(f"{intake}/signin/callback?code=stolen&state=guessed")
    assert "The sign-in expired or was not started here" in await page.inner_text("[data-testid=error]")
