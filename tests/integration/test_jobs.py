"""Scheduled jobs on the real Postgres, in a scratch schema: due-time claims, no double runs across two
runners, retries ending in ``failed`` with the reason, a runner killed mid-job losing nothing, recurrence.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.bus.outbox import Outbox, Tx
from shared.bus.tables import add_bus_tables
from shared.jobs import Job, JobHandlers, JobRunner, add_job_table, cancel, schedule
from shared.settings import Settings
from tests.helpers import wait_until


@dataclass
class Scratch:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    jobs: Table
    effects: Table
    outbox: Outbox


@pytest.fixture
async def scratch(settings: Settings) -> AsyncIterator[Scratch]:
    schema = f"jobtest_{uuid.uuid4().hex[:8]}"
    metadata = MetaData(schema=schema)
    bus = add_bus_tables(metadata)
    jobs = add_job_table(metadata)
    effects = Table("effects", metadata, Column("job_key", Text), Column("n", Integer))
    engine = create_async_engine(settings.database_url, pool_size=10)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(metadata.create_all)
    fast = settings.model_copy(
        update={"jobs_poll_seconds": 0.05, "jobs_backoff_seconds": 0.05, "jobs_max_attempts": 3}
    )
    try:
        yield Scratch(fast, engine, async_sessionmaker(engine), jobs, effects, Outbox(bus, source="/tests"))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await engine.dispose()


async def _schedule(s: Scratch, kind: str, key: str, due_in: float = -1.0, **extra: object) -> bool:
    async with s.sessions() as session, session.begin():
        due = datetime.now(UTC) + timedelta(seconds=due_in)
        return await schedule(session, s.jobs, kind, key=key, due_at=due, **extra)  # type: ignore[arg-type]


async def _effects(s: Scratch) -> list[str]:
    async with s.engine.connect() as conn:
        return list((await conn.execute(select(s.effects.c.job_key).order_by(s.effects.c.job_key))).scalars())


async def _status(s: Scratch, key: str) -> tuple[str, int, str | None]:
    async with s.engine.connect() as conn:
        row = (
            await conn.execute(
                select(s.jobs.c.status, s.jobs.c.attempts, s.jobs.c.last_error).where(s.jobs.c.key == key)
            )
        ).one()
        return row.status, row.attempts, row.last_error


async def _finished(s: Scratch, key: str) -> bool:
    return (await _status(s, key))[0] != "pending"


def _handlers(s: Scratch, *, pause: float = 0.0) -> JobHandlers:
    handlers = JobHandlers(s.jobs)

    @handlers.on("write")
    async def write(tx: Tx, job: Job) -> None:
        await tx.session.execute(insert(s.effects).values(job_key=job.key, n=job.payload.get("n", 0)))
        if pause:
            await asyncio.sleep(pause)

    @handlers.on("boom")
    async def boom(tx: Tx, job: Job) -> None:
        await tx.session.execute(insert(s.effects).values(job_key=job.key))
        raise ValueError("the template for this report is missing")

    @handlers.on("weekly")
    async def weekly(tx: Tx, job: Job) -> None:
        week = int(job.key)
        await tx.session.execute(insert(s.effects).values(job_key=job.key))
        if week < 3:  # the next occurrence, in this same transaction
            await schedule(tx.session, s.jobs, "weekly", key=str(week + 1), due_at=job.due_at)

    return handlers


def _runner(s: Scratch, handlers: JobHandlers) -> JobRunner:
    return JobRunner(s.settings, handlers, s.sessions, s.outbox)


async def test_same_kind_and_key_is_one_job_and_replace_moves_a_pending_one(scratch: Scratch) -> None:
    assert await _schedule(scratch, "write", "offer-1", due_in=3600)
    assert not await _schedule(scratch, "write", "offer-1", due_in=-1)  # a redelivered event
    assert await _runner(scratch, _handlers(scratch)).run_due() == 0  # still due in an hour
    assert not await _schedule(scratch, "write", "offer-1", due_in=-1, replace=True)
    assert await _runner(scratch, _handlers(scratch)).run_due() == 1
    assert await _effects(scratch) == ["offer-1"]
    assert not await _schedule(scratch, "write", "offer-1", due_in=-1, replace=True)  # done stays done
    assert await _runner(scratch, _handlers(scratch)).run_due() == 0


async def test_cancelled_jobs_do_not_run(scratch: Scratch) -> None:
    await _schedule(scratch, "write", "a")
    async with scratch.sessions() as session, session.begin():
        assert await cancel(session, scratch.jobs, "write", key="a")
        assert not await cancel(session, scratch.jobs, "write", key="a")
    assert await _runner(scratch, _handlers(scratch)).run_due() == 0
    assert (await _status(scratch, "a"))[0] == "cancelled"


async def test_two_runners_run_each_job_exactly_once(scratch: Scratch) -> None:
    keys = [f"job-{n:02d}" for n in range(30)]
    for key in keys:
        await _schedule(scratch, "write", key)
    first, second = _runner(scratch, _handlers(scratch, pause=0.01)), _runner(scratch, _handlers(scratch))
    counts = await asyncio.gather(first.run_due(), second.run_due())
    assert sum(counts) == 30
    assert all(counts), f"both runners should have claimed work: {counts}"
    assert await _effects(scratch) == keys


async def test_a_failing_job_is_retried_then_failed_with_its_reason_and_no_effect(scratch: Scratch) -> None:
    await _schedule(scratch, "boom", "report-acme")
    runner = _runner(scratch, _handlers(scratch))
    task = asyncio.create_task(runner.run())
    try:
        await wait_until(
            lambda: _finished(scratch, "report-acme"), timeout=10, interval=0.05, what="the job to fail"
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    status, attempts, error = await _status(scratch, "report-acme")
    assert (status, attempts) == ("failed", 3)
    assert error is not None
    assert "template for this report is missing" in error
    assert await _effects(scratch) == []  # each attempt's writes rolled back


async def test_a_runner_killed_mid_job_loses_and_doubles_nothing(scratch: Scratch) -> None:
    await _schedule(scratch, "write", "expire-offer")
    slow = _runner(scratch, _handlers(scratch, pause=30))
    task = asyncio.create_task(slow.run_due())
    async with asyncio.timeout(10):
        while True:  # wait until the slow runner holds the row
            async with scratch.engine.connect() as conn:
                free = await conn.execute(select(scratch.jobs.c.id).with_for_update(skip_locked=True))
                if not free.all():
                    break
            await asyncio.sleep(0.02)
    # While it is held, another runner skips it rather than running it a second time.
    assert await _runner(scratch, _handlers(scratch)).run_due() == 0
    task.cancel()  # the process dies mid-job: its transaction never commits
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await _runner(scratch, _handlers(scratch)).run_due() == 1
    assert await _effects(scratch) == ["expire-offer"]
    assert (await _status(scratch, "expire-offer"))[0] == "done"


async def test_a_recurring_job_schedules_its_next_run_in_the_same_transaction(scratch: Scratch) -> None:
    await _schedule(scratch, "weekly", "1")
    runner = _runner(scratch, _handlers(scratch))
    assert await runner.run_due() == 3
    assert await _effects(scratch) == ["1", "2", "3"]
    assert await runner.run_due() == 0
