"""Demo data for the dev stack: bills driven through the real APIs, showing the negotiator's day.

Every request carries a fixed Idempotency-Key, so running the demo again on kept data changes nothing.
The bills show each route and what a team does with it:
- repriced: bills priced by a state fee schedule (FL, GA) close without negotiation;
- review: unlisted services nothing could price (TX) wait for a person;
- audit: an emergency bill with a duplicate line is disputed before anyone negotiates;
- negotiate: Cascade Orthopedics (TIN 912345678) settled three ACL reconstructions (its history in the
  provider database), so its fourth opens at the share of the U&C target it accepted before, and that
  offer is sent as a provider link (printed); Summit Emergency Physicians countered above the
  negotiator's authority, so an approval waits for a supervisor; a small Harbor bill got its offer
  automatically; Lakeside Arthroscopy agreed, and its settlement agreement waits for the provider's
  signature (the signing link is printed). Settled bills have executed agreements: the provider and the
  client's countersigner signed through their links, and the copy is sealed.
- hospital and specialty pricing, repriced by the FL schedule: an anesthesia bill by base and time
  units in Miami's locality (ZIP 33125), and an inpatient stay per stay by its MS-DRG at 140% of IPPS.

Intake needs a partner API key, and every other service a user's token. The demo gets them the way an
operator would, from the admin commands (``parley intake keys create``, ``parley users create`` or, on
kept data, ``parley users token``) run as separate processes, so ``shared`` imports no service package:
one user per role (``demo-<role>@parley.example``, serving the demo clients). The admin sets the clients'
negotiation settings and the negotiator works the cases and issues the signing links.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

import httpx

from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.demo_bills import DEMO_BILLS, DEMO_SETTINGS

# Demo fee schedules (FL 1.40, MD 1.25, CA 1.20, TX 1.60, GA 1.30 × Medicare, FL stays at 140% of IPPS;
# not real state schedules) and the CMS files that price the demo's stay, anesthesia and lab lines,
# loaded by the pricing service at start-up through the same loaders as any reference file.
DEMO_REFERENCE_MANIFEST = PROJECT_ROOT / "services" / "pricing" / "data" / "demo" / "manifest.json"

DEMO_PARTNER = "demo-partner"
DEMO_CLIENTS = ("acme-employers", "harbor-comp")
DEMO_ROLES = ("negotiator", "supervisor", "auditor", "admin", "viewer")


def create_demo_key(intake_database_url: str) -> str:
    """A fresh API key for the demo partner, from ``parley intake keys create`` (blocking)."""
    command = [sys.executable, "-m", "shared.cli", "intake", "keys", "create", "--partner", DEMO_PARTNER]
    for client in DEMO_CLIENTS:
        command += ["--client", client]
    done = subprocess.run(
        [*command, "--name", "Demo partner", "--label", "demo", "--quiet"],
        env={**os.environ, "PARLEY_DATABASE_URL": intake_database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not create the demo API key: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


def load_reporting_history(reporting_database_url: str) -> str:
    """Six weeks of SYNTHETIC demo history for the dashboard, from ``parley reporting demo-history`` run as
    a separate process (blocking); returns what the command printed."""
    command = [sys.executable, "-m", "shared.cli", "reporting", "demo-history"]
    done = subprocess.run(
        command,
        env={**os.environ, "PARLEY_DATABASE_URL": reporting_database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not load the demo history: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _parley(args: list[str], intake_database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        env={**os.environ, "PARLEY_DATABASE_URL": intake_database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def create_demo_token(intake_database_url: str, role: str) -> str:
    """A fresh token for the demo user of ``role``: ``parley users token``, or ``parley users create``
    the first time (blocking)."""
    user = demo_user(role)
    done = _parley(["users", "token", user, "--label", "demo", "--quiet"], intake_database_url)
    if done.returncode != 0:
        command = ["users", "create", "--id", user, "--name", f"Demo {role}", "--role", role]
        for client in DEMO_CLIENTS:
            command += ["--client", client]
        done = _parley([*command, "--label", "demo", "--quiet"], intake_database_url)
    if done.returncode != 0:
        raise RuntimeError(f"could not create the demo {role}'s token: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


async def create_demo_tokens(intake_database_url: str, urls: Mapping[str, str]) -> dict[str, str]:
    """A token per role, once every service accepts it (each has consumed its ``user.token_issued``)."""
    tokens = dict(
        zip(
            DEMO_ROLES,
            await asyncio.gather(
                *(asyncio.to_thread(create_demo_token, intake_database_url, role) for role in DEMO_ROLES)
            ),
            strict=True,
        )
    )
    async with httpx.AsyncClient(timeout=5.0) as client:
        for token in tokens.values():
            for url in urls.values():
                await _wait_for(client, f"{url}/v1/me", bool, headers={"Authorization": f"Bearer {token}"})
    return tokens


async def _wait_for(
    client: httpx.AsyncClient,
    url: str,
    ready: Any,
    timeout: float = 60.0,
    headers: Mapping[str, str] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(url, headers=headers)
        if response.status_code == 200:
            body = response.json()
            if ready(body):
                return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting on {url}")
        await asyncio.sleep(0.3)


def demo_user(role: str) -> str:
    return f"demo-{role}@parley.example"


class _Demo:
    def __init__(self, client: httpx.AsyncClient, urls: Mapping[str, str], tokens: Mapping[str, str]) -> None:
        self.client, self.urls = client, urls
        self.negotiator = {"Authorization": f"Bearer {tokens['negotiator']}"}

    async def post(self, url: str, body: Any, key: str, who: Mapping[str, str]) -> dict[str, Any]:
        response = await self.client.post(url, json=body, headers={**who, "Idempotency-Key": key})
        if response.status_code >= 400:
            raise RuntimeError(f"demo step {key} failed: {response.status_code} {response.text[:300]}")
        return response.json()

    async def case(self, bill_id: str) -> dict[str, Any]:
        found = await _wait_for(
            self.client,
            f"{self.urls['negotiation']}/v1/cases?bill_id={bill_id}",
            lambda body: bool(body["items"]),
            headers=self.negotiator,
        )
        return found["items"][0]

    async def agree(self, claim: str, case: dict[str, Any], amount: str) -> dict[str, Any]:
        """Offer ``amount``; the provider accepts; both sides confirm. Returns the agreement sent."""
        base = f"{self.urls['negotiation']}/v1/cases/{case['id']}"
        n, key = self.negotiator, f"demo-{claim}"
        if case["status"] not in ("agreed", "settled"):
            await self.post(f"{base}/offers", {"amount": amount}, f"{key}-offer", n)
            accept = {"party": "provider", "decision": "accept", "contact": "Morgan Hale"}
            await self.post(f"{base}/responses", accept, f"{key}-accept", n)
            provider = {"party": "provider", "contact": "Morgan Hale", "title": "Business office manager"}
            await self.post(f"{base}/confirmations", provider, f"{key}-provider", n)
            await self.post(f"{base}/confirmations", {"party": "payer"}, f"{key}-payer", n)
        agreements = await _wait_for(
            self.client,
            f"{self.urls['agreements']}/v1/agreements?case_id={case['id']}",
            lambda body: bool(body["items"]),
            headers=n,
        )
        agreement: dict[str, Any] = agreements["items"][0]
        return agreement

    async def signing_link(self, agreement_id: str, role: str) -> str:
        # A new link on every call (it replaces the last): its token is shown once and kept hashed.
        url = f"{self.urls['agreements']}/v1/agreements/{agreement_id}/recipients/{role}/link"
        issued = await self.client.post(url, headers=self.negotiator)
        issued.raise_for_status()
        link: str = issued.json()["url"]
        return link

    async def sign_as(self, link: str, name: str, title: str) -> None:
        """What the signer does on the page: tick the consent, type name and title, sign."""
        form = {"consent": "yes", "signer_name": name, "signer_title": title}
        (await self.client.post(link, data=form)).raise_for_status()

    async def settle(self, claim: str, case: dict[str, Any], amount: str, bill_id: str) -> None:
        agreement = await self.agree(claim, case, amount)
        url = f"{self.urls['agreements']}/v1/agreements/{agreement['id']}"
        countersigner = next(r for r in agreement["recipients"] if r["role"] == "countersigner")
        if agreement["status"] == "sent":
            provider = await self.signing_link(agreement["id"], "provider")
            await self.sign_as(provider, "Morgan Hale", "Business office manager")
            # A countersigner with an address is invited by e-mail (a job, a fresh link); the demo stands
            # in for them once the invitation went out, with a link of its own.
            if countersigner["email"]:
                await _wait_for(
                    self.client,
                    url,
                    lambda a: any(step["step"] == "invited" for step in a["steps"]),
                    headers=self.negotiator,
                )
            agreement["status"] = "countersigning"
        if agreement["status"] == "countersigning":
            payer = await self.signing_link(agreement["id"], "countersigner")
            await self.sign_as(payer, countersigner["name"], countersigner["title"] or "Authorized signer")
        await _wait_for(
            self.client, f"{self.urls['intake']}/v1/bills/{bill_id}", lambda b: b["status"] == "settled"
        )

    async def waiting_for_provider(self, claim: str, case: dict[str, Any], amount: str) -> str:
        agreement = await self.agree(claim, case, amount)
        if agreement["status"] != "sent":
            return f"agreement {agreement['status']}"
        link = await self.signing_link(agreement["id"], "provider")
        return f"agreement waits for the provider's signature; signing link {link}"

    async def link(self, claim: str, case: dict[str, Any]) -> str:
        base = f"{self.urls['negotiation']}/v1/cases/{case['id']}"
        sent = await self.post(f"{base}/offers", {}, f"demo-{claim}-offer", self.negotiator)
        offer = sent["offers"][-1]
        # A new link on every run (each replaces the last): its token is shown once and kept hashed.
        issued = await self.client.post(f"{base}/offers/{offer['id']}/link", headers=self.negotiator)
        if issued.status_code != 201:
            return f"no link: {issued.json().get('detail')}"
        return f"offer {offer['amount']} sent; provider link {issued.json()['url']}"

    async def approval(self, claim: str, case: dict[str, Any]) -> str:
        base, n, key = f"{self.urls['negotiation']}/v1/cases/{case['id']}", self.negotiator, f"demo-{claim}"
        await self.post(f"{base}/offers", {}, f"{key}-offer", n)
        counter = {
            "party": "provider",
            "decision": "counter",
            "amount": "1200.00",
            "contact": "Alex Kim",
            "note": "our floor for a level-5 visit",
        }
        await self.post(f"{base}/responses", counter, f"{key}-counter", n)
        ask = {
            "action": "accept",
            "amount": "1200.00",
            "reason": "provider will not go lower; saves 50% of billed",
        }
        asked = await self.post(f"{base}/approvals", ask, f"{key}-approval", n)
        return f"approval waiting: accept 1,200.00 beyond {asked['approvals'][-1]['limit_amount']}"


async def load_demo(urls: Mapping[str, str], api_key: str, tokens: Mapping[str, str]) -> list[dict[str, Any]]:
    """Post the demo bills (as the partner), set the clients' negotiation settings (as the admin) and play
    the negotiations (as the negotiator, who also issues signing links; the signers sign on the pages). One
    summary row per bill."""
    summary = []
    auth = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(timeout=10.0, headers=auth) as client:
        demo = _Demo(client, urls, tokens)
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        for client_id, settings in DEMO_SETTINGS.items():
            url = f"{urls['negotiation']}/v1/clients/{client_id}/settings"
            (await client.put(url, json=settings, headers=admin)).raise_for_status()
        for bill, plan in DEMO_BILLS:
            claim = bill["partner_claim_id"]
            posted = await client.post(
                f"{urls['intake']}/v1/bills", json=bill, headers={"Idempotency-Key": f"demo-{claim}"}
            )
            posted.raise_for_status()
            bill_id = posted.json()["id"]
            case = await demo.case(bill_id)
            note = ""
            if plan.startswith("settle:") and case["status"] != "settled":
                await demo.settle(claim, case, plan.split(":")[1], bill_id)
            elif plan.startswith("sign:"):
                note = await demo.waiting_for_provider(claim, case, plan.split(":")[1])
            elif plan == "link" and case["status"] == "open":
                note = await demo.link(claim, case)
            elif plan == "approval" and not case["approvals"]:
                note = await demo.approval(claim, case)
            case = await demo.case(bill_id)
            # Intake hears of the case, and of an agreement sent, a moment later (other topics).
            passed = ("received", "priced", "agreed") if plan.startswith("sign:") else ("received", "priced")
            final = await _wait_for(
                client,
                f"{urls['intake']}/v1/bills/{bill_id}",
                lambda b, passed=passed: b["status"] not in passed,
            )
            row = {"claim": claim, "bill_id": bill_id, "status": final["status"]}
            row |= {"route": case["route"], "case": case["status"]}
            if note:
                row["note"] = note
            summary.append(row)
    return summary
