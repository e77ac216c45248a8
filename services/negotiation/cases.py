"""The case's life: opened on its route from a pricing, revised by a re-pricing, re-routed, assigned,
closed with an outcome, settled on the executed agreement, reopened when the provider declines to sign.

Statuses: ``open`` (on its route: audit, negotiate or review) → ``confirming`` (an offer was accepted:
agreement in principle, waiting for both sides to confirm the terms) → ``agreed`` (``case.agreed``
emitted; the agreement is being signed) → ``settled``. ``closed`` ends a case with another outcome
(repriced, disputed, escalated, closed_unresolved, voided), always with the reason. Every step is written
to the case history and emitted in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation import events, providers
from services.negotiation.client_settings import Settings
from services.negotiation.deadlines import ClockStatus, cancel_offer, next_deadline
from services.negotiation.evidence import evidence_of
from services.negotiation.models import Case, CaseHistory, Offer, access
from services.negotiation.routing import Routing
from services.negotiation.strategy import money, opening_offer
from shared.auth import Role
from shared.auth.replica import find_user
from shared.bus.outbox import Tx
from shared.contracts import BillPricedV2, CaseOutcome, CaseRoute, ClockState
from shared.errors import Conflict, Unprocessable

PARLEY = "parley"


class CaseStatus(StrEnum):
    open = "open"
    confirming = "confirming"
    agreed = "agreed"
    settled = "settled"
    closed = "closed"


ACTIVE = (CaseStatus.open.value, CaseStatus.confirming.value)
# Outcomes a person may close a case with (repriced comes from pricing, settled from the agreement,
# voided from the partner).
CLOSING_OUTCOMES = (CaseOutcome.disputed, CaseOutcome.escalated, CaseOutcome.closed_unresolved)


def log(session: AsyncSession, case: Case, actor: str, kind: str, detail: str, at: datetime) -> None:
    """One line of the case's history."""
    session.add(CaseHistory(case_id=case.id, at=at, actor=actor, kind=kind, detail=detail))


def refresh(case: Case) -> None:
    """Recompute what the queues sort on after any change."""
    case.next_deadline_at = next_deadline(case)


def _apply_pricing(case: Case, priced: BillPricedV2, routing: Routing) -> None:
    case.billed = priced.total_billed
    case.method = priced.method.value
    case.pricing_id = priced.pricing_id
    case.pricing_revision = priced.revision
    case.statement_sha256 = priced.statement_sha256 or None
    case.target = routing.target
    case.unpriced_billed = priced.unpriced_billed
    case.findings_at_stake = routing.findings_at_stake
    case.at_stake = routing.at_stake
    case.evidence = evidence_of(priced)
    case.state = priced.jurisdiction


async def suggest(session: AsyncSession, case: Case, settings: Settings) -> None:
    """The strategy's opening offer for a case on the negotiate route (None without a target)."""
    if case.target is None or case.route != CaseRoute.negotiate.value:
        case.suggested_offer, case.suggested_basis = None, None
        return
    past = await providers.history(session, case.provider_tin, exclude_case=case.id)
    opening = opening_offer(
        billed=case.billed,
        target=case.target,
        unpriced_billed=case.unpriced_billed,
        history=past,
        limits=settings.strategy,
        client_id=case.client_id,
        method=case.method,
    )
    case.suggested_offer, case.suggested_basis = opening.amount, opening.basis


async def open_case(
    tx: Tx, priced: BillPricedV2, routing: Routing, settings: Settings, now: datetime
) -> Case:
    """A case on the route pricing decided; a repriced case closes at once with method and amount."""
    assert routing.route is not None
    case = Case(
        id=uuid.uuid4(),
        bill_id=priced.bill_id,
        client_id=priced.client_id,
        provider_npi=priced.provider.npi,
        provider_tin=priced.provider.tin,
        provider_name=priced.provider.name,
        route=routing.route.value,
        route_reason=routing.reason,
        route_set_by=PARLEY,
        status=CaseStatus.open.value,
        opened_at=now,
        # Written with the case, so that `suggest` leaving them empty (any route but negotiate) is no
        # change and costs no UPDATE after the INSERT.
        suggested_offer=None,
        suggested_basis=None,
        offers=[],
        approvals=[],
        confirmations=[],
        clocks=[],
    )
    _apply_pricing(case, priced, routing)
    if routing.route is CaseRoute.repriced:
        case.status, case.outcome, case.closed_at = CaseStatus.closed.value, CaseOutcome.repriced.value, now
        case.close_reason = routing.reason
    # Not flushed here: the case and its history are inserted with the other cases the consumer's batch
    # opens, one statement per table (a read through the ORM, such as the provider's history, flushes
    # first).
    tx.session.add(case)
    await suggest(tx.session, case, settings)
    log(tx.session, case, PARLEY, "routed", f"{routing.route.value}: {routing.reason}", now)
    await tx.emit(events.opened(case, priced.provider), subject=str(case.bill_id))
    if case.status == CaseStatus.closed.value:
        await tx.emit(events.closed(case), subject=str(case.bill_id))
    return case


def open_payer_offer(case: Case) -> Offer | None:
    return next((o for o in reversed(case.offers) if o.party == "payer" and o.status == "open"), None)


def open_provider_offer(case: Case) -> Offer | None:
    return next((o for o in reversed(case.offers) if o.party == "provider" and o.status == "open"), None)


async def _withdraw_open_offers(session: AsyncSession, case: Case, settings: Settings, why: str) -> None:
    for offer in case.offers:
        if offer.status == "open":
            offer.status, offer.response_reason = "withdrawn", why
            if offer.party == "payer":
                await cancel_offer(session, offer, settings.follow_up_days)


def _back_to_open(case: Case, why: str, now: datetime) -> None:
    """Undo an agreement in principle (re-pricing or a declined signature): confirmations no longer hold."""
    for confirmation in case.confirmations:
        confirmation.current = False
    accepted = next((o for o in case.offers if o.id == case.accepted_offer_id), None)
    if accepted is not None:
        accepted.flagged = why
    case.status = CaseStatus.open.value
    case.accepted_offer_id = case.accepted_at = None
    case.agreed_amount = case.agreed_offer_id = case.agreed_at = None
    case.terms = case.blocked_reason = None
    case.attention = why


async def revise(
    tx: Tx, case: Case, priced: BillPricedV2, routing: Routing, settings: Settings, now: datetime
) -> None:
    """A newer pricing of the case's bill (a replacement claim, or a reprice): new target and evidence.

    An offer already out is flagged, never changed. After agreement the re-pricing is refused (recorded
    only). A repriced case re-opens when the new pricing needs negotiation; an open case closes as
    repriced when the new pricing is a fee schedule or contract."""
    subject = str(case.bill_id)
    if case.status in (CaseStatus.agreed.value, CaseStatus.settled.value) or (
        case.status == CaseStatus.closed.value and case.outcome != CaseOutcome.repriced.value
    ):
        log(
            tx.session,
            case,
            PARLEY,
            "revision_refused",
            f"pricing revision {priced.revision} arrived after the case was {case.status}; not applied",
            now,
        )
        return
    previous_target, previous_route = case.target, CaseRoute(case.route)
    previous_revision = case.pricing_revision
    _apply_pricing(case, priced, routing)
    why = (
        f"the bill was re-priced (revision {priced.revision}, {priced.trigger}): target "
        f"{money(previous_target) if previous_target is not None else 'none'} → "
        f"{money(routing.target) if routing.target is not None else 'none'}"
    )
    flagged = open_payer_offer(case)
    if flagged is not None:
        flagged.flagged = f"made on pricing revision {flagged.pricing_revision or previous_revision}; {why}"
    if case.status == CaseStatus.confirming.value:
        _back_to_open(case, f"terms no longer hold: {why}", now)
    log(tx.session, case, PARLEY, "revised", why, now)
    await tx.emit(events.revised(case, previous_target, flagged, now), subject=subject)
    automatic = case.route_set_by == PARLEY or case.status == CaseStatus.closed.value
    new_route = routing.route
    if not automatic and new_route is not None and new_route.value != case.route:
        log(
            tx.session,
            case,
            PARLEY,
            "route_kept",
            f"re-pricing suggests {new_route.value}; kept the route {case.route} set by {case.route_set_by}",
            now,
        )
    elif new_route is None:
        if case.status == CaseStatus.closed.value:
            case.outcome, case.close_reason = CaseOutcome.closed_unresolved.value, routing.reason
            case.closed_at = now
            await tx.emit(events.closed(case), subject=subject)
        else:
            await close(tx, case, CaseOutcome.closed_unresolved, routing.reason, PARLEY, settings, now)
        return
    elif new_route is CaseRoute.repriced:
        case.route, case.route_reason = new_route.value, routing.reason
        if case.status == CaseStatus.closed.value:
            case.close_reason, case.closed_at = routing.reason, now
            await tx.emit(events.closed(case), subject=subject)
        else:
            await _withdraw_open_offers(tx.session, case, settings, "the bill was re-priced; no negotiation")
            await tx.emit(events.routed(case, previous_route, PARLEY, now), subject=subject)
            case.status, case.outcome, case.closed_at = (
                CaseStatus.closed.value,
                CaseOutcome.repriced.value,
                now,
            )
            case.close_reason = routing.reason
            await tx.emit(events.closed(case), subject=subject)
    elif case.status == CaseStatus.closed.value or new_route.value != case.route:
        if case.status == CaseStatus.closed.value:
            case.status, case.outcome, case.closed_at, case.close_reason = (
                CaseStatus.open.value,
                None,
                None,
                None,
            )
            await tx.emit(events.reopened(case, why, now), subject=subject)
        case.route, case.route_reason, case.route_set_by = new_route.value, routing.reason, PARLEY
        log(tx.session, case, PARLEY, "routed", f"{new_route.value}: {routing.reason}", now)
        await tx.emit(events.routed(case, previous_route, PARLEY, now), subject=subject)
    await suggest(tx.session, case, settings)
    refresh(case)


def require_active(case: Case, *, statuses: tuple[str, ...] = ACTIVE) -> None:
    if case.status not in statuses:
        raise Conflict(f"case {case.id} is {case.status}; that is no longer possible")


async def reroute(
    tx: Tx, case: Case, route: CaseRoute, reason: str, by: str, settings: Settings, now: datetime
) -> None:
    """A supervisor moves an open case to another route (audit, negotiate or review), with a reason."""
    require_active(case, statuses=(CaseStatus.open.value,))
    if route is CaseRoute.repriced:
        raise Unprocessable(
            "repriced comes from pricing (fee schedule or contract); close the case with an outcome instead",
            errors=[{"field": "route", "message": "not a route a person sets", "type": "invalid_route"}],
        )
    if route.value == case.route:
        raise Conflict(f"case {case.id} is already on the {route.value} route")
    previous = CaseRoute(case.route)
    case.route, case.route_reason, case.route_set_by = route.value, reason, by
    log(tx.session, case, by, "routed", f"{previous.value} → {route.value}: {reason}", now)
    await suggest(tx.session, case, settings)
    await tx.emit(events.routed(case, previous, by, now), subject=str(case.bill_id))


async def assign(
    tx: Tx, case: Case, assignee: str | None, by: str, *, supervisor: bool, now: datetime
) -> None:
    """Take a case (assignee = yourself), give it back (None), or, for a supervisor, (re)assign it to a
    user this service knows (its token replica) who may work the case's client: a negotiator or
    supervisor serving it. Anyone else is 422 naming why."""
    require_active(case, statuses=(*ACTIVE, CaseStatus.agreed.value))
    previous = case.assignee
    if not supervisor:
        if assignee not in (by, None):
            raise Conflict("a negotiator takes a case for themselves; a supervisor assigns it to others")
        if previous not in (None, by):
            raise Conflict(f"case {case.id} is assigned to {previous}; a supervisor reassigns it")
    if previous == assignee:
        return
    if assignee is not None and assignee != by:  # the caller may work this case: it found it
        await _check_assignee(tx, case, assignee)
    case.assignee, case.assigned_at = assignee, now
    log(tx.session, case, by, "assigned", f"{previous or 'queue'} → {assignee or 'queue'}", now)
    await tx.emit(events.assigned(case, previous, by, now), subject=str(case.bill_id))


async def _check_assignee(tx: Tx, case: Case, assignee: str) -> None:
    user = await find_user(tx.session, access.tokens, assignee)
    why = None
    if user is None:
        # Not echoed: it may be anything at all (this was 300 emoji, stored as the assignee).
        why = ("unknown_user", "no such user is known here (users are made with `parley users create`)")
    elif user.disabled:
        why = ("disabled_user", f"user {assignee} is disabled")
    elif not user.roles & {Role.negotiator.value, Role.supervisor.value}:
        why = ("cannot_work", f"user {assignee} is not a negotiator or supervisor")
    elif not user.serves(case.client_id):
        why = ("cannot_work", f"user {assignee} does not serve client {case.client_id}")
    if why is not None:
        raise Unprocessable(
            f"cannot assign case {case.id}: {why[1]}",
            errors=[{"field": "assignee", "message": why[1], "type": why[0]}],
        )


async def close(
    tx: Tx, case: Case, outcome: CaseOutcome, reason: str, by: str, settings: Settings, now: datetime
) -> None:
    """End an open case with an outcome and its reason; open offers are withdrawn, clocks stopped."""
    require_active(case)
    await _withdraw_open_offers(tx.session, case, settings, f"case closed: {reason}")
    for clock in case.clocks:
        if clock.status in (ClockStatus.running.value, ClockStatus.lapsed.value):
            clock.status, clock.ended_at = ClockStatus.stopped.value, now
            await tx.emit(
                events.clock_changed(case, clock, ClockState.stopped, now), subject=str(case.bill_id)
            )
    case.status, case.outcome, case.close_reason, case.closed_at = (
        CaseStatus.closed.value,
        outcome.value,
        reason,
        now,
    )
    case.follow_up_due_at = None
    refresh(case)
    log(tx.session, case, by, "closed", f"{outcome.value}: {reason}", now)
    await tx.emit(events.closed(case), subject=str(case.bill_id))


async def settle(tx: Tx, case: Case, reason: str, now: datetime) -> bool:
    """Close an agreed case as settled once its agreement is executed. False if it was not agreed."""
    if case.status != CaseStatus.agreed.value:
        if case.status != CaseStatus.settled.value:
            log(
                tx.session,
                case,
                PARLEY,
                "settlement_ignored",
                f"{reason}, but the case is {case.status}",
                now,
            )
        return False
    case.status, case.outcome, case.close_reason, case.closed_at = (
        CaseStatus.settled.value,
        CaseOutcome.settled.value,
        reason,
        now,
    )
    case.attention = None
    await providers.payment_settled(tx.session, case.id, now)
    log(tx.session, case, PARLEY, "settled", reason, now)
    await tx.emit(events.closed(case), subject=str(case.bill_id))
    return True


async def reopen(tx: Tx, case: Case, reason: str, now: datetime) -> bool:
    """The provider declined to sign: back to negotiation, where the negotiator answers with a new offer."""
    if case.status != CaseStatus.agreed.value:
        log(tx.session, case, PARLEY, "reopen_ignored", f"{reason}, but the case is {case.status}", now)
        return False
    _back_to_open(case, f"back in negotiation: {reason}", now)
    await providers.withdraw_payment(tx.session, case.id)
    refresh(case)
    log(tx.session, case, PARLEY, "reopened", reason, now)
    await tx.emit(events.reopened(case, reason, now), subject=str(case.bill_id))
    return True


def flag(session: AsyncSession, case: Case, attention: str, now: datetime, kind: str = "flagged") -> None:
    case.attention = attention
    log(session, case, PARLEY, kind, attention, now)


def payable(case: Case) -> Decimal | None:
    """The target plus unpriced lines at billed: what pricing supports paying."""
    return None if case.target is None else case.target + case.unpriced_billed
