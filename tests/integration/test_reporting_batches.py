"""A consumer batch leaves exactly what its events leave applied one at a time (as after a failed batch).

Reporting's handlers read a batch's bills before the handlers run and write them, with the KPI deltas,
once after (:mod:`services.reporting.fact_batch`). The same SYNTHETIC events (the demo history's shapes:
every version 2 contract, findings, approvals, settlements under fee terms, in a shuffled order) are
applied twice, to two copies of the bills: in batches of random sizes through the consumer's batch
scope, and one at a time. The facts rows, findings and approvals must be equal, and the queued deltas
must add up, key by key, to the same figures, which are the sum of the bills' contributions from their
final facts (what a rebuild computes). The test runs in a transaction it rolls back."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import fact_batch
from services.reporting.config import ReportingSettings
from services.reporting.contributions import Approval, Finding, Ledger, contribution
from services.reporting.cubes import delta_rows
from services.reporting.demo import bill_events
from services.reporting.fact_batch import FactsBatch
from services.reporting.facts import FACT_COLUMNS, FactRow
from services.reporting.fees import FeeKind, FeeTerms
from services.reporting.handlers import build_handlers
from services.reporting.models import bus, hist_deltas, kpi_deltas, pattern_deltas, pipeline_deltas
from services.reporting.repository import add_fee_terms
from shared.bus.outbox import Outbox, Tx
from shared.catalog import service
from shared.contracts import Envelope
from shared.db import raw_connection
from shared.stack.devstack import DevStack
from tests.helpers import rolled_back_session

QUEUES = (kpi_deltas, hist_deltas, pipeline_deltas, pattern_deltas)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.fixture
async def session(stack: DevStack) -> AsyncIterator[AsyncSession]:
    url = stack.database_url(service("reporting"))
    async with rolled_back_session(ReportingSettings(service="test", database_url=url, db_pool_size=1)) as s:
        yield s


def _copy(events: list[Any], run: str) -> list[Any]:
    """The events with the bill's and approvals' ids of this run's copy of the bill."""
    bill = uuid.uuid5(events[0].bill_id, run)
    copied = []
    for event in events:
        update: dict[str, Any] = {"bill_id": bill}
        if hasattr(event, "approval_id"):
            update["approval_id"] = uuid.uuid5(event.approval_id, run)
        copied.append(event.model_copy(update=update))
    return copied


async def _apply(
    session: AsyncSession, settings: ReportingSettings, events: list[Any], batched: bool
) -> None:
    handlers = build_handlers(settings)
    tx = Tx(session, Outbox(bus, source="/tests"))
    rng = random.Random(11)
    envelopes = [Envelope.wrap(e, source="/tests", subject=str(e.bill_id)) for e in events]
    start = 0
    while start < len(events):
        size = rng.randint(1, 40) if batched else 1
        chunk = list(zip(events[start : start + size], envelopes[start : start + size], strict=True))
        start += size
        if not batched:
            payload, envelope = chunk[0]
            found = handlers.find(envelope)
            assert found is not None
            await found[1](tx, payload, envelope)  # no batch: a batch of one, as after a failed batch
            continue
        assert handlers.batch_scope is not None
        async with handlers.batch_scope(tx, chunk):
            for payload, envelope in chunk:
                found = handlers.find(envelope)
                assert found is not None
                await found[1](tx, payload, envelope)


async def _last_ids(session: AsyncSession) -> list[int]:
    return [
        int(await session.scalar(text(f"SELECT coalesce(max(id), 0) FROM reporting.{q.name}")) or 0)
        for q in QUEUES
    ]


async def _queued(session: AsyncSession, after: list[int], until: list[int]) -> dict[Any, list[Decimal]]:
    """The deltas queued between two readings of :func:`_last_ids`, summed per queue and key (zeros left
    out)."""
    sums: dict[Any, list[Decimal]] = {}
    for queue, low, high in zip(QUEUES, after, until, strict=True):
        columns = [c.name for c in queue.columns if c.name != "id"]
        rows = await session.execute(
            text(f"SELECT {', '.join(columns)} FROM reporting.{queue.name} WHERE id > :low AND id <= :high"),
            {"low": low, "high": high},
        )
        for row in rows:
            _add(sums, queue.name, columns, dict(zip(columns, row, strict=True)))
    return {k: v for k, v in sums.items() if any(v)}


def _add(sums: dict[Any, list[Decimal]], queue: str, columns: list[str], row: dict[str, Any]) -> None:
    measures = [c for c in columns if c in _MEASURES[queue]]
    key = (queue, *(row[c] for c in columns if c not in measures))
    mine = sums.setdefault(key, [Decimal(0)] * len(measures))
    for i, c in enumerate(measures):
        mine[i] += Decimal(row[c])


_MEASURES = {
    q.name: {c.name for c in q.columns if c.name not in {"id", "day", "received_day", "metric", "bucket"}}
    - {
        "client_id",
        "method",
        "state",
        "line_of_business",
        "provider_npi",
        "queue",
        "code",
        "modifiers",
        "rule",
    }
    for q in QUEUES
}


async def _bills(session: AsyncSession, bills: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """Each bill's facts (without its id and clock), findings and approvals, in the order given."""
    facts = {
        r.bill_id: r
        for r in await session.execute(
            text("SELECT * FROM reporting.bill_facts WHERE bill_id = ANY(:ids)"), {"ids": bills}
        )
    }
    findings: dict[uuid.UUID, list[Any]] = {}
    for r in await session.execute(
        text("SELECT * FROM reporting.bill_findings WHERE bill_id = ANY(:ids) ORDER BY n"), {"ids": bills}
    ):
        findings.setdefault(r.bill_id, []).append((r.n, r.line_number, r.rule, r.code, r.modifiers, r.amount))
    approvals: dict[uuid.UUID, list[Any]] = {}
    for r in await session.execute(
        text("SELECT * FROM reporting.bill_approvals WHERE bill_id = ANY(:ids) ORDER BY requested_at"),
        {"ids": bills},
    ):
        approvals.setdefault(r.bill_id, []).append((r.requested_at, r.decided_at, r.approved))
    out = []
    for bill in bills:
        fact = facts[bill]._asdict()
        for volatile in ("bill_id", "updated_at"):
            fact.pop(volatile)
        out.append((fact, findings.get(bill, []), approvals.get(bill, [])))
    return out


async def test_a_batch_leaves_what_its_events_leave_one_at_a_time(session: AsyncSession) -> None:
    settings = ReportingSettings(service="test")
    await add_fee_terms(
        session,
        "acme-employers",
        FeeTerms(FeeKind.contingency, date(2026, 1, 1), percent=Decimal(25), cap=Decimal(1000)),
        note="test",
        created_by="test",
        zone=settings.zone,
    )
    rng = random.Random(20261130)
    per_bill = [bill_events(n, rng, NOW) for n in range(120)]
    order = [(b, i) for b, events in enumerate(per_bill) for i in range(len(events))]
    rng.shuffle(order)  # bills interleaved, and a bill's own events out of order too

    marks = [await _last_ids(session)]
    bills: dict[str, list[uuid.UUID]] = {}
    for run, batched in (("batched", True), ("alone", False)):
        copies = [_copy(events, run) for events in per_bill]
        bills[run] = [events[0].bill_id for events in copies]
        await _apply(session, settings, [copies[b][i] for b, i in order], batched=batched)
        marks.append(await _last_ids(session))

    batched_bills = await _bills(session, bills["batched"])
    assert batched_bills == await _bills(session, bills["alone"])
    assert any(findings for _, findings, _ in batched_bills)
    assert any(approvals for _, _, approvals in batched_bills)
    assert any(fact["fee"] for fact, _, _ in batched_bills)

    # The read a batch falls back on for a row another transaction committed after its first statement's
    # snapshot (a race this test cannot stage) reads the same rows.
    some = sorted(bills["batched"][:5])
    batch = FactsBatch(session, settings.zone)
    await batch.load(some)
    fallback = await (await raw_connection(session)).fetch(fact_batch._LOCK, some)
    assert [FactRow(*(r[c] for c in FACT_COLUMNS)) for r in fallback] == [batch.bills[b].fact for b in some]

    batched_deltas = await _queued(session, marks[0], marks[1])
    assert batched_deltas == await _queued(session, marks[1], marks[2])
    ledger = Ledger()
    for fact, findings, approvals in batched_bills:
        ledger.merge(
            contribution(
                FactRow(uuid.uuid4(), **{k: v for k, v in fact.items() if k in FACT_COLUMNS}),
                [Finding(rule, code, modifiers, amount) for _, _, rule, code, modifiers, amount in findings],
                [Approval(*a) for a in approvals],
                settings.zone,
            )
        )
    expected: dict[Any, list[Decimal]] = {}
    for queue, rows in delta_rows(ledger).items():
        for row in rows:
            _add(expected, queue.name, list(row), row)
    assert batched_deltas == {k: v for k, v in expected.items() if any(v)}
