"""Webhooks: each change of a bill's status, posted to the partner's URL, signed.

A delivery is a row in ``webhook_deliveries`` written in the transaction that changed the status (so a
status change and its notification commit together, and survive restarts). The dispatcher
(:mod:`services.intake.dispatcher`) drains the table the way the outbox relay drains the outbox: leases,
``FOR UPDATE SKIP LOCKED``, NOTIFY to wake it.

The body is signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` using the partner's webhook secret and
sent as ``Parley-Signature: t=<timestamp>,v1=<hex digest>``. The event id (``Parley-Event-Id`` and the
body's ``id``) is the same on every attempt, so the receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.schemas import BillSummary

EVENT_TYPE = "bill.status_changed"
NOTIFY_CHANNEL = "intake_webhooks"
SIGNATURE_HEADER = "Parley-Signature"


@dataclass(frozen=True)
class StatusChanged:
    bill: BillSummary
    at: datetime


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def body_of(event_id: uuid.UUID, change: StatusChanged) -> str:
    document = {
        "id": str(event_id),
        "type": EVENT_TYPE,
        "created_at": datetime.now(UTC).isoformat(),
        "data": {**change.bill.model_dump(mode="json"), "occurred_at": change.at.isoformat()},
    }
    return json.dumps(document, separators=(",", ":"))


def signature(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


_ENQUEUE = text(
    """
    WITH queued AS (
        INSERT INTO intake.webhook_deliveries (id, partner_id, bill_id, event_type, body)
        SELECT d.id, p.id, d.bill_id, :event_type, d.body
        FROM unnest(CAST(:ids AS uuid[]), CAST(:bill_ids AS uuid[]), CAST(:bodies AS text[]))
             WITH ORDINALITY AS d(id, bill_id, body, n)
        JOIN intake.partners p ON p.id = :partner_id AND p.webhook_url IS NOT NULL
        ORDER BY d.n
        RETURNING 1
    )
    SELECT pg_notify(:channel, '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_queued
    """
)


async def enqueue(session: AsyncSession, partner_id: str, changes: Sequence[StatusChanged]) -> None:
    """Queue a delivery per change if the partner has a webhook; one statement, a no-op otherwise."""
    if not changes:
        return
    ids = [uuid.uuid4() for _ in changes]
    await session.execute(
        _ENQUEUE,
        {
            "event_type": EVENT_TYPE,
            "ids": ids,
            "bill_ids": [c.bill.id for c in changes],
            "bodies": [body_of(i, c) for i, c in zip(ids, changes, strict=True)],
            "partner_id": partner_id,
            "channel": NOTIFY_CHANNEL,
        },
    )


class UnsafeUrl(ValueError):
    """A webhook URL Parley will not call."""


def check_url(url: str, *, allow_private: bool) -> str:
    """Refuse URLs that would make Parley call into its own network (unless explicitly allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl("a webhook URL is an absolute https:// URL")
    if parts.username or parts.password:
        raise UnsafeUrl("a webhook URL may not carry credentials; the signature authenticates Parley")
    if allow_private:
        return url
    if parts.scheme != "https":
        raise UnsafeUrl("a webhook URL must use https")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl("the webhook host does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeUrl("the webhook host resolves to a private or reserved address")
    return url
