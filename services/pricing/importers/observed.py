"""What every observation load shares: where an observation was seen, published amounts, the writer.

Observation kinds (``pricing.observations.kind``): ``charge`` (a billed or gross charge), ``allowed`` (an
amount a payer allowed or contracted, in dollars), ``cash`` (a hospital's discounted cash price),
``percent_of_billed`` (a contracted percentage of billed charges: 65.00 is 65%) and ``per_diem`` (a
contracted daily amount). The U&C reviews compare only ``charge`` or ``allowed``: the other kinds are
kept, each on its own, so they are never compared with dollars of another kind.

Loading a source again replaces its observations (and their cells) in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, optional_decimal
from services.pricing.observations import ObservationIn, withdraw
from services.pricing.staging import (
    chunk_running,
    create_staging,
    fold_staged,
    send_chunk,
    settle,
    stage_csv,
    staging_csv,
)
from shared.codes import US_STATES

BATCH = 20000
# Observations per chunk (see ObservationWriter). The first chunk's parsing and the last chunk's work are
# not overlapped, and the batches parsed while a chunk runs wait in memory (about 6 MB of CSV here); each
# chunk costs a few statements and sums of its own. 50,000, 100,000 and 200,000 measured alike
# (``python -m bench.imports``, README "Performance").
CHUNK = 100_000
# NUMERIC(12,2): anything larger cannot be stored and is no price anyway.
LARGEST = Decimal("9999999999.99")
_ADDRESS = re.compile(r"\b([A-Z]{2})\s+(\d{5})(?:-\d{4})?\s*$")
_NINES = re.compile(r"9{6,}")

Registry = dict[str, tuple[str, str]]


class Place(NamedTuple):
    """Where an observation was seen: the last four fields of an :class:`ObservationIn`, in its order."""

    state: str | None = None
    zip3: str | None = None
    facility_npi: str | None = None
    observed_on: date | None = None


@dataclass
class ObservationWriter:
    """Stages observations in batches (COPY), keeps and sums them in chunks, each chunk on the server
    while the loader parses the rows after it, and folds the sums into the U&C cells once at the end.

    One connection runs one statement at a time: while a chunk runs, the batches parsed meanwhile wait
    here as CSV and are staged once it is done; at ``CHUNK`` waiting observations the parser waits for
    it. Memory is at most about a chunk of observations as CSV text, whatever the file's size. All of it
    is in the caller's transaction: a chunk that fails fails the load (its error is raised at the next
    batch or at :meth:`finish`), and a load that fails while a chunk runs waits for it before the caller
    rolls back (``run_load``, :func:`quiesce`).
    """

    session: AsyncSession
    origin: str
    source: str
    pending: list[ObservationIn] = field(default_factory=list)
    waiting: list[bytes] = field(default_factory=list)  # batches parsed while a chunk ran, as CSV
    waiting_rows: int = 0
    staged: int = 0  # observations in the staging table

    async def add(self, rows: list[ObservationIn]) -> None:
        self.pending.extend(rows)
        if len(self.pending) < BATCH:
            return
        self._encode()
        if self.waiting_rows < CHUNK and await chunk_running(self.session):
            return  # the server is still busy with the last chunk: parse on
        await self._stage()
        if self.staged >= CHUNK:
            await send_chunk(self.session, self.origin, self.source)
            self.staged = 0

    def _encode(self) -> None:
        self.waiting.append(staging_csv(self.pending))
        self.waiting_rows += len(self.pending)
        self.pending = []

    async def _stage(self) -> None:
        await settle(self.session)
        await stage_csv(self.session, b"".join(self.waiting))
        self.staged += self.waiting_rows
        self.waiting, self.waiting_rows = [], 0

    async def flush(self) -> None:
        """Stage every observation added so far: the chunk in flight is then done, the connection free."""
        if self.pending:
            self._encode()
        await self._stage()

    async def finish(self) -> None:
        await self.flush()
        await fold_staged(self.session, self.origin, self.source)


async def registry(session: AsyncSession) -> Registry:
    """NPI → (state, ZIP3) of every registered facility: where an observation without an address was."""
    rows = await session.execute(text("SELECT npi, state, left(zip, 3) FROM pricing.facilities"))
    return {r[0]: (r[1], r[2]) for r in rows}


async def start_observations(
    session: AsyncSession, origin: str, summary: LoadSummary
) -> tuple[Registry, ObservationWriter]:
    """Every observation load begins alike: take out the source's earlier rows, read the registry."""
    await create_staging(session)
    await withdraw(session, origin, summary.target)
    return await registry(session), ObservationWriter(session, origin, summary.target)


def place_of(addresses: list[str], npis: list[str], known: Registry, on: date | None) -> Place:
    """A hospital's state and ZIP3 when all its addresses agree, and its first registered NPI."""
    found = [m.groups() for a in addresses if (m := _ADDRESS.search(a.strip().upper()))]
    states = {s for s, _ in found if s in US_STATES}
    zips = {z[:3] for _, z in found}
    registered = next((n for n in npis if n in known), None)
    state = states.pop() if len(states) == 1 else None
    zip3 = zips.pop() if len(zips) == 1 else None
    if registered and (state is None or zip3 is None):
        state, zip3 = state or known[registered][0], zip3 or known[registered][1]
    return Place(state, zip3, registered or (npis[0] if npis else None), on)


def provider_place(npis: list[str], known: Registry, on: date | None) -> Place:
    """Where a provider was, from its NPIs: the first registered one's state and ZIP3, else none."""
    registered = next((n for n in npis if n in known), None)
    if registered is not None:
        return Place(known[registered][0], known[registered][1], registered, on)
    return Place(None, None, npis[0] if npis else None, on)


def published_amount(value: Any, name: str, summary: LoadSummary) -> Decimal | None:
    """A dollar amount as a file publishes it, or None when empty or a placeholder.

    Placeholders stand where a file has no real amount: text (``N/A``, ``see notes``), zero, negative
    amounts, runs of nines (``999999999``, ``99999999.99``) and amounts too large to be a price. Each is
    counted in the load's notes under ``name``; none is ever an observation.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = optional_decimal(value, name)
    except ValueError:
        summary.keep_out(f"{name} kept out as a placeholder (text such as N/A)")
        return None
    if amount is None:
        return None
    if amount <= 0:
        summary.keep_out(f"{name} kept out as a placeholder (zero or negative)")
        return None
    if _NINES.fullmatch(str(int(amount))) or amount > LARGEST:
        summary.keep_out(f"{name} kept out as a placeholder (999999999 or too large for a price)")
        return None
    return amount
