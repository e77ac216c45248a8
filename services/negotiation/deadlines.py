"""Deadlines in business days on the US federal calendar, and the case clocks that use them.

- An offer is valid for the client's ``offer_validity_days`` business days: it expires at the end of the
  N-th business day after the day it was made (23:59:59 US Eastern, where the federal calendar runs;
  the day of the offer is not counted).
- A follow-up is due at 09:00 Eastern on each of the client's ``follow_up_days`` business days after an
  unanswered payer offer.
- The No Surprises Act open-negotiation clock (45 CFR 149.510(b)(1)): 30 business days beginning on the
  day the open-negotiation notice is sent (that day is day 1 when it is a business day, else the next
  business day is), then 4 business days, beginning on the 31st, in which either party may initiate
  independent dispute resolution (149.510(b)(2)).

Every deadline is a row in ``negotiation.scheduled_jobs`` (shared/jobs.py) written in the transaction
that creates it, so a restart neither loses nor doubles one; the handlers are in ``timers.py``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation.models import Case, Clock, Offer, jobs
from shared.business_days import add_business_days, is_business_day
from shared.jobs import cancel, schedule

EASTERN = ZoneInfo("America/New_York")
END_OF_DAY = time(23, 59, 59)
FOLLOW_UP_TIME = time(9, 0)
NSA_OPEN_NEGOTIATION_DAYS = 30
NSA_IDR_INITIATION_DAYS = 4

OFFER_EXPIRE = "offer.expire"
OFFER_FOLLOW_UP = "offer.follow_up"
CLOCK_LAPSE = "clock.lapse"
CLOCK_IDR_WINDOW = "clock.idr_window"


class ClockKind(StrEnum):
    nsa_open_negotiation = "nsa_open_negotiation"


class ClockStatus(StrEnum):
    running = "running"  # the period is on
    lapsed = "lapsed"  # the open-negotiation period ended without agreement (IDR window open)
    closed = "closed"  # the IDR initiation window ended too
    met = "met"  # the case agreed within the period
    stopped = "stopped"  # the case ended otherwise


def eastern_day(at: datetime) -> date:
    return at.astimezone(EASTERN).date()


def end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=EASTERN)


def offer_expiry(made_at: datetime, validity_days: int) -> datetime:
    """End of the ``validity_days``-th business day after the day of the offer (Eastern)."""
    return end_of(add_business_days(eastern_day(made_at), validity_days))


def follow_up_at(made_at: datetime, days: int) -> datetime:
    """09:00 Eastern on the ``days``-th business day after the day of the offer."""
    return datetime.combine(add_business_days(eastern_day(made_at), days), FOLLOW_UP_TIME, tzinfo=EASTERN)


def nsa_period(started_on: date) -> tuple[date, date]:
    """(last day of open negotiation, last day to initiate IDR) for a notice sent on ``started_on``."""
    first = started_on if is_business_day(started_on) else add_business_days(started_on, 1)
    last = add_business_days(first, NSA_OPEN_NEGOTIATION_DAYS - 1)
    return last, add_business_days(last, NSA_IDR_INITIATION_DAYS)


async def schedule_offer(session: AsyncSession, case: Case, offer: Offer, follow_up_days: list[int]) -> None:
    """Expiry and follow-ups of a payer offer, in the caller's transaction."""
    subject = str(case.bill_id)
    payload = {"case_id": str(case.id), "offer_id": str(offer.id)}
    if offer.expires_at is not None:
        await schedule(
            session,
            jobs,
            OFFER_EXPIRE,
            key=str(offer.id),
            due_at=offer.expires_at,
            subject=subject,
            payload=payload,
        )
    for days in follow_up_days:
        await schedule(
            session,
            jobs,
            OFFER_FOLLOW_UP,
            key=f"{offer.id}:{days}",
            due_at=follow_up_at(offer.made_at, days),
            subject=subject,
            payload={**payload, "days": days},
        )


async def cancel_offer(session: AsyncSession, offer: Offer, follow_up_days: list[int]) -> None:
    """The offer was answered: its expiry and follow-ups will not be needed."""
    await cancel(session, jobs, OFFER_EXPIRE, key=str(offer.id))
    for days in follow_up_days:
        await cancel(session, jobs, OFFER_FOLLOW_UP, key=f"{offer.id}:{days}")


async def schedule_clock(session: AsyncSession, case: Case, clock: Clock) -> None:
    subject = str(case.bill_id)
    payload = {"case_id": str(case.id), "clock_id": str(clock.id)}
    await schedule(
        session,
        jobs,
        CLOCK_LAPSE,
        key=str(clock.id),
        due_at=end_of(clock.due_on),
        subject=subject,
        payload=payload,
    )
    if clock.follow_on_due is not None:
        await schedule(
            session,
            jobs,
            CLOCK_IDR_WINDOW,
            key=str(clock.id),
            due_at=end_of(clock.follow_on_due),
            subject=subject,
            payload=payload,
        )


def next_deadline(case: Case) -> datetime | None:
    """The nearest pending deadline of the case (open offer expiry, follow-up, running clock)."""
    candidates: list[datetime] = []
    for offer in case.offers:
        if offer.status == "open" and offer.expires_at is not None:
            candidates.append(offer.expires_at)
    if case.follow_up_due_at is not None:
        candidates.append(case.follow_up_due_at)
    for clock in case.clocks:
        if clock.status == ClockStatus.running.value:
            candidates.append(end_of(clock.due_on))
        elif clock.status == ClockStatus.lapsed.value and clock.follow_on_due is not None:
            candidates.append(end_of(clock.follow_on_due))
    return min(candidates) if candidates else None
