"""What happens when a deadline comes: the scheduled jobs of negotiation (rows in
``negotiation.scheduled_jobs``, claimed with SKIP LOCKED by shared/jobs.py, so they survive restarts).

- ``offer.expire``: a payer offer still open at its expiry expires (``case.offer_expired``).
- ``offer.follow_up``: a payer offer still unanswered raises a follow-up (``case.follow_up_due``).
- ``clock.lapse``: the No Surprises Act open-negotiation period ended without agreement: the clock
  lapses, the case is flagged with the last day to initiate IDR (``case.clock`` lapsed).
- ``clock.idr_window``: the 4 business days to initiate IDR ended (``case.clock`` window_closed).
A job whose case moved on meanwhile does nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.negotiation import cases, events, offers
from services.negotiation.deadlines import (
    CLOCK_IDR_WINDOW,
    CLOCK_LAPSE,
    OFFER_EXPIRE,
    OFFER_FOLLOW_UP,
    ClockStatus,
)
from services.negotiation.models import Case, Clock, Offer, jobs
from services.negotiation.repository import CaseRepository
from shared.bus.outbox import Tx
from shared.contracts import ClockState
from shared.jobs import Job, JobHandlers
from shared.settings import Settings


async def _case(tx: Tx, job: Job) -> Case | None:
    return await CaseRepository(tx.session).get(uuid.UUID(job.payload["case_id"]), for_update=True)


def _offer(case: Case, job: Job) -> Offer | None:
    wanted = uuid.UUID(job.payload["offer_id"])
    return next((o for o in case.offers if o.id == wanted), None)


def _clock(case: Case, job: Job) -> Clock | None:
    wanted = uuid.UUID(job.payload["clock_id"])
    return next((c for c in case.clocks if c.id == wanted), None)


def build_jobs(_: Settings) -> JobHandlers:
    handlers = JobHandlers(jobs)

    @handlers.on(OFFER_EXPIRE)
    async def expire(tx: Tx, job: Job) -> None:
        case = await _case(tx, job)
        offer = _offer(case, job) if case else None
        if case is not None and offer is not None:
            await offers.expire(tx, case, offer, datetime.now(UTC))

    @handlers.on(OFFER_FOLLOW_UP)
    async def follow_up(tx: Tx, job: Job) -> None:
        case = await _case(tx, job)
        offer = _offer(case, job) if case else None
        if case is not None and offer is not None:
            await offers.follow_up(tx, case, offer, int(job.payload["days"]), job.due_at, datetime.now(UTC))

    @handlers.on(CLOCK_LAPSE)
    async def lapse(tx: Tx, job: Job) -> None:
        case = await _case(tx, job)
        clock = _clock(case, job) if case else None
        if case is None or clock is None or clock.status != ClockStatus.running.value:
            return
        now = datetime.now(UTC)
        clock.status, clock.ended_at = ClockStatus.lapsed.value, now
        idr_by = clock.follow_on_due.isoformat() if clock.follow_on_due else "-"
        cases.flag(
            tx.session,
            case,
            f"No Surprises Act open negotiation ended on {clock.due_on.isoformat()} without agreement; "
            f"either party may initiate IDR through {idr_by}",
            now,
            kind="clock_lapsed",
        )
        cases.refresh(case)
        await tx.emit(events.clock_changed(case, clock, ClockState.lapsed, now), subject=str(case.bill_id))

    @handlers.on(CLOCK_IDR_WINDOW)
    async def idr_window(tx: Tx, job: Job) -> None:
        case = await _case(tx, job)
        clock = _clock(case, job) if case else None
        if case is None or clock is None or clock.status != ClockStatus.lapsed.value:
            return
        now = datetime.now(UTC)
        clock.status = ClockStatus.closed.value
        cases.flag(tx.session, case, "the window to initiate IDR has ended", now, kind="clock_window_closed")
        cases.refresh(case)
        await tx.emit(
            events.clock_changed(case, clock, ClockState.window_closed, now), subject=str(case.bill_id)
        )

    return handlers
