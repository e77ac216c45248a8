"""Demo data for the dev stack: a handful of bills driven through the real APIs.

Every request carries a fixed Idempotency-Key, so running the demo again on kept data changes nothing.
The bills show each path: settled after the provider accepts, settled after a counter-offer (both with an
executed agreement), an agreement waiting for the provider's signature (its link is returned), a case
waiting for the provider, lines that cannot be priced, and a bill with nothing to negotiate.

Intake needs a partner API key, and every other service a user's token. The demo gets them the way an
operator would, from the admin commands (``parley intake keys create``, ``parley users create`` or, on
kept data, ``parley users token``) run as separate processes, so ``shared`` imports no service package:
one user per role (``demo-<role>@parley.example``, serving the demo clients). The negotiator plays the
negotiations and issues signing links; the provider and the countersigner sign through them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shared.stack.bootstrap import PROJECT_ROOT

# Demo fee schedules (FL 1.40, MD 1.25, CA 1.20, TX 1.60, GA 1.30 × Medicare; not real state schedules),
# loaded by the pricing service at start-up through the same loaders as any reference file.
DEMO_REFERENCE_MANIFEST = PROJECT_ROOT / "services" / "pricing" / "data" / "demo" / "manifest.json"

PROVIDER = {"npi": "1912301953", "tin": "587654321", "name": "Ben Kildare Service"}
DEMO_PARTNER = "demo-partner"
DEMO_CLIENTS = ("acme-employers", "harbor-comp")
DEMO_ROLES = ("negotiator", "supervisor", "auditor", "admin", "viewer")


def demo_user(role: str) -> str:
    return f"demo-{role}@parley.example"


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


def _line(code: str, charge: str, days_ago: int = 30, **extra: Any) -> dict[str, Any]:
    return {
        "procedure_code": code,
        "units": 1,
        "charge": charge,
        "service_date": (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat(),
        **extra,
    }


def _bill(claim: str, client: str, state: str, zip_code: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum((Decimal(str(line["charge"])) for line in lines), Decimal("0"))
    return {
        "partner_claim_id": claim,
        "client_id": client,
        "provider": PROVIDER,
        "facility": {"state": state, "zip": zip_code},
        "place_of_service": "11",
        "lines": lines,
        "total_charge": f"{total:.2f}",
    }


# (bill, what happens next): "accept" or "counter" (then both parties sign: executed, settled), "sign" (agreed
# after a counter; the agreement waits for the provider, whose link is printed), "wait" (the case waits for
# the provider's answer) or "none" (no case expected).
DEMO_BILLS: list[tuple[dict[str, Any], str]] = [
    (
        _bill(
            "DEMO-1001", "acme-employers", "FL", "33111", [_line("99214", "310.00"), _line("73030", "120.00")]
        ),
        "accept",
    ),
    (
        _bill(
            "DEMO-1002", "acme-employers", "MD", "21236", [_line("98940", "145.50"), _line("99213", "220.00")]
        ),
        "counter",
    ),
    (
        _bill(
            "DEMO-1003",
            "harbor-comp",
            "CA",
            "94103",
            [_line("99215", "480.00"), _line("71046", "160.00", modifiers=["26"])],
        ),
        "wait",
    ),
    (
        _bill(
            "DEMO-1006", "acme-employers", "FL", "33111", [_line("99213", "210.00"), _line("73610", "140.00")]
        ),
        "sign",
    ),
    (
        _bill("DEMO-1004", "harbor-comp", "TX", "75201", [_line("87070", "90.00"), _line("86663", "60.00")]),
        "none",
    ),
    (_bill("DEMO-1005", "harbor-comp", "GA", "30303", [_line("99213", "50.00")]), "none"),
]


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


async def _signing_link(
    client: httpx.AsyncClient, agreement: str, role: str, staff: Mapping[str, str]
) -> str:
    # A fresh link each time (as staff resend one): only hashes of links are stored, so an earlier
    # run's link cannot be shown again; this one revokes it.
    issued = await client.post(f"{agreement}/recipients/{role}/link", headers=staff)
    issued.raise_for_status()
    url: str = issued.json()["url"]
    return url


async def _sign(client: httpx.AsyncClient, url: str, name: str, title: str) -> None:
    form = {"consent": "yes", "signer_name": name, "signer_title": title}
    (await client.post(url, data=form)).raise_for_status()


async def _play_agreement(
    client: httpx.AsyncClient,
    urls: Mapping[str, str],
    case_id: str,
    bill_id: str,
    plan: str,
    staff: Mapping[str, str],
) -> str | None:
    """Sign the agreement as both parties through their links (executed, case settled), or, for
    ``sign``, leave it waiting for the provider and return the provider's signing link. ``staff`` (the
    negotiator) issues the links, as staff resend one."""
    found = await _wait_for(
        client,
        f"{urls['agreements']}/v1/agreements?case_id={case_id}",
        lambda body: bool(body["items"]),
        headers=staff,
    )
    agreement = found["items"][0]
    base = f"{urls['agreements']}/v1/agreements/{agreement['id']}"
    if plan == "sign":
        return await _signing_link(client, base, "provider", staff) if agreement["status"] == "sent" else None
    if agreement["status"] == "sent":
        await _sign(
            client,
            await _signing_link(client, base, "provider", staff),
            "Dana Smith",
            "Business office manager",
        )
        agreement["status"] = "countersigning"
    if agreement["status"] == "countersigning":
        await _sign(
            client,
            await _signing_link(client, base, "countersigner", staff),
            "Sam Ortiz",
            "Claims supervisor",
        )
    await _wait_for(client, f"{urls['intake']}/v1/bills/{bill_id}", lambda b: b["status"] == "settled")
    return None


async def load_demo(urls: Mapping[str, str], api_key: str, tokens: Mapping[str, str]) -> list[dict[str, Any]]:
    """Post the demo bills (as the partner) and play their negotiations (as the negotiator; the
    provider and the payer's countersigner sign through their links). Returns one summary row per bill."""
    summary = []
    auth = {"Authorization": f"Bearer {api_key}"}
    negotiator = {"Authorization": f"Bearer {tokens['negotiator']}"}
    async with httpx.AsyncClient(timeout=10.0, headers=auth) as client:
        for bill, plan in DEMO_BILLS:
            key = {"Idempotency-Key": f"demo-{bill['partner_claim_id']}"}
            posted = await client.post(f"{urls['intake']}/v1/bills", json=bill, headers=key)
            posted.raise_for_status()
            bill_id = posted.json()["id"]
            if plan == "none":
                status = await _wait_for(
                    client,
                    f"{urls['intake']}/v1/bills/{bill_id}",
                    lambda b: b["status"] in ("not_negotiated", "settled"),
                )
                summary.append(
                    {"claim": bill["partner_claim_id"], "bill_id": bill_id, "status": status["status"]}
                )
                continue
            cases = await _wait_for(
                client,
                f"{urls['negotiation']}/v1/cases?bill_id={bill_id}",
                lambda body: bool(body["items"]),
                headers=negotiator,
            )
            case = cases["items"][0]
            respond = f"{urls['negotiation']}/v1/cases/{case['id']}/responses"
            if plan == "accept":
                await client.post(
                    respond, json={"party": "provider", "decision": "accept"}, headers={**key, **negotiator}
                )
            elif plan in ("counter", "sign"):
                counter = str((Decimal(case["opening_offer"]) * Decimal("1.15")).quantize(Decimal("0.01")))
                await client.post(
                    respond,
                    json={
                        "party": "provider",
                        "decision": "counter",
                        "amount": counter,
                        "note": "our floor for this visit",
                    },
                    headers={**key, **negotiator},
                )
                await client.post(
                    respond,
                    json={"party": "payer", "decision": "accept"},
                    headers={"Idempotency-Key": f"{key['Idempotency-Key']}-payer", **negotiator},
                )
            link = None
            if plan in ("accept", "counter", "sign"):
                link = await _play_agreement(client, urls, case["id"], bill_id, plan, negotiator)
            final = (await client.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
            row = {"claim": bill["partner_claim_id"], "bill_id": bill_id, "status": final["status"]}
            if link:
                row["link"] = link
            summary.append(row)
    return summary
