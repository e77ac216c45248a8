"""Access on the running services: every route closed by default, the role × action matrix, client
scoping, token revocation, and the audit log (written with each read and change, immutable).

Users are created the way ``parley users create`` does (``make_user``, ``staff``); tokens reach each
service as ``identity.events``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

import asyncpg
import httpx
import pytest

from shared.auth import LINK_PAGE_PREFIXES, PUBLIC_PATHS
from shared.auth.dependency import app_routes
from shared.catalog import SERVICES, service
from shared.stack.devstack import DevStack
from tests.helpers import (
    ROLES,
    UserMaker,
    agree_case,
    auth_header,
    bill,
    negotiable_bill,
    submit_bill,
    unique,
    wait_until,
)

pytestmark = pytest.mark.e2e

PARTNER_PREFIXES = ("/v1/bills", "/v1/webhook")  # intake's partner routes: partner keys only
WRITES = {"post", "put", "patch", "delete"}


def _concrete(path: str) -> str:
    """A path template with every parameter filled in (ids that exist nowhere)."""
    return re.sub(r"\{([^}]+)\}", lambda m: "1" if m.group(1) == "revision" else str(uuid.uuid4()), path)


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/static")


def _link_page(path: str) -> bool:
    return path.startswith(LINK_PAGE_PREFIXES)


async def _call(client: httpx.AsyncClient, method: str, url: str, **headers: str) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers}
    if method in WRITES:
        kwargs["json"] = {}
    return await client.request(method.upper(), url, **kwargs)


async def test_every_route_of_every_service_is_closed_to_no_credentials_partner_keys_and_auditor_writes(
    urls: dict[str, str], partner_key: str, staff_tokens: dict[str, str]
) -> None:
    auditor, admin = staff_tokens["auditor"], staff_tokens["admin"]
    wrong: list[str] = []
    read_only_posts: list[str] = []
    counted: dict[str, tuple[int, int]] = {}
    async with httpx.AsyncClient(timeout=30.0) as client:
        for info in SERVICES:
            base = urls[info.name]
            document = (await client.get(f"{base}/openapi.json")).json()
            operations = [(m, p, op) for p, ops in document["paths"].items() for m, op in ops.items()]
            # Routes the app serves outside its OpenAPI document (pages, static files): from the app itself.
            app = import_module(f"services.{info.name}.main").create_app()
            hidden = sorted(
                (method.lower(), getattr(route, "path_format", None) or route.path)
                for route in app_routes(app)
                if not getattr(route, "include_in_schema", False)
                for method in (getattr(route, "methods", None) or {"GET"}) - {"HEAD"}
            )
            everything = {(m, p) for m, p, _ in operations} | set(hidden)
            counted[info.name] = (len(everything), sum(1 for _, p in everything if _public(p)))
            # What is open is the public list, no more (and every service serves all of it).
            opened = {"/static" if p.startswith("/static") else p for _, p in everything if _public(p)}
            assert opened == PUBLIC_PATHS, info.name
            for method, path in sorted(everything):
                if _public(path):
                    continue
                if _link_page(path):  # its own token is the credential: a made-up one finds nothing
                    unknown = await _call(client, method, base + _concrete(path), Accept="text/html")
                    if unknown.status_code != 404:
                        wrong.append(
                            f"{info.name} {method.upper()} {path}: unknown link → {unknown.status_code}"
                        )
                    continue
                url = base + _concrete(path)
                label = f"{info.name} {method.upper()} {path}"
                anonymous = await _call(client, method, url, Accept="application/json")
                if anonymous.status_code != 401 or not anonymous.headers.get(
                    "www-authenticate", ""
                ).startswith("Bearer"):
                    wrong.append(f"{label}: no credentials → {anonymous.status_code}")
                partner_route = info.name == "intake" and path.startswith(PARTNER_PREFIXES)
                if partner_route:
                    as_user = await _call(client, method, url, Authorization=f"Bearer {admin}")
                    if as_user.status_code != 401:
                        wrong.append(f"{label}: an admin's token on a partner route → {as_user.status_code}")
                    continue
                as_partner = await _call(client, method, url, Authorization=f"Bearer {partner_key}")
                if as_partner.status_code != 401:
                    wrong.append(f"{label}: partner key → {as_partner.status_code}")
                operation = document["paths"].get(path, {}).get(method)
                if operation is not None and not operation.get("x-parley-roles"):
                    wrong.append(f"{label}: OpenAPI names no role")
                if method in WRITES:
                    as_auditor = await _call(client, method, url, Authorization=f"Bearer {auditor}")
                    # A POST that only reads (requires(..., write=False): verify a PDF) says so in OpenAPI.
                    reads = operation is not None and operation.get("x-parley-write") is False
                    if reads:
                        read_only_posts.append(f"{info.name} {method.upper()} {path}")
                        if as_auditor.status_code in (401, 403):
                            wrong.append(f"{label}: auditor refused a read → {as_auditor.status_code}")
                    elif as_auditor.status_code != 403:
                        wrong.append(f"{label}: auditor write → {as_auditor.status_code}")
    assert wrong == []
    assert read_only_posts == ["agreements POST /v1/agreements/verify"]
    # Routes (method, path) per service and how many are open: reported in the README.
    print("routes (total, open):", counted)  # noqa: T201


async def test_openapi_shows_the_security_schemes_and_each_routes_roles(urls: dict[str, str]) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        document = (await client.get(f"{urls['negotiation']}/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["UserToken"]["scheme"] == "bearer"
    assert schemes["BrowserSession"]["in"] == "cookie"
    respond = document["paths"]["/v1/cases/{case_id}/responses"]["post"]
    assert respond["x-parley-roles"] == ["negotiator", "supervisor"]
    assert "**Roles**: negotiator, supervisor (an auditor can never write)." in respond["description"]
    assert {"UserToken": []} in respond["security"]
    assert document["paths"]["/v1/audit"]["get"]["x-parley-roles"] == ["admin", "auditor"]


async def _case_for(
    http: httpx.AsyncClient, reader: httpx.AsyncClient, urls: dict[str, str], client_id: str
) -> tuple[str, dict[str, Any]]:
    # A bill above its U&C target (tests/fixtures/negotiation): its case opens on the negotiate route.
    body = negotiable_bill(
        client_id=client_id,
        patient={"first_name": "Ada", "last_name": "Lovelace", "birth_date": "1980-12-10"},
    )
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]

    async def opened() -> dict[str, Any] | None:
        found = (await reader.get(f"{urls['negotiation']}/v1/cases", params={"bill_id": bill_id})).json()
        return found["items"][0] if found.get("items") else None

    return bill_id, await wait_until(opened, what="a case")


async def _agreement_for(reader: httpx.AsyncClient, urls: dict[str, str], case_id: str) -> dict[str, Any]:
    async def sent() -> dict[str, Any] | None:
        found = (await reader.get(f"{urls['agreements']}/v1/agreements", params={"case_id": case_id})).json()
        return found["items"][0] if found.get("items") else None

    return await wait_until(sent, what="the agreement")


async def test_the_role_by_action_matrix(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], uc_reference: None
) -> None:
    client_id = unique("matrix")
    bill_id, case = await _case_for(http, staff["negotiator"], urls, client_id)
    i, p, n, a, r = (urls[s] for s in ("intake", "pricing", "negotiation", "agreements", "reporting"))
    responses = f"{n}/v1/cases/{case['id']}/responses"
    reads = {
        "intake: staff read of a bill": ("GET", f"{i}/v1/internal/bills/{bill_id}", None),
        "intake: staff bill list": ("GET", f"{i}/v1/internal/bills?client_id={client_id}", None),
        "pricing: read a pricing": ("GET", f"{p}/v1/pricings/{bill_id}", None),
        "pricing: read its statement": ("GET", f"{p}/v1/pricings/{bill_id}/revisions/1/statement", None),
        "pricing: reference datasets": ("GET", f"{p}/v1/reference/datasets", None),
        "negotiation: read a case": ("GET", f"{n}/v1/cases/{case['id']}", None),
        "reporting: KPIs": ("GET", f"{r}/v1/kpis?client_id={client_id}", None),
        "every service: who am I": ("GET", f"{a}/v1/me", None),
        "every service: audit log": ("GET", f"{a}/v1/audit?limit=1", None),
    }
    matrix: dict[str, dict[str, int]] = {}
    for what, (method, url, body) in reads.items():
        matrix[what] = {
            role: (await staff[role].request(method, url, json=body)).status_code for role in ROLES
        }
    # Writes: a role that may act gets past the door (2xx, or 409/422 once the first one changed the
    # case); one that may not gets 403 whatever the state.
    write_bodies = {
        "negotiation: record a response": [
            {"party": "provider", "decision": "counter", "amount": "1050.00", "contact": "Pat Lee"},
            {"party": "payer", "decision": "accept"},
        ],
    }
    matrix["negotiation: record a response"] = {}
    for role in ("viewer", "auditor", "admin", "negotiator", "supervisor"):
        attempt = write_bodies["negotiation: record a response"][0 if role == "negotiator" else -1]
        matrix["negotiation: record a response"][role] = (
            await staff[role].post(responses, json=attempt)
        ).status_code
    for party in ({"party": "provider", "contact": "Pat Lee"}, {"party": "payer"}):  # both sides confirm
        confirmed = await staff["negotiator"].post(f"{n}/v1/cases/{case['id']}/confirmations", json=party)
        assert confirmed.status_code == 200, confirmed.text
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    base = f"{a}/v1/agreements/{agreement['id']}"
    matrix["agreements: read the document"] = {
        role: (await staff[role].get(f"{base}/document")).status_code for role in ROLES
    }
    # Verifying a PDF changes nothing: every case reader may, the auditor included (it was 403).
    as_sent = (await staff["negotiator"].get(f"{base}/document")).content
    matrix["agreements: verify a PDF"] = {
        role: (
            await staff[role].post(
                f"{a}/v1/agreements/verify", content=as_sent, headers={"content-type": "application/pdf"}
            )
        ).status_code
        for role in ROLES
    }
    matrix["agreements: issue a signing link"] = {
        role: (await staff[role].post(f"{base}/recipients/provider/link")).status_code for role in ROLES
    }
    deadline = {"expires_at": (datetime.now(UTC) + timedelta(days=20)).isoformat()}
    matrix["agreements: move the deadline"] = {
        role: (await staff[role].post(f"{base}/deadline", json=deadline)).status_code for role in ROLES
    }
    matrix["pricing: reprice"] = {
        role: (
            await staff[role].post(f"{p}/v1/pricings/{bill_id}/reprice", json={"reason": "matrix"})
        ).status_code
        for role in ROLES
    }
    settings = f'[{{"client_id": "{client_id}", "uc_percentile": 75}}]'.encode()
    matrix["pricing: client settings"] = {
        role: (await staff[role].post(f"{p}/v1/reference/clients", content=settings)).status_code
        for role in ROLES
    }
    matrix["every service: dead letters"] = {
        role: (await staff[role].get(f"{r}/v1/admin/dlq")).status_code for role in ROLES
    }
    readers = {"negotiator": 200, "supervisor": 200, "auditor": 200, "admin": 200, "viewer": 403}
    assert matrix == {
        "intake: staff read of a bill": readers,
        "intake: staff bill list": readers,
        "pricing: read a pricing": readers,
        "pricing: read its statement": readers,
        "pricing: reference datasets": readers,
        "negotiation: read a case": readers,
        "reporting: KPIs": dict.fromkeys(ROLES, 200),
        "every service: who am I": dict.fromkeys(ROLES, 200),
        "every service: audit log": {**dict.fromkeys(ROLES, 403), "auditor": 200, "admin": 200},
        # The negotiator counters for the provider, the supervisor accepts for the payer.
        "negotiation: record a response": {
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "negotiator": 200,
            "supervisor": 200,
        },
        # The supervisor signs; the admin gets past the door and finds it signed already.
        # Staff never sign for the provider: they read the document, resend links and move deadlines.
        "agreements: read the document": readers,
        "agreements: verify a PDF": readers,
        "agreements: issue a signing link": {
            **dict.fromkeys(ROLES, 403),
            "negotiator": 201,
            "supervisor": 201,
        },
        "agreements: move the deadline": {**dict.fromkeys(ROLES, 403), "supervisor": 200, "admin": 200},
        "pricing: reprice": {**dict.fromkeys(ROLES, 403), "supervisor": 201, "admin": 201},
        "pricing: client settings": {**dict.fromkeys(ROLES, 403), "admin": 201},
        "every service: dead letters": {**dict.fromkeys(ROLES, 403), "admin": 200},
    }


async def test_a_user_sees_only_its_clients(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    make_user: UserMaker,
    uc_reference: None,
) -> None:
    mine, theirs = unique("client-a"), unique("client-b")
    token = await make_user(["negotiator"], [mine])
    bill_a, case_a = await _case_for(http, staff["supervisor"], urls, mine)
    bill_b, case_b = await _case_for(http, staff["supervisor"], urls, theirs)
    assert (await agree_case(staff["supervisor"], urls, case_b["id"]))["status"] == "agreed"
    agreement_b = await _agreement_for(staff["supervisor"], urls, case_b["id"])
    i, p, n, a, r = (urls[s] for s in ("intake", "pricing", "negotiation", "agreements", "reporting"))
    async with httpx.AsyncClient(timeout=30.0, headers=auth_header(token)) as me:
        # Their client's objects do not exist for me: 404, never 403.
        hidden = {
            "bill": (await me.get(f"{i}/v1/internal/bills/{bill_b}")).status_code,
            "pricing": (await me.get(f"{p}/v1/pricings/{bill_b}")).status_code,
            "statement": (await me.get(f"{p}/v1/pricings/{bill_b}/revisions/1/statement")).status_code,
            "case": (await me.get(f"{n}/v1/cases/{case_b['id']}")).status_code,
            "response": (
                await me.post(
                    f"{n}/v1/cases/{case_b['id']}/responses", json={"party": "payer", "decision": "accept"}
                )
            ).status_code,
            "agreement": (await me.get(f"{a}/v1/agreements/{agreement_b['id']}")).status_code,
            "kpis": (await me.get(f"{r}/v1/kpis", params={"client_id": theirs})).status_code,
        }
        assert hidden == dict.fromkeys(hidden, 404)
        # Mine are there.
        own = await me.get(f"{i}/v1/internal/bills/{bill_a}")
        assert own.status_code == 200
        assert own.json()["patient"]["last_name"] == "Lovelace"
        assert (await me.get(f"{p}/v1/pricings/{bill_a}")).status_code == 200
        assert (await me.get(f"{n}/v1/cases/{case_a['id']}")).status_code == 200
        # Lists hold only mine, whatever the filter.
        cases = (await me.get(f"{n}/v1/cases", params={"limit": 500})).json()["items"]
        assert {c["client_id"] for c in cases} == {mine}
        assert (await me.get(f"{n}/v1/cases", params={"client_id": theirs})).json()["items"] == []
        agreements = (await me.get(f"{a}/v1/agreements", params={"bill_id": bill_b})).json()["items"]
        assert agreements == []
        bills = (await me.get(f"{i}/v1/internal/bills", params={"client_id": theirs})).json()["items"]
        assert bills == []
        # KPIs over all of my clients are my client's alone: one bill received.
        assert (await me.get(f"{r}/v1/kpis")).json()["current"]["received"] == 1


def _parley(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARLEY_DATABASE_URL": stack.database_url(service("intake")), "COLUMNS": "300"}
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args], env=env, capture_output=True, text=True, check=False
    )


async def test_tokens_from_the_command_work_everywhere_until_revoked_or_the_user_disabled(
    stack: DevStack, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    user = f"{unique('dana')}@acme-cc.example"
    made = await asyncio.to_thread(
        _parley, stack, "users", "create", "--id", user, "--name", "Dana", "--role", "negotiator",
        "--role", "supervisor", "--client", "acme-employers", "--label", "laptop", "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    token_id, secret = token.split("_")[1], token.split("_", 2)[2]
    second = (await asyncio.to_thread(_parley, stack, "users", "token", user, "--quiet")).stdout.strip()

    async def status(client: httpx.AsyncClient, credential: str) -> set[int]:
        answers = [await client.get(f"{u}/v1/me", headers=auth_header(credential)) for u in urls.values()]
        return {a.status_code for a in answers}

    async with httpx.AsyncClient(timeout=10.0) as client:
        await wait_until(lambda: _only(status(client, token), 200), timeout=30, what="the token everywhere")
        me = (await client.get(f"{urls['agreements']}/v1/me", headers=auth_header(token))).json()
        assert (me["subject"], me["roles"], me["clients"], me["token_id"]) == (
            user, ["negotiator", "supervisor"], ["acme-employers"], token_id,
        )  # fmt: skip
        # Stored as hashes only, in intake and in every replica.
        for info in SERVICES:
            row = await db.fetchrow(
                f"SELECT * FROM {info.schema}.access_tokens WHERE token_id = $1", token_id
            )
            assert row is not None, info.name
            assert secret not in str(dict(row)), info.name
        listed = await asyncio.to_thread(_parley, stack, "users", "list")
        assert token_id in listed.stdout
        assert secret not in listed.stdout

        revoked = await asyncio.to_thread(_parley, stack, "users", "revoke", token_id)
        assert revoked.returncode == 0, revoked.stderr
        await wait_until(lambda: _only(status(client, token), 401), timeout=10, what="revocation everywhere")
        assert await status(client, second) == {200}  # the user's other token still works

        disabled = await asyncio.to_thread(_parley, stack, "users", "disable", user)
        assert disabled.returncode == 0, disabled.stderr
        await wait_until(lambda: _only(status(client, second), 401), timeout=10, what="the user disabled")
        refused = await client.get(f"{urls['pricing']}/v1/me", headers=auth_header(second))
        assert refused.json()["detail"] == "the user is disabled"
        bad = await client.get(f"{urls['pricing']}/v1/me", headers=auth_header(token[:-4] + "AAAA"))
        assert bad.status_code == 401


async def _only(statuses: Any, expected: int) -> bool:
    return await statuses == {expected}


async def test_reads_and_changes_are_audited_and_the_log_is_append_only(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    staff_tokens: dict[str, str],
    stack: DevStack,
    db: asyncpg.Connection,
    uc_reference: None,
) -> None:
    client_id = unique("audited")
    bill_id, case = await _case_for(http, staff["supervisor"], urls, client_id)
    negotiator = staff["negotiator"]
    read = await negotiator.get(
        f"{urls['intake']}/v1/internal/bills/{bill_id}", headers={"X-Request-Id": "r-1"}
    )
    assert read.status_code == 200
    assert (await negotiator.get(f"{urls['pricing']}/v1/pricings/{bill_id}")).status_code == 200
    responded = await negotiator.post(
        f"{urls['negotiation']}/v1/cases/{case['id']}/responses",
        json={"party": "provider", "decision": "counter", "amount": "1500.00", "contact": "Pat Lee"},
        headers={"X-Request-Id": "r-2", "User-Agent": "audit-test"},
    )
    assert responded.status_code == 200, responded.text

    bill_read = await db.fetchrow(
        "SELECT * FROM intake.audit_log WHERE object_id = $1 AND actor_kind = 'user'", bill_id
    )
    assert (bill_read["actor"], bill_read["roles"], bill_read["action"], bill_read["client_id"]) == (
        "negotiator@staff.test", ["negotiator"], "read:bill", client_id,
    )  # fmt: skip
    assert (bill_read["request_id"], bill_read["source_ip"], bill_read["via"]) == (
        "r-1",
        "127.0.0.1",
        "token",
    )
    assert "Lovelace" not in str(dict(bill_read))  # the entry names the bill, never the patient
    pricing_read = await db.fetchrow("SELECT * FROM pricing.audit_log WHERE object_id = $1", bill_id)
    assert (pricing_read["action"], pricing_read["client_id"]) == ("read:pricing", client_id)
    change = await db.fetchrow("SELECT * FROM negotiation.audit_log WHERE object_id = $1", case["id"])
    assert (change["action"], change["request_id"], change["user_agent"]) == (
        "respond:case",
        "r-2",
        "audit-test",
    )
    assert change["detail"] is not None
    assert '"counter"' in change["detail"]

    # The auditor reads it over HTTP, filtered; so does `parley audit`, across services.
    found = await staff["auditor"].get(
        f"{urls['negotiation']}/v1/audit", params={"object_type": "case", "object_id": case["id"]}
    )
    assert [(e["actor"], e["action"]) for e in found.json()["items"]] == [
        ("negotiator@staff.test", "respond:case")
    ]
    command = [
        "audit", "--client", client_id, "--token", staff_tokens["auditor"],
        *[f"--url={s.name}={urls[s.name]}" for s in SERVICES],
    ]  # fmt: skip
    done = await asyncio.to_thread(_parley, stack, *command)
    assert done.returncode == 0, done.stderr
    assert "3 audit entries" in done.stdout
    for action in ("read:bill", "read:pricing", "respond:case"):
        assert action in done.stdout

    # Append-only for each service's own role, and a trigger even for the database owner.
    for info in SERVICES:
        conn = await asyncpg.connect(
            stack.database_url(info).replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            for statement in (
                f"UPDATE {info.schema}.audit_log SET actor = 'someone else'",
                f"DELETE FROM {info.schema}.audit_log",
                f"TRUNCATE {info.schema}.audit_log",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statement)
            await conn.execute(
                f"INSERT INTO {info.schema}.audit_log (actor_kind, actor, roles, via, action, object_type) "
                "VALUES ('operator', 'test', '{}', 'command', 'check:append', 'test')"
            )  # adding is what it is for
        finally:
            await conn.close()
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("UPDATE negotiation.audit_log SET actor = 'someone else'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("DELETE FROM intake.audit_log")


async def test_platform_entries_are_seen_by_scoped_admins_and_auditors_client_entries_stay_scoped(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient], make_user: UserMaker
) -> None:
    # A client-scoped admin could not see its own `load:reference` entries (they belong to no client).
    mine, theirs = unique("mine"), unique("theirs")
    admin_id, auditor_id = f"{unique('adm')}@scoped.test", f"{unique('aud')}@scoped.test"
    admin = httpx.AsyncClient(timeout=30.0, headers=auth_header(await make_user(["admin"], [mine], admin_id)))
    auditor = httpx.AsyncClient(
        timeout=30.0, headers=auth_header(await make_user(["auditor"], [mine], auditor_id))
    )
    p = urls["pricing"]
    async with admin, auditor:
        settings = f'[{{"client_id": "{mine}", "uc_percentile": 75}}]'.encode()
        loaded = await admin.post(
            f"{p}/v1/reference/clients", content=settings, params={"source": "mine.json"}
        )
        assert loaded.status_code == 201, loaded.text
        # Another client's entry: an all-clients negotiator reads a pricing of theirs.
        bill_id = (await submit_bill(http, urls, bill(client_id=theirs))).json()["id"]

        async def priced() -> bool:
            return (await staff["negotiator"].get(f"{p}/v1/pricings/{bill_id}")).status_code == 200

        await wait_until(priced, what="the other client's bill priced")
        for reader in (admin, auditor):
            own = (await reader.get(f"{p}/v1/audit", params={"actor": admin_id})).json()["items"]
            assert [(e["action"], e["object_id"], e["client_id"]) for e in own] == [
                ("load:reference", "clients", None)
            ]
            theirs_entries = await reader.get(f"{p}/v1/audit", params={"object_id": bill_id})
            assert theirs_entries.json()["items"] == []
            asked = await reader.get(f"{p}/v1/audit", params={"client_id": theirs})
            assert asked.json()["items"] == []
        # The all-clients auditor sees the other client's read, so the entry is there to hide.
        everything = (await staff["auditor"].get(f"{p}/v1/audit", params={"object_id": bill_id})).json()
        assert {(e["action"], e["client_id"]) for e in everything["items"]} == {("read:pricing", theirs)}
