"""Queries on pricing's bills and pricings. Repositories flush; the caller's transaction commits.

Reference data (schedules, terms, the registry, edits) is read through ``reference`` and its cache.

The received-bill path (issue 13: most of a service's CPU is the cost of a statement) takes two
statements of its own, sent to asyncpg directly in the session's transaction: :meth:`receive` stores the
bill and answers all pricing needs to know of it, :meth:`add` stores a pricing with all its lines.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import (
    Pricing,
    ReceivedBill,
)
from services.pricing.reference_cache import TOKEN_QUERY
from shared.db import raw_connection

SCHEMA = "pricing"

# What pricing knows of a bill besides its payload (``b``: its row): its accepted payment, its latest
# pricing revision (0: never priced) and the reference version, read in the same statement so the
# decision needs no read of its own to open the reference cache. Plain PostgreSQL 17 (no RETURNING old).
_KNOWN = f"""b.agreed_amount, ({TOKEN_QUERY}) AS token,
    (SELECT coalesce(max(p.revision), 0) FROM {SCHEMA}.pricings p WHERE p.bill_id = $1) AS last_revision"""

# Stores a received bill unless this or a later revision of it is known (then no row: the bill is stale,
# or this revision was priced already under another event id). The row is locked either way, as
# ``SELECT … FOR UPDATE`` did.
_RECEIVE = f"""
INSERT INTO {SCHEMA}.bills AS b (bill_id, revision, client_id, payload, received_at, voided)
VALUES ($1, $2, $3, CAST($4 AS jsonb), $5, false)
ON CONFLICT (bill_id) DO UPDATE
    SET revision = EXCLUDED.revision, payload = EXCLUDED.payload, received_at = EXCLUDED.received_at
    WHERE b.revision < EXCLUDED.revision
RETURNING {_KNOWN}
"""

_STORED = f"""
SELECT b.payload, {_KNOWN}
FROM {SCHEMA}.bills b WHERE b.bill_id = $1 FOR UPDATE OF b
"""

_LINE_COLUMNS = (
    "line_number int, code text, modifiers text[], units numeric, service_date date, billed numeric, "
    "method_amount numeric, allowed numeric, basis text, reason text"
)
_PRICING_COLUMNS = (
    "id, bill_id, revision, bill_revision, trigger, client_id, method, jurisdiction, locality, multiplier, "
    "fee_schedule_id, contract_id, total_billed, total_allowed, unpriced_billed, decision, "
    "usual_and_customary, findings, statement, statement_sha256, priced_at"
)
# A pricing and all its lines (a JSON array of objects) in one statement.
_ADD = f"""
WITH pricing AS (
    INSERT INTO {SCHEMA}.pricings ({_PRICING_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
            CAST($16 AS jsonb), CAST($17 AS jsonb), CAST($18 AS jsonb), $19, $20, $21)
    RETURNING id
)
INSERT INTO {SCHEMA}.pricing_lines (pricing_id, line_number, code, modifiers, units, service_date, billed,
    method_amount, allowed, basis, reason)
SELECT pricing.id, l.line_number, l.code, l.modifiers, l.units, l.service_date, l.billed, l.method_amount,
    l.allowed, l.basis, l.reason
FROM pricing, jsonb_to_recordset(CAST($22 AS jsonb)) AS l({_LINE_COLUMNS})
"""


@dataclass(frozen=True)
class KnownBill:
    """What pricing knows of a bill as it prices it (:meth:`PricingRepository.receive`)."""

    agreed_amount: Decimal | None  # the payment the provider accepted (case.agreed), if any
    last_revision: int  # its latest pricing revision; 0: never priced
    reference_token: uuid.UUID  # the reference version (``reference_cache``) read with the bill

    @property
    def priced_before(self) -> bool:
        """Whether the bill may have observations already: they are only ever added with a pricing.

        Read in the statement's snapshot: should another transaction price the bill meanwhile (two
        first revisions at once), this transaction's pricing takes the same revision number and fails
        on ``UNIQUE (bill_id, revision)``, so it is retried and never prices on a stale answer."""
        return self.last_revision > 0


def _known(row: Any) -> KnownBill:
    return KnownBill(row["agreed_amount"], int(row["last_revision"]), row["token"])


class PricingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- bills and pricings --------------------------------------------------------------------

    async def _driver(self) -> Any:
        """The session's asyncpg connection, in its transaction: the hot path's statements skip
        SQLAlchemy's compile, execution and result layers."""
        # What an earlier event of the batch changed through the ORM (an accepted payment, a void) goes
        # first, as autoflush would send it before a statement through the session. Those handlers end
        # with such a statement, so this is a no-op today; it keeps the order if one ever does not.
        await self.session.flush()
        return await raw_connection(self.session)

    async def receive(
        self,
        bill_id: uuid.UUID,
        revision: int,
        client_id: str,
        payload_json: str,
        received_at: datetime,
    ) -> KnownBill | None:
        """Store a received bill (``payload_json``: what pricing keeps of it, as JSON), or replace the
        stored one by this later revision; None, with nothing changed, when this revision or a later one
        is already known (a revision is priced once, even if its event comes again under a new id).
        One statement; the bill's row stays locked until the transaction ends."""
        driver = await self._driver()
        row = await driver.fetchrow(_RECEIVE, bill_id, revision, client_id, payload_json, received_at)
        return None if row is None else _known(row)

    async def stored(self, bill_id: uuid.UUID) -> tuple[dict[str, Any], KnownBill] | None:
        """A known bill's payload and what pricing knows of it, locked (to price it again); one statement."""
        driver = await self._driver()
        row = await driver.fetchrow(_STORED, bill_id)
        return None if row is None else (row["payload"], _known(row))

    async def bill(self, bill_id: uuid.UUID, *, for_update: bool = False) -> ReceivedBill | None:
        # ``populate_existing``: :meth:`receive` writes the row past the ORM, so an instance loaded
        # earlier in the transaction (an earlier event of the consumer's batch) is refreshed.
        query = (
            select(ReceivedBill)
            .where(ReceivedBill.bill_id == bill_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def bills_priced_before(self, moment: datetime) -> Sequence[uuid.UUID]:
        """Bills whose latest pricing is older than ``moment`` (e.g. a reference-data load)."""
        latest = (
            select(Pricing.bill_id, func.max(Pricing.priced_at).label("at"))
            .group_by(Pricing.bill_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(latest.c.bill_id)
            .join(ReceivedBill, ReceivedBill.bill_id == latest.c.bill_id)
            .where(latest.c.at < moment, ReceivedBill.voided.is_(False))
            .order_by(latest.c.bill_id)
        )
        return rows.scalars().all()

    async def latest(self, bill_id: uuid.UUID) -> Pricing | None:
        rows = await self.session.execute(
            select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision.desc()).limit(1)
        )
        return rows.scalar_one_or_none()

    async def history(self, bill_id: uuid.UUID, clients: Iterable[str] | None = None) -> Sequence[Pricing]:
        """Every pricing revision of the bill, oldest first; none when ``clients`` (None: all) excludes
        the bill's client."""
        query = select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision)
        if clients is not None:
            query = query.where(Pricing.client_id.in_(list(clients)))
        rows = await self.session.execute(query)
        return rows.scalars().all()

    async def add(self, pricing: tuple[Any, ...], lines_json: str) -> None:
        """Store a pricing and its lines in one statement: ``pricing`` holds the values of the pricings
        columns in :data:`_PRICING_COLUMNS` order (JSONB ones as JSON text), ``lines_json`` the lines as
        a JSON array of objects with the keys of :data:`_LINE_COLUMNS`."""
        driver = await self._driver()
        await driver.execute(_ADD, *pricing, lines_json)
