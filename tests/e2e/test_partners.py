"""Partners: keys, isolation between partners and clients, per-partner idempotency, the audit log, lists."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest

from shared.catalog import service
from shared.stack.devstack import DevStack
from tests.helpers import KeyMaker, auth_header, bill, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e


async def test_no_key_a_bad_key_or_a_revoked_key_is_401(
    http: httpx.AsyncClient, urls: dict[str, str], stack: DevStack
) -> None:
    intake = urls["intake"]
    anonymous = await http.post(f"{intake}/v1/bills", json=bill(), headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    for key in ("nonsense", "prly_000000000000_" + "x" * 43):
        response = await http.get(f"{intake}/v1/bills", headers=auth_header(key))
        assert response.status_code == 401, key

    # The operator's command issues the key and revokes it; the key works in between.
    env = {**os.environ, "PARLEY_DATABASE_URL": stack.database_url(service("intake"))}

    def parley(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "shared.cli", "intake", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    key = (
        await asyncio.to_thread(
            parley, "keys", "create", "--partner", "cli-partner", "--client", "cli-client", "--quiet"
        )
    ).strip()
    assert key.startswith("prly_")
    ok = await submit_bill(http, urls, bill(client_id="cli-client"), key=key)
    assert ok.status_code == 201, ok.text
    key_id = key.split("_")[1]
    listed = await asyncio.to_thread(parley, "keys", "list", "--partner", "cli-partner")
    assert key_id in listed
    assert key.split("_", 2)[2] not in listed  # the secret is never shown again
    await asyncio.to_thread(parley, "keys", "revoke", key_id)

    async def refused() -> bool:
        return (await http.get(f"{intake}/v1/bills", headers=auth_header(key))).status_code == 401

    await wait_until(refused, timeout=10, what="the revoked key to be refused")


async def test_keys_are_stored_hashed(db: asyncpg.Connection, partner_key: str) -> None:
    key_id = partner_key.split("_")[1]
    row = await db.fetchrow("SELECT * FROM intake.api_keys WHERE id = $1", key_id)
    assert partner_key.split("_", 2)[2] not in str(dict(row))
    assert len(row["secret_hash"]) == 64


async def test_a_partner_never_sees_another_partners_bill(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker
) -> None:
    client = unique("shared-client")  # both partners act for the same client
    key_a = await make_key(unique("partner-a"), [client])
    key_b = await make_key(unique("partner-b"), [client])
    body = bill(client_id=client)
    created = await submit_bill(http, urls, body, key=key_a)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]
    intake = urls["intake"]
    assert (await http.get(f"{intake}/v1/bills/{bill_id}", headers=auth_header(key_a))).status_code == 200
    other = await http.get(f"{intake}/v1/bills/{bill_id}", headers=auth_header(key_b))
    assert other.status_code == 404
    listed = await http.get(f"{intake}/v1/bills", params={"client_id": client}, headers=auth_header(key_b))
    assert listed.json()["items"] == []
    # B cannot replace or void A's bill either: for B there is nothing to replace.
    replaced = await submit_bill(http, urls, {**body, "frequency": "replacement"}, key=key_b)
    assert replaced.status_code == 422
    assert replaced.json()["errors"][0]["type"] == "not_found"
    # The same claim number is B's own claim: a different bill.
    own = await submit_bill(http, urls, body, key=key_b)
    assert own.status_code == 201
    assert own.json()["id"] != bill_id


async def test_a_key_acts_only_for_its_clients(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker
) -> None:
    partner = unique("partner")
    mine, theirs = unique("client"), unique("client")
    key_all = await make_key(partner, ["*"])
    key_mine = await make_key(partner, [mine])
    forbidden = await submit_bill(http, urls, bill(client_id=theirs), key=key_mine)
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["field"] == "client_id"
    other = await submit_bill(http, urls, bill(client_id=theirs), key=key_all)
    assert other.status_code == 201
    intake = urls["intake"]
    hidden = await http.get(f"{intake}/v1/bills/{other.json()['id']}", headers=auth_header(key_mine))
    assert hidden.status_code == 404
    scoped = await http.get(f"{intake}/v1/bills", params={"client_id": theirs}, headers=auth_header(key_mine))
    assert scoped.status_code == 403


async def test_idempotency_keys_are_per_partner(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker
) -> None:
    client = unique("client")
    key_a = await make_key(unique("partner"), [client])
    key_b = await make_key(unique("partner"), [client])
    same = {"Idempotency-Key": str(uuid.uuid4())}
    a = await submit_bill(http, urls, bill(client_id=client), same, key=key_a)
    b = await submit_bill(http, urls, bill(client_id=client), same, key=key_b)
    assert a.status_code == b.status_code == 201
    assert a.headers["Idempotent-Replayed"] == b.headers["Idempotent-Replayed"] == "false"
    assert a.json()["id"] != b.json()["id"]


async def test_reading_a_bill_is_audited_and_patient_data_stays_out_of_lists_and_logs(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, partner_key: str, stack: DevStack
) -> None:
    body = bill()
    body["patient"] = {"first_name": "Zebulon", "last_name": "Quackenbush", "birth_date": "1970-02-03"}
    created = await submit_bill(http, urls, body)
    assert "Quackenbush" not in created.text  # the receipt carries no patient data
    bill_id = created.json()["id"]
    read = await http.get(f"{urls['intake']}/v1/bills/{bill_id}", headers={"X-Request-Id": "audit-me"})
    assert read.json()["patient"]["last_name"] == "Quackenbush"
    entries = await db.fetch(
        "SELECT * FROM intake.audit_log WHERE object_type = 'bill' AND object_id = $1", bill_id
    )
    assert [
        (e["actor_kind"], e["actor"], e["token_id"], e["action"], e["client_id"], e["request_id"])
        for e in entries
    ] == [("partner", "test-partner", partner_key.split("_")[1], "read:bill", body["client_id"], "audit-me")]
    listed = await http.get(f"{urls['intake']}/v1/bills", params={"client_id": body["client_id"]})
    assert listed.json()["items"][0]["id"] == bill_id
    assert "Quackenbush" not in listed.text
    await asyncio.sleep(0.5)
    assert "Quackenbush" not in (stack.logs / "intake.log").read_text()


async def test_list_filters_and_pages(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    client = unique("client")
    ids = [(await submit_bill(http, urls, bill(client_id=client))).json()["id"] for _ in range(5)]
    intake = urls["intake"]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"client_id": client, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(f"{intake}/v1/bills", params=params)).json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    none = await http.get(f"{intake}/v1/bills", params={"client_id": client, "status": "settled"})
    assert none.json()["items"] == []
    received = await http.get(
        f"{intake}/v1/bills", params={"client_id": client, "status": ["received", "priced", "repriced"]}
    )
    assert len(received.json()["items"]) == 5
    bad = await http.get(f"{intake}/v1/bills", params={"cursor": "%%%"})
    assert bad.status_code == 422
