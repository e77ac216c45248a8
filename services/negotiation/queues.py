"""Work queues: which cases wait on whom, in what order.

A queue is a filter over cases; its order is the priority

    priority = at_stake × (1 + age in days / 30) × urgency

where ``at_stake`` is the dollars the route works on (negotiate: billed − target, the saving still to
win; audit: the findings' dollars; review: billed), age counts from the case's opening, and urgency
follows the nearest deadline (an open offer's expiry, a follow-up due, a case clock): 3 when it has
passed, 2 within 2 days, 1.5 within 5 days, 1 otherwise. So a large, old case with a deadline tomorrow
comes first, and a small fresh one last. Ties go to the older case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, case, cast, exists, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation.cases import ACTIVE, CaseStatus
from services.negotiation.models import Approval, Case
from services.negotiation.strategy import CENT
from shared.contracts import CaseRoute


class Queue(StrEnum):
    negotiate = "negotiate"
    audit = "audit"
    review = "review"
    confirming = "confirming"
    approvals = "approvals"
    follow_ups = "follow_ups"
    attention = "attention"


DESCRIPTIONS = {
    Queue.negotiate: "Open cases on the negotiate route: valid bills above their U&C target.",
    Queue.audit: "Open cases on the audit route: dispute the bill's errors first.",
    Queue.review: "Open cases nothing could price: a person decides.",
    Queue.confirming: "An offer was accepted: both sides must confirm the terms.",
    Queue.approvals: "Cases with a request waiting for a supervisor's decision.",
    Queue.follow_ups: "Payer offers unanswered past a follow-up interval: call the provider.",
    Queue.attention: "Cases flagged for the negotiator (declined, expired, re-priced, clock lapsed…).",
}


class AgeBucket(StrEnum):
    d0_30 = "0-30"
    d31_60 = "31-60"
    d61_90 = "61-90"
    d90_plus = "90+"


AGE_DAYS: dict[AgeBucket, tuple[int, int | None]] = {
    AgeBucket.d0_30: (0, 30),
    AgeBucket.d31_60: (31, 60),
    AgeBucket.d61_90: (61, 90),
    AgeBucket.d90_plus: (91, None),
}


def _age_days() -> ColumnElement[Any]:
    return func.floor(func.extract("epoch", func.now() - Case.opened_at) / 86400)


def priority() -> ColumnElement[Any]:
    urgency = case(
        (Case.next_deadline_at.is_(None), literal(Decimal(1))),
        (Case.next_deadline_at <= func.now(), literal(Decimal(3))),
        (Case.next_deadline_at <= func.now() + text("interval '2 days'"), literal(Decimal(2))),
        (Case.next_deadline_at <= func.now() + text("interval '5 days'"), literal(Decimal("1.5"))),
        else_=literal(Decimal(1)),
    )
    age = cast(func.extract("epoch", func.now() - Case.opened_at) / 86400, Numeric)
    return func.round(Case.at_stake * (1 + age / 30) * urgency, 2)


def membership(queue: Queue) -> ColumnElement[bool]:
    active = Case.status.in_(ACTIVE)
    if queue in (Queue.negotiate, Queue.audit, Queue.review):
        return and_(Case.route == CaseRoute(queue.value).value, Case.status == CaseStatus.open.value)
    if queue is Queue.confirming:
        return Case.status == CaseStatus.confirming.value
    if queue is Queue.approvals:
        pending = exists().where(Approval.case_id == Case.id, Approval.status == "pending")
        return and_(active, pending)
    if queue is Queue.follow_ups:
        return and_(Case.status == CaseStatus.open.value, Case.follow_up_due_at.is_not(None))
    return and_(active, Case.attention.is_not(None))


@dataclass(frozen=True)
class Filters:
    client_id: str | None = None
    state: str | None = None
    provider_tin: str | None = None
    assignee: str | None = None  # a user id, or "none" for unassigned
    age: AgeBucket | None = None
    min_billed: Decimal | None = None
    max_billed: Decimal | None = None


def _conditions(queue: Queue, filters: Filters, scope: frozenset[str] | None) -> list[ColumnElement[bool]]:
    where = [membership(queue)]
    if scope is not None:
        where.append(Case.client_id.in_(scope))
    if filters.client_id:
        where.append(Case.client_id == filters.client_id)
    if filters.state:
        where.append(Case.state == filters.state.upper())
    if filters.provider_tin:
        where.append(Case.provider_tin == filters.provider_tin)
    if filters.assignee == "none":
        where.append(Case.assignee.is_(None))
    elif filters.assignee:
        where.append(Case.assignee == filters.assignee)
    if filters.age is not None:
        low, high = AGE_DAYS[filters.age]
        where.append(_age_days() >= low)
        if high is not None:
            where.append(_age_days() <= high)
    if filters.min_billed is not None:
        where.append(Case.billed >= filters.min_billed)
    if filters.max_billed is not None:
        where.append(Case.billed <= filters.max_billed)
    return where


async def page(
    session: AsyncSession,
    queue: Queue,
    filters: Filters,
    scope: frozenset[str] | None,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[tuple[Case, Decimal]]]:
    """(total matching, this page of (case, priority)) in priority order."""
    where = _conditions(queue, filters, scope)
    total = (await session.execute(select(func.count()).select_from(Case).where(*where))).scalar_one()
    score = priority().label("priority")
    rows = await session.execute(
        select(Case, score)
        .where(*where)
        .order_by(score.desc(), Case.opened_at, Case.id)
        .limit(limit)
        .offset(offset)
    )
    return int(total), [(row[0], row[1]) for row in rows]


@dataclass(frozen=True)
class QueueFigures:
    name: Queue
    description: str
    cases: int
    unassigned: int
    at_stake: Decimal
    oldest_opened_at: datetime | None


async def overview(
    session: AsyncSession, scope: frozenset[str] | None, client_id: str | None
) -> list[QueueFigures]:
    figures = []
    for queue in Queue:
        where = _conditions(queue, Filters(client_id=client_id), scope)
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(Case.assignee.is_(None)),
                    func.coalesce(func.sum(Case.at_stake), 0),
                    func.min(Case.opened_at),
                ).where(*where)
            )
        ).one()
        figures.append(
            QueueFigures(
                queue, DESCRIPTIONS[queue], int(row[0]), int(row[1]), Decimal(row[2]).quantize(CENT), row[3]
            )
        )
    return figures
