"""Timers and schedules that survive restarts: due jobs are rows in the service's own schema.

Offer expiries, follow-ups, signing-link expiries and scheduled reports are all the same thing: "at time
T, do X once". Each is a row in ``<schema>.scheduled_jobs`` written in the transaction that makes it
necessary (with the outbox row of the event that announced it, if any), so it commits or rolls back with
the change. Any instance of the service may run it:

- The runner claims ONE due job with ``SELECT … FOR UPDATE SKIP LOCKED`` (due time compared on the
  database clock) and, in that same transaction, runs its handler, writes the handler's effects and
  outbox events, and marks the job done. A crash rolls all of it back and releases the row, so the job
  runs again: never lost, never done twice. Two instances never run the same job (SKIP LOCKED).
- A handler that fails is retried with exponential backoff (``due_at`` moves on, ``attempts`` counts);
  after ``PARLEY_JOBS_MAX_ATTEMPTS`` it is marked ``failed`` with the error kept as the reason, and the
  runner moves on (``GET /v1/admin/jobs`` style listings can show it; nothing is silently dropped).
- ``(kind, key)`` is unique: scheduling the same job twice (a redelivered event) keeps one row;
  ``replace=True`` moves a pending job's due time (e.g. an offer whose expiry was extended).
- A recurring schedule is a job whose handler schedules the next occurrence, under a key naming that
  occurrence (e.g. ``weekly-report`` / ``acme:2026-W48``), in the same transaction: a restart between two
  runs neither loses nor doubles one.

Usage in a service::

    jobs = add_job_table(Base.metadata)                      # models.py: Alembic owns the table

    def build_jobs(settings) -> JobHandlers:                 # handed to ServiceDefinition(build_jobs=…)
        handlers = JobHandlers(jobs)

        @handlers.on("offer.expire")
        async def expire(tx: Tx, job: Job) -> None: ...

        return handlers

    await schedule(tx.session, jobs, "offer.expire", key=str(offer.id), due_at=offer.expires_at,
                   subject=str(case.bill_id), payload={"offer_id": str(offer.id)})
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.consumer import is_transient
from shared.bus.outbox import Outbox, Tx
from shared.settings import Settings

log = structlog.get_logger(__name__)

JOBS_RUN = Counter(
    "parley_jobs_total", "Scheduled jobs by outcome (done, retried, failed).", ["service", "kind", "outcome"]
)

PENDING = "pending"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"


def add_job_table(metadata: MetaData) -> Table:
    """Declare ``<schema>.scheduled_jobs`` on a service's MetaData (its Alembic migration creates it)."""
    return Table(
        "scheduled_jobs",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("kind", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("due_at", DateTime(timezone=True), nullable=False),
        Column("subject", Text, nullable=True),  # the bill id, for logs; never patient data
        Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("status", Text, nullable=False, server_default=text("'pending'")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("finished_at", DateTime(timezone=True)),
        UniqueConstraint("kind", "key"),
        Index("ix_scheduled_jobs_due", "due_at", postgresql_where=text("status = 'pending'")),
    )


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str
    due_at: datetime
    subject: str | None
    payload: Mapping[str, Any]
    attempts: int


async def schedule(
    session: AsyncSession,
    table: Table,
    kind: str,
    *,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
    subject: str | None = None,
    replace: bool = False,
) -> bool:
    """Schedule ``kind``/``key`` at ``due_at`` in the caller's transaction. Returns False if a job with
    that kind and key already existed (and, with ``replace``, was pending: its due time and payload are
    then updated; a finished job is never revived)."""
    stmt = pg_insert(table).values(
        kind=kind, key=key, due_at=due_at, payload=dict(payload or {}), subject=subject
    )
    if replace:
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.kind, table.c.key],
            set_={"due_at": stmt.excluded.due_at, "payload": stmt.excluded.payload, "attempts": 0},
            where=table.c.status == PENDING,
        )
    else:
        stmt = stmt.on_conflict_do_nothing()
    result = await session.execute(stmt.returning(table.c.id, text("(xmax = 0) AS inserted")))
    row = result.first()
    return bool(row is not None and row.inserted)


async def cancel(session: AsyncSession, table: Table, kind: str, *, key: str) -> bool:
    """Cancel a pending job in the caller's transaction; False if there was none pending."""
    result = await session.execute(
        update(table)
        .where(table.c.kind == kind, table.c.key == key, table.c.status == PENDING)
        .values(status=CANCELLED, finished_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


JobHandler = Callable[[Tx, Job], Awaitable[None]]


class JobHandlers:
    """Which function runs which kind of job, for one service."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._by_kind: dict[str, JobHandler] = {}

    def on(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        def register(fn: JobHandler) -> JobHandler:
            if kind in self._by_kind:
                raise ValueError(f"two handlers for job kind {kind!r}")
            self._by_kind[kind] = fn
            return fn

        return register

    @property
    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def find(self, kind: str) -> JobHandler | None:
        return self._by_kind.get(kind)


class JobRunner:
    """Runs due jobs until cancelled (one per transaction; see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        handlers: JobHandlers,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
    ) -> None:
        self._settings = settings
        self._handlers = handlers
        self._table = handlers.table
        self._sessions = sessions
        self._outbox = outbox

    async def run(self) -> None:
        log.info("jobs.started", kinds=self._handlers.kinds)
        while True:
            ran = await self.run_due()
            if not ran:
                await asyncio.sleep(self._settings.jobs_poll_seconds * random.uniform(0.8, 1.2))

    async def run_due(self, limit: int = 100) -> int:
        """Run up to ``limit`` due jobs now; how many were claimed."""
        claimed = 0
        while claimed < limit and await self._run_one():
            claimed += 1
        return claimed

    async def _run_one(self) -> bool:
        table = self._table
        failure: tuple[Job, BaseException] | None = None
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(table)
                    .where(
                        table.c.status == PENDING,
                        table.c.due_at <= func.now(),
                        table.c.kind.in_(self._handlers.kinds),
                    )
                    .order_by(table.c.due_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return False
            job = Job(row.id, row.kind, row.key, row.due_at, row.subject, row.payload, row.attempts)
            handler = self._handlers.find(job.kind)
            assert handler is not None  # the query only claims kinds with a handler
            started = time.perf_counter()
            with structlog.contextvars.bound_contextvars(
                job_kind=job.kind, job_id=job.id, bill_id=job.subject
            ):
                try:
                    async with session.begin_nested():
                        await handler(Tx(session, self._outbox), job)
                except Exception as exc:
                    failure = (job, exc)
                if failure is None:
                    await session.execute(
                        update(table)
                        .where(table.c.id == job.id)
                        .values(status=DONE, finished_at=func.now(), attempts=job.attempts + 1)
                    )
                    JOBS_RUN.labels(self._settings.service, job.kind, DONE).inc()
                    log.info("job.done", seconds=round(time.perf_counter() - started, 4))
                    return True
                # The handler's effects rolled back with the savepoint; record the failure on the row.
                await self._record_failure(session, *failure)
        return True

    async def _record_failure(self, session: AsyncSession, job: Job, exc: BaseException) -> None:
        attempts = job.attempts + 1
        transient = is_transient(exc)
        give_up = not transient and attempts >= self._settings.jobs_max_attempts
        delay = min(
            self._settings.jobs_backoff_max_seconds, self._settings.jobs_backoff_seconds * 2 ** (attempts - 1)
        )
        values: dict[str, Any] = {"attempts": attempts, "last_error": repr(exc)[:4000]}
        if give_up:
            values.update(status=FAILED, finished_at=func.now())
        else:
            values["due_at"] = func.now() + timedelta(seconds=delay)
        await session.execute(update(self._table).where(self._table.c.id == job.id).values(**values))
        outcome = FAILED if give_up else "retried"
        JOBS_RUN.labels(self._settings.service, job.kind, outcome).inc()
        log.warning("job." + outcome, attempts=attempts, transient=transient, error=repr(exc)[:500])
