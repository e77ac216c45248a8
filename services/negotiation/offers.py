"""Offers and the answers to them, each with who, when, amount and the evidence it rests on.

- A payer offer is made by a negotiator (or by Parley automatically for a small bill): the amount is the
  strategy's opening unless the negotiator names one; it is at most billed, below any open provider
  counter, within the negotiator's settlement authority (or covered by an approval), carries the pricing
  statement hash, the basis in words, the client's best quick-pay tier and an expiry; a new payer offer
  supersedes the previous open one. Its expiry and follow-ups are scheduled in the same transaction.
- The provider answers the open payer offer (on the offer page, or recorded by a negotiator naming the
  contact): accept, counter (above the payer's offer, at most billed, with a note) or decline (reason).
- The payer answers a provider counter: accept (within authority), counter (a new payer offer) or
  decline (reason).
- An accepted offer is agreement in principle only: the case waits for both sides to confirm the terms
  (confirmations.py) before anything is sent for signature.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.negotiation import authority, events
from services.negotiation.cases import (
    CaseStatus,
    log,
    open_payer_offer,
    open_provider_offer,
    payable,
    refresh,
    require_active,
)
from services.negotiation.client_settings import Settings
from services.negotiation.deadlines import cancel_offer, offer_expiry, schedule_offer
from services.negotiation.models import Case, Offer
from services.negotiation.strategy import money, percent, target_label
from shared.bus.outbox import Tx
from shared.contracts import CaseRoute, Party
from shared.errors import Conflict, ProblemError, Unprocessable

CENT = Decimal("0.01")


class OfferStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    countered = "countered"
    declined = "declined"
    expired = "expired"
    superseded = "superseded"
    withdrawn = "withdrawn"


class Decision(StrEnum):
    accept = "accept"
    counter = "counter"
    decline = "decline"


class OfferGone(ProblemError):
    status_code = 410
    title = "Offer expired"


def _amount_problem(message: str, kind: str = "out_of_range") -> Unprocessable:
    return Unprocessable(message, errors=[{"field": "amount", "message": message, "type": kind}])


def _evidence_basis(case: Case, amount: Decimal) -> str:
    """Why this amount, for an offer whose amount a negotiator chose."""
    parts = []
    base = payable(case)
    if base is not None and case.target is not None:
        uc = (case.evidence or {}).get("uc")
        reviews = ""
        if uc:
            reviews = (
                " (reviews: "
                + ", ".join(f"{kind} {money(Decimal(total))}" for kind, total in uc["reviews"].items())
                + ")"
            )
        parts.append(f"{target_label(case.method)} {money(case.target)}{reviews}")
        parts.append(f"offer {money(amount)} = {percent(amount * 100 / base)}% of the target")
    parts.append(f"{percent(amount * 100 / case.billed)}% of billed {money(case.billed)}")
    return "; ".join(parts)


def _quick_pay(settings: Settings, amount: Decimal) -> tuple[Decimal, int, Decimal] | None:
    if not settings.quick_pay_tiers:
        return None
    tier = settings.quick_pay_tiers[0]
    paid = (amount * (100 - tier.discount_percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return tier.discount_percent.quantize(CENT), tier.pay_within_days, paid


async def make_payer_offer(
    tx: Tx,
    case: Case,
    settings: Settings,
    *,
    amount: Decimal | None,
    note: str | None,
    quick_pay: bool,
    by: str,
    supervisor: bool,
    now: datetime,
    automatic: bool = False,
) -> Offer:
    """Send a payer offer (see the module docstring). Raises 403 beyond authority, 409/422 otherwise."""
    require_active(case, statuses=(CaseStatus.open.value,))
    if case.route == CaseRoute.review.value:
        raise Conflict("a case in review is routed first (a supervisor sets audit or negotiate)")
    basis_prefix = ""
    if amount is None:
        if case.suggested_offer is None or case.suggested_basis is None:
            raise _amount_problem(
                "there is no strategy opening for this case (no target): name an amount", "missing"
            )
        amount, basis = case.suggested_offer, case.suggested_basis
        basis_prefix = "opening strategy: "
    else:
        basis = _evidence_basis(case, amount)
    if amount <= 0 or amount > case.billed:
        raise _amount_problem(f"an offer lies above 0 and at most the billed {money(case.billed)}")
    counter = open_provider_offer(case)
    if counter is not None and amount >= counter.amount:
        raise _amount_problem(
            f"the provider's counter is {money(counter.amount)}; to pay that, accept it instead"
        )
    limit = authority.negotiator_limit(settings.authority, case)
    approval = authority.authorize(
        case, authority.Action.offer, amount, limit, supervisor=supervisor, by=by, now=now
    )
    if approval is not None:
        basis += f"; approved by {approval.decided_by}: {approval.decision_reason}"
    if automatic:
        basis_prefix = (
            f"offered automatically (billed {money(case.billed)} is at or under {case.client_id}'s "
            f"ceiling of {money(settings.auto_offer_ceiling)} for automatic offers): "
        )
    previous = open_payer_offer(case)
    if previous is not None:
        previous.status, previous.responded_at = OfferStatus.superseded.value, now
        await cancel_offer(tx.session, previous, settings.follow_up_days)
    if counter is not None:
        counter.status, counter.responded_at = OfferStatus.countered.value, now
    qp = _quick_pay(settings, amount) if quick_pay else None
    offer = Offer(
        id=uuid.uuid4(),
        case_id=case.id,
        seq=len(case.offers) + 1,
        party=Party.payer.value,
        amount=amount,
        note=note,
        made_at=now,
        made_by=by,
        basis=basis_prefix + basis,
        statement_sha256=case.statement_sha256,
        pricing_revision=case.pricing_revision,
        expires_at=offer_expiry(now, settings.offer_validity_days).astimezone(UTC),
        quick_pay_percent=qp[0] if qp else None,
        quick_pay_days=qp[1] if qp else None,
        quick_pay_amount=qp[2] if qp else None,
        automatic=automatic,
        status=OfferStatus.open.value,
        approval_id=approval.id if approval else None,
    )
    case.offers.append(offer)
    if case.opening_offer is None:
        case.opening_offer = amount
    case.follow_up_due_at = None
    case.attention = None
    await tx.session.flush()
    await schedule_offer(tx.session, case, offer, settings.follow_up_days)
    refresh(case)
    log(tx.session, case, by, "offer", f"payer offer {money(amount)}: {offer.basis}", now)
    await tx.emit(events.offer_made(case, offer), subject=str(case.bill_id))
    return offer


def _answerable(case: Case, party: Party, now: datetime) -> Offer:
    """The other side's open offer that ``party`` answers."""
    require_active(case, statuses=(CaseStatus.open.value,))
    offer = open_provider_offer(case) if party is Party.payer else open_payer_offer(case)
    if offer is None:
        other = "provider" if party is Party.payer else "payer"
        raise Conflict(f"there is no open {other} offer to answer")
    if offer.expires_at is not None and offer.expires_at <= now:
        raise OfferGone(f"the offer of {money(offer.amount)} expired at {offer.expires_at.isoformat()}")
    return offer


async def _close_offer(tx: Tx, offer: Offer, status: OfferStatus, settings: Settings, now: datetime) -> None:
    offer.status, offer.responded_at = status.value, now
    if offer.party == Party.payer.value:
        await cancel_offer(tx.session, offer, settings.follow_up_days)


async def accept(
    tx: Tx, case: Case, party: Party, settings: Settings, *, by: str, supervisor: bool, now: datetime
) -> Offer:
    """``party`` accepts the other side's open offer: agreement in principle, terms to be confirmed.
    The payer's acceptance is bound by settlement authority."""
    offer = _answerable(case, party, now)
    if party is Party.payer:
        limit = authority.negotiator_limit(settings.authority, case)
        authority.authorize(
            case, authority.Action.accept, offer.amount, limit, supervisor=supervisor, by=by, now=now
        )
    await _close_offer(tx, offer, OfferStatus.accepted, settings, now)
    case.status = CaseStatus.confirming.value
    case.accepted_offer_id, case.accepted_at, case.agreed_amount = offer.id, now, offer.amount
    case.follow_up_due_at = None
    case.attention = None
    refresh(case)
    log(
        tx.session,
        case,
        by,
        "accepted",
        f"{party.value} accepted the {offer.party} offer of {money(offer.amount)}; waiting for both sides "
        "to confirm the terms",
        now,
    )
    return offer


async def counter(
    tx: Tx, case: Case, amount: Decimal, note: str | None, settings: Settings, *, by: str, now: datetime
) -> Offer:
    """The provider counters the payer's open offer (or proposes an amount when none is open)."""
    require_active(case, statuses=(CaseStatus.open.value,))
    payer = open_payer_offer(case)
    if payer is not None and payer.expires_at is not None and payer.expires_at <= now:
        raise OfferGone(f"the offer of {money(payer.amount)} expired at {payer.expires_at.isoformat()}")
    floor = (
        payer.amount
        if payer is not None
        else next((o.amount for o in reversed(case.offers) if o.party == Party.payer.value), Decimal(0))
    )
    if amount > case.billed:
        raise _amount_problem(f"a counter cannot exceed the billed charge of {money(case.billed)}")
    if amount <= floor:
        raise _amount_problem(
            f"a counter must be above the payer's offer of {money(floor)}; to take it, accept"
        )
    if payer is not None:
        await _close_offer(tx, payer, OfferStatus.countered, settings, now)
    previous = open_provider_offer(case)
    if previous is not None:
        previous.status, previous.responded_at = OfferStatus.superseded.value, now
    offer = Offer(
        id=uuid.uuid4(),
        case_id=case.id,
        seq=len(case.offers) + 1,
        party=Party.provider.value,
        amount=amount,
        note=note,
        made_at=now,
        made_by=by,
        basis=f"provider's counter: {percent(amount * 100 / case.billed)}% of billed {money(case.billed)}"
        + (f"; {note}" if note else ""),
        pricing_revision=case.pricing_revision,
        status=OfferStatus.open.value,
    )
    case.offers.append(offer)
    case.follow_up_due_at = None
    case.attention = f"provider countered at {money(amount)}: the payer answers"
    await tx.session.flush()
    refresh(case)
    log(
        tx.session,
        case,
        by,
        "offer",
        f"provider counter {money(amount)}" + (f": {note}" if note else ""),
        now,
    )
    await tx.emit(events.offer_made(case, offer), subject=str(case.bill_id))
    return offer


async def decline(
    tx: Tx, case: Case, party: Party, reason: str, settings: Settings, *, by: str, now: datetime
) -> Offer:
    """``party`` declines the other side's open offer outright, with its reason; the case stays open."""
    offer = _answerable(case, party, now)
    await _close_offer(tx, offer, OfferStatus.declined, settings, now)
    case.follow_up_due_at = None
    case.attention = f"{party.value} declined the offer of {money(offer.amount)}: {reason}"
    refresh(case)
    log(tx.session, case, by, "declined", case.attention, now)
    offer.response_reason = reason
    await tx.emit(events.offer_declined(case, offer, party, reason, now), subject=str(case.bill_id))
    return offer


async def expire(tx: Tx, case: Case, offer: Offer, now: datetime) -> bool:
    """The offer's validity ran out unanswered (a scheduled job). False if it was answered meanwhile."""
    if offer.status != OfferStatus.open.value:
        return False
    offer.status, offer.responded_at = OfferStatus.expired.value, now
    case.attention = f"the offer of {money(offer.amount)} expired unanswered: make a new offer or close"
    refresh(case)
    log(tx.session, case, "parley", "expired", case.attention, now)
    await tx.emit(events.offer_expired(case, offer, now), subject=str(case.bill_id))
    return True


async def follow_up(tx: Tx, case: Case, offer: Offer, days: int, due_at: datetime, now: datetime) -> bool:
    """An unanswered payer offer reached a follow-up interval (a scheduled job)."""
    if offer.status != OfferStatus.open.value or case.status != CaseStatus.open.value:
        return False
    case.follow_up_due_at = due_at
    refresh(case)
    log(
        tx.session,
        case,
        "parley",
        "follow_up",
        f"the offer of {money(offer.amount)} is unanswered after {days} business days: follow up",
        now,
    )
    await tx.emit(events.follow_up_due(case, offer, days, due_at), subject=str(case.bill_id))
    return True
