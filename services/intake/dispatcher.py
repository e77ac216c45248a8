"""Delivering queued webhooks, with retries, until each is delivered or given up on.

Invariants (the outbox relay's, applied to HTTP):
- A delivery is claimed by one statement that locks it (``FOR UPDATE SKIP LOCKED``) and stamps a lease
  (database clock). Several intake instances can run; one that dies loses only its lease.
- A bill's deliveries go out in order: a delivery is claimable only when no older delivery of the same
  bill is still pending (delivered or given up on), so a partner never sees ``settled`` before ``agreed``.
- An attempt is recorded (and the delivery marked) only if the lease still holds.
- A failure is retried with exponential backoff (``PARLEY_INTAKE_WEBHOOK_BACKOFF_SECONDS`` doubling up
  to ``…_MAX_SECONDS``); after ``…_MAX_ATTEMPTS`` the delivery is marked failed (a partner can ask for
  it again). A crash between sending and recording sends it again: receivers de-duplicate on the id.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.config import IntakeSettings
from services.intake.secrets import SecretsKeyError
from services.intake.webhooks import (
    EVENT_TYPE,
    NOTIFY_CHANNEL,
    SIGNATURE_HEADER,
    UnsafeUrl,
    check_url,
    signature,
)
from shared.db import listen

log = structlog.get_logger(__name__)

_CLAIM = text(
    """
    WITH due AS (
        SELECT d.id FROM intake.webhook_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until < now())
          AND NOT EXISTS (
              SELECT 1 FROM intake.webhook_deliveries older
              WHERE older.partner_id = d.partner_id AND older.bill_id = d.bill_id
                AND older.status = 'pending' AND older.seq < d.seq
          )
        ORDER BY d.next_attempt_at, d.seq
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE intake.webhook_deliveries w
    SET lease_token = :token, lease_until = now() + make_interval(secs => :lease),
        attempts = w.attempts + 1
    FROM due, intake.partners p
    WHERE w.id = due.id AND p.id = w.partner_id
    RETURNING w.id, w.body, w.attempts, p.webhook_url, p.webhook_secret
    """
)

_RECORD = text(
    """
    WITH marked AS (
        UPDATE intake.webhook_deliveries
        SET status = :status, next_attempt_at = :next_attempt_at, last_status_code = :status_code,
            last_error = :error, delivered_at = :delivered_at, lease_token = NULL, lease_until = NULL
        WHERE id = :id AND lease_token = :token
        RETURNING id
    )
    INSERT INTO intake.webhook_attempts (delivery_id, attempt, at, url, status_code, error, duration_ms)
    SELECT id, :attempt, :at, :url, :status_code, :error, :duration_ms FROM marked
    """
)


class Dispatcher:
    def __init__(self, settings: IntakeSettings, engine: AsyncEngine) -> None:
        self._settings = settings
        self._engine = engine
        self._wake = asyncio.Event()

    def backoff(self, attempts: int) -> float:
        base = self._settings.intake_webhook_backoff_seconds * 2 ** (attempts - 1)
        return min(self._settings.intake_webhook_backoff_max_seconds, base) * random.uniform(0.9, 1.1)

    async def run(self) -> None:
        """Deliver until cancelled. Woken by NOTIFY; polls anyway (retries come due without one)."""
        listener = asyncio.create_task(
            listen(self._settings.database_url, NOTIFY_CHANNEL, self._wake), name="webhook-listener"
        )
        timeout = httpx.Timeout(self._settings.intake_webhook_timeout_seconds)
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                while True:
                    self._wake.clear()
                    try:
                        sent = await self.deliver_due(client)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("webhooks.dispatch_error")
                        sent = 0
                        await asyncio.sleep(1.0)
                    if sent:
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), timeout=self._settings.intake_webhook_poll_seconds
                        )
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        token = uuid.uuid4()
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    _CLAIM,
                    {
                        "limit": self._settings.intake_webhook_batch_size,
                        "token": token,
                        "lease": self._settings.intake_webhook_lease_seconds,
                    },
                )
            ).all()
        outcomes = await asyncio.gather(*(self._attempt(client, row) for row in rows))
        async with self._engine.begin() as conn:
            for row, outcome in zip(rows, outcomes, strict=True):
                await conn.execute(_RECORD, {**outcome, "id": row.id, "token": token})
        return len(rows)

    async def _attempt(self, client: httpx.AsyncClient, row: Any) -> dict[str, Any]:
        started = time.perf_counter()
        at = datetime.now(UTC)
        status_code: int | None = None
        error: str | None = None
        url = row.webhook_url or ""
        if not row.webhook_url or not row.webhook_secret:
            error = "the partner has no webhook registered any more"
        else:
            try:
                await asyncio.to_thread(check_url, url, allow_private=self._settings.webhooks_may_be_private)
                timestamp = int(time.time())
                response = await client.post(
                    url,
                    content=row.body.encode(),
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": "Parley-Webhooks/1",
                        "Parley-Event-Id": str(row.id),
                        "Parley-Event-Type": EVENT_TYPE,
                        "Parley-Delivery-Attempt": str(row.attempts),
                        SIGNATURE_HEADER: signature(
                            self._settings.secret_box.open(row.webhook_secret), timestamp, row.body
                        ),
                    },
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"the receiver answered {status_code}"
            except (UnsafeUrl, SecretsKeyError) as exc:
                error = str(exc)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        delivered = error is None
        gave_up = not delivered and row.attempts >= self._settings.intake_webhook_max_attempts
        if not delivered:
            log.info("webhook.attempt_failed", delivery_id=str(row.id), attempt=row.attempts, error=error)
        return {
            "status": "delivered" if delivered else ("failed" if gave_up else "pending"),
            "next_attempt_at": at
            if delivered or gave_up
            else at + timedelta(seconds=self.backoff(row.attempts)),
            "status_code": status_code,
            "error": error,
            "delivered_at": at if delivered else None,
            "attempt": row.attempts,
            "at": at,
            "url": url,
            "duration_ms": int((time.perf_counter() - started) * 1000),
        }
