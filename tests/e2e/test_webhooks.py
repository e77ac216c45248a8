"""Webhooks to a real HTTP receiver on loopback: signed, in order per bill, retried, durable."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.intake.secrets import development_key
from shared.catalog import service
from shared.stack.broker import free_port
from shared.stack.devstack import DevStack
from tests.helpers import KeyMaker, auth_header, bill, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300) -> bool:
    """What a partner runs (the README shows the same): HMAC-SHA256 over "<t>.<body>", recent t."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - timestamp) < tolerance


@dataclass
class Receiver:
    port: int
    fail_next: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/parley-hook"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response(status_code=503)
        self.received.append((dict(request.headers), body))
        return Response(status_code=204)

    async def up(self) -> None:
        app = Starlette(routes=[Route("/parley-hook", self._hook, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.task = asyncio.create_task(self.server.serve())
        server = self.server

        async def started() -> bool:
            return server.started

        await wait_until(started, timeout=10, interval=0.02, what="the receiver to listen")

    async def down(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
            self.server = self.task = None

    def events(self, bill_id: str) -> list[dict[str, Any]]:
        docs = [json.loads(body) for _, body in self.received]
        return [d for d in docs if d["data"]["id"] == bill_id]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(port=free_port())
    try:
        yield hook
    finally:
        await hook.down()


async def register(http: httpx.AsyncClient, urls: dict[str, str], key: str, url: str) -> str:
    response = await http.put(f"{urls['intake']}/v1/webhook", json={"url": url}, headers=auth_header(key))
    assert response.status_code == 200, response.text
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    return secret


async def test_status_changes_arrive_signed_in_order_and_failures_are_retried(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker, receiver: Receiver
) -> None:
    client = unique("client")
    key = await make_key(unique("hooked"), [client])
    await receiver.up()
    secret = await register(http, urls, key, receiver.url)
    receiver.fail_next = 2  # the first delivery fails twice, then succeeds
    bill_id = (await submit_bill(http, urls, bill(client_id=client), key=key)).json()["id"]

    async def three() -> list[dict[str, Any]] | None:
        events = receiver.events(bill_id)
        return events if len(events) >= 3 else None

    events = await wait_until(three, what="received, priced and repriced")
    # bill.priced and the case's repricing reach intake on two topics, in either order: each is sent in
    # the order it happened here. Priced first: "priced", then "repriced". Repriced first: "repriced",
    # then the priced amount arriving after it, sent too, under the bill's status, still "repriced".
    statuses = [e["data"]["status"] for e in events][:3]
    assert statuses[0] == "received"
    assert statuses[1:] in (["priced", "repriced"], ["repriced", "repriced"])
    assert events[1]["data"]["priced_amount"] is None or statuses[1] == "priced"
    priced = events[2]["data"]  # the latest of the three carries the priced amount in either order
    assert priced["priced_amount"] is not None
    assert priced["pricing_method"] == "fee_schedule"
    for headers, body in receiver.received:
        assert verify(secret, headers["parley-signature"], body)
        assert not verify("whsec_wrong", headers["parley-signature"], body)
        assert headers["parley-event-id"] == json.loads(body)["id"]
    assert len({e["id"] for e in events}) == len(events)

    log = (await http.get(f"{urls['intake']}/v1/webhook/deliveries", headers=auth_header(key))).json()
    first = log["items"][-1]
    assert (first["status"], first["attempts"], first["body"]["data"]["status"]) == (
        "delivered",
        3,
        "received",
    )
    detail = (
        await http.get(f"{urls['intake']}/v1/webhook/deliveries/{first['id']}", headers=auth_header(key))
    ).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [503, 503, 204]
    other = await make_key(unique("other"), [client])
    hidden = await http.get(
        f"{urls['intake']}/v1/webhook/deliveries/{first['id']}", headers=auth_header(other)
    )
    assert hidden.status_code == 404


async def test_deliveries_survive_a_restart_and_a_failed_one_can_be_sent_again(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker, receiver: Receiver, stack: DevStack
) -> None:
    client = unique("client")
    key = await make_key(unique("hooked"), [client])
    await register(http, urls, key, receiver.url)  # nothing listens there yet
    first = (await submit_bill(http, urls, bill(client_id=client), key=key)).json()["id"]
    deliveries = f"{urls['intake']}/v1/webhook/deliveries"

    async def tried_once() -> dict[str, Any] | None:
        items = (await http.get(deliveries, params={"bill_id": first}, headers=auth_header(key))).json()[
            "items"
        ]
        return items[-1] if items and items[-1]["last_error"] else None  # an attempt made and recorded

    pending = await wait_until(tried_once, what="a first failed attempt")
    assert (pending["status"], pending["last_status_code"]) == ("pending", None)
    assert "ConnectError" in pending["last_error"]
    stack.stop_service("intake")  # the queue is a table: nothing is lost with the process
    await receiver.up()
    stack.start_service("intake")
    await stack.wait_ready(["intake"])

    async def after_restart() -> list[dict[str, Any]] | None:
        # "priced" itself may never be a status the partner sees: when the case opens first, the bill
        # goes straight to repriced and the priced amount follows in a later delivery.
        seen = [e["data"] for e in receiver.events(first)]
        received = any(d["status"] == "received" for d in seen)
        return seen if received and any(d["priced_amount"] is not None for d in seen) else None

    await wait_until(after_restart, what="the queued deliveries after the restart")

    # A delivery the receiver keeps refusing is given up on after the last attempt, and can be sent again.
    receiver.fail_next = 1000
    second = (await submit_bill(http, urls, bill(client_id=client), key=key)).json()["id"]

    async def given_up() -> dict[str, Any] | None:
        params = {"bill_id": second, "status": "failed"}
        items = (await http.get(deliveries, params=params, headers=auth_header(key))).json()["items"]
        return items[0] if items else None

    failed = await wait_until(given_up, what="the delivery to be given up on (6 attempts)")
    assert (failed["attempts"], failed["last_status_code"]) == (6, 503)
    receiver.fail_next = 0
    again = await http.post(f"{deliveries}/{failed['id']}/redeliver", headers=auth_header(key))
    assert again.json()["status"] == "pending"

    async def redelivered() -> bool:
        return any(e["id"] == failed["id"] for e in receiver.events(second))

    await wait_until(redelivered, what="the failed delivery, sent again")


async def test_webhook_registration(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker
) -> None:
    key = await make_key(unique("partner"), ["c"])
    hook = f"{urls['intake']}/v1/webhook"
    assert (await http.get(hook, headers=auth_header(key))).status_code == 404
    for url in ("not a url", "ftp://example.com/x", "https://user:pw@example.com/x"):
        refused = await http.put(hook, json={"url": url}, headers=auth_header(key))
        assert refused.status_code == 422, url
    first = await register(http, urls, key, "http://127.0.0.1:9/a")
    changed = await http.put(hook, json={"url": "http://127.0.0.1:9/b"}, headers=auth_header(key))
    assert changed.json()["secret"] is None  # same secret until rotated
    rotated = await http.put(
        hook, json={"url": "http://127.0.0.1:9/b", "rotate_secret": True}, headers=auth_header(key)
    )
    assert rotated.json()["secret"] not in (None, first)
    assert (await http.get(hook, headers=auth_header(key))).json()["url"] == "http://127.0.0.1:9/b"
    assert (await http.delete(hook, headers=auth_header(key))).status_code == 204
    assert (await http.get(hook, headers=auth_header(key))).status_code == 404


# --- secrets at rest -------------------------------------------------------------------------------


def _reencrypt(stack: DevStack, keys: list[bytes]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PARLEY_DATABASE_URL": stack.database_url(service("intake")),
        "PARLEY_SECRETS_KEYS": ",".join(k.decode() for k in keys),
    }
    command = [sys.executable, "-m", "shared.cli", "intake", "webhooks", "reencrypt"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


async def test_secrets_are_encrypted_at_rest_and_rotate_to_a_new_key(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    make_key: KeyMaker,
    receiver: Receiver,
    db: asyncpg.Connection,
    stack: DevStack,
) -> None:
    partner, client = unique("sealed"), unique("client")
    key = await make_key(partner, [client])
    await receiver.up()
    secret = await register(http, urls, key, receiver.url)
    stored = await db.fetchval("SELECT webhook_secret FROM intake.partners WHERE id = $1", partner)
    assert secret not in stored
    current = development_key()  # what the test stack runs with (PARLEY_SECRETS_KEYS unset)
    assert Fernet(current).decrypt(stored.encode()).decode() == secret

    # Deliveries are still signed with the secret the partner was given.
    bill_id = (await submit_bill(http, urls, bill(client_id=client), key=key)).json()["id"]
    await wait_until(lambda: _received(receiver, bill_id), what="a delivery")
    headers, body = receiver.received[0]
    assert verify(secret, headers["parley-signature"], body)

    # Rotation: a new key first, re-encrypt, and the old key is no longer needed for this secret.
    new = Fernet.generate_key()
    done = await asyncio.to_thread(_reencrypt, stack, [new, current])
    assert done.returncode == 0, done.stderr
    assert "re-encrypted" in done.stdout
    rotated = await db.fetchval("SELECT webhook_secret FROM intake.partners WHERE id = $1", partner)
    assert rotated != stored
    assert Fernet(new).decrypt(rotated.encode()).decode() == secret
    with pytest.raises(InvalidToken):
        Fernet(current).decrypt(rotated.encode())
    # Back to the stack's key, so the running intake keeps signing this partner's deliveries.
    restored = await asyncio.to_thread(_reencrypt, stack, [current, new])
    assert restored.returncode == 0, restored.stderr
    back = await db.fetchval("SELECT webhook_secret FROM intake.partners WHERE id = $1", partner)
    assert MultiFernet([Fernet(current)]).decrypt(back.encode()).decode() == secret


async def _received(receiver: Receiver, bill_id: str) -> bool:
    return bool(receiver.events(bill_id))
