"""Demo data for the dev stack: a handful of bills driven through the real APIs.

Every request carries a fixed Idempotency-Key, so running the demo again on kept data changes nothing.
The bills show each path: settled after the provider accepts, settled after a counter-offer, a case
waiting for the provider, lines that cannot be priced, a bill with nothing to negotiate, and the
hospital and specialty pricing: an anesthesia bill priced by base and time units in Miami's locality,
and an inpatient stay priced per stay by its MS-DRG at a percent of Medicare IPPS.

Intake needs a partner API key, and every other service a user's token. The demo gets them the way an
operator would, from the admin commands (``parley intake keys create``, ``parley users create`` or, on
kept data, ``parley users token``) run as separate processes, so ``shared`` imports no service package:
one user per role (``demo-<role>@parley.example``, serving the demo clients). The negotiator plays the
negotiations and the supervisor records the signatures.
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

# Demo fee schedules (FL 1.40, MD 1.25, CA 1.20, TX 1.60, GA 1.30 × Medicare, FL stays at 140% of IPPS;
# not real state schedules) and the CMS files that price the demo's stay, anesthesia and lab lines,
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


# A psychiatric stay billed by revenue code with its MS-DRG (885), priced per stay at 140% of IPPS.
STAY_LINES = (
    ("0124", "9148.00", 4),
    ("0250", "48.10", 28),
    ("0260", "133.00", 1),
    ("0300", "32.90", 1),
    ("0301", "798.50", 4),
    ("0305", "200.60", 2),
    ("0306", "175.00", 1),
    ("0307", "113.60", 2),
    ("0351", "6517.00", 2),
)


def _stay(claim: str, client: str, state: str, zip_code: str) -> dict[str, Any]:
    admitted = datetime.now(UTC).date() - timedelta(days=40)
    lines = [
        {"revenue_code": code, "units": units, "charge": charge, "service_date": admitted.isoformat()}
        for code, charge, units in STAY_LINES
    ]
    body = _bill(claim, client, state, zip_code, lines)
    body.pop("place_of_service")
    body["facility"]["npi"] = PROVIDER["npi"]
    body.update(
        claim_type="institutional",
        type_of_bill="0111",
        admission_date=admitted.isoformat(),
        discharge_date=(admitted + timedelta(days=4)).isoformat(),
        drg="885",
        discharge_status="01",
    )
    return body


# (bill, what happens next): "accept", "counter", "wait" or "none" (no case expected).
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
        # Unlisted services (Medicare status C, carrier-priced): on no schedule, so nothing to negotiate on.
        _bill("DEMO-1004", "harbor-comp", "TX", "75201", [_line("99199", "90.00"), _line("97799", "60.00")]),
        "none",
    ),
    (_bill("DEMO-1005", "harbor-comp", "GA", "30303", [_line("99213", "50.00")]), "none"),
    # Anesthesia for 61 minutes, medically directed (QK), in Miami (ZIP 33125 → locality 04).
    (
        _bill(
            "DEMO-1006",
            "acme-employers",
            "FL",
            "33125",
            [_line("00142", "1200.00", modifiers=["QK", "P2"], units=61, unit_of_measure="minutes")],
        ),
        "wait",
    ),
    (_stay("DEMO-1007", "acme-employers", "FL", "33125"), "wait"),
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


async def load_demo(urls: Mapping[str, str], api_key: str, tokens: Mapping[str, str]) -> list[dict[str, Any]]:
    """Post the demo bills (as the partner) and play their negotiations (as the negotiator; the
    supervisor records signatures). Returns one summary row per bill."""
    summary = []
    auth = {"Authorization": f"Bearer {api_key}"}
    negotiator = {"Authorization": f"Bearer {tokens['negotiator']}"}
    supervisor = {"Authorization": f"Bearer {tokens['supervisor']}"}
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
            elif plan == "counter":
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
            if plan in ("accept", "counter"):
                agreements = await _wait_for(
                    client,
                    f"{urls['agreements']}/v1/agreements?case_id={case['id']}",
                    lambda body: bool(body["items"]),
                    headers=negotiator,
                )
                agreement = agreements["items"][0]
                await client.post(
                    f"{urls['agreements']}/v1/agreements/{agreement['id']}/signature",
                    json={"signer_name": "Dana Smith", "signer_title": "Business office manager"},
                    headers={**key, **supervisor},
                )
                await _wait_for(
                    client, f"{urls['intake']}/v1/bills/{bill_id}", lambda b: b["status"] == "settled"
                )
            final = (await client.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
            summary.append({"claim": bill["partner_claim_id"], "bill_id": bill_id, "status": final["status"]})
    return summary
