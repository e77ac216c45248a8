"""The negotiation case: when one opens, how offers alternate, when both sides have agreed.

Rules:
- A case opens when pricing can prove a saving: the payer's opening offer is the allowed amount of the
  priced lines plus the billed charge of any line that could not be priced (no saving is claimed on a
  line nobody priced). If no line could be priced, or the offer would not be below billed, no case opens
  and the reason is announced.
- Offers alternate: only the side that did not make the latest offer may respond. It accepts that offer
  (both sides have then accepted the same amount: the case is agreed) or counters with a new amount.
  A provider's counter lies above the payer's latest offer and at most the billed charge; a payer's
  counter lies below the provider's latest counter.
- Once agreed, the case waits for the signed settlement agreement, then closes as settled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from services.negotiation.models import Case, Offer
from shared.contracts import BillPricedV2, NotOpenedReason, Party
from shared.errors import Conflict, Unprocessable


class CaseStatus(StrEnum):
    open = "open"
    agreed = "agreed"
    settled = "settled"
    closed = "closed"


class Decision(StrEnum):
    accept = "accept"
    counter = "counter"


@dataclass(frozen=True)
class Opening:
    opening_offer: Decimal | None
    reason: NotOpenedReason | None
    detail: str


def opening_for(priced: BillPricedV2) -> Opening:
    priced_lines = [line for line in priced.lines if line.allowed is not None]
    if not priced_lines:
        return Opening(
            None, NotOpenedReason.unpriced, "no line could be priced; the bill needs a person to review it"
        )
    offer = priced.total_allowed + priced.unpriced_billed
    if offer >= priced.total_billed:
        return Opening(
            None,
            NotOpenedReason.no_savings,
            f"priced amount {offer} is not below the billed {priced.total_billed}; nothing to negotiate",
        )
    detail = f"opening offer {offer} against billed {priced.total_billed}"
    if priced.unpriced_billed:
        detail += f" (includes {priced.unpriced_billed} of unpriced lines at billed)"
    return Opening(offer, None, detail)


def open_case(priced: BillPricedV2, opening_offer: Decimal, now: datetime) -> Case:
    case_id = uuid.uuid4()
    return Case(
        id=case_id,
        bill_id=priced.bill_id,
        client_id=priced.client_id,
        provider_npi=priced.provider.npi,
        provider_tin=priced.provider.tin,
        provider_name=priced.provider.name,
        billed=priced.total_billed,
        opening_offer=opening_offer,
        status=CaseStatus.open.value,
        opened_at=now,
        offers=[
            Offer(
                id=uuid.uuid4(),
                case_id=case_id,
                seq=1,
                party=Party.payer.value,
                amount=opening_offer,
                note="opening offer from pricing",
                made_at=now,
            )
        ],
    )


def respond(
    case: Case, party: Party, decision: Decision, amount: Decimal | None, note: str | None, now: datetime
) -> Offer:
    """Apply one side's response. Returns the offer that was made, or the one that was accepted."""
    if case.status != CaseStatus.open.value:
        raise Conflict(f"case {case.id} is {case.status}; it takes no more responses")
    latest = case.offers[-1]
    if latest.party == party.value:
        other = Party.provider if party is Party.payer else Party.payer
        raise Unprocessable(
            f"the {party.value} made the latest offer ({latest.amount}); the {other.value} responds next",
            errors=[
                {"field": "party", "message": f"it is the {other.value}'s turn", "type": "not_your_turn"}
            ],
        )
    if decision is Decision.accept:
        if amount is not None and amount != latest.amount:
            raise Unprocessable(
                f"accept agrees to the latest offer of {latest.amount}; to propose {amount}, counter instead",
                errors=[
                    {
                        "field": "amount",
                        "message": "differs from the offer being accepted",
                        "type": "mismatch",
                    }
                ],
            )
        case.status = CaseStatus.agreed.value
        case.agreed_amount = latest.amount
        case.agreed_offer_id = latest.id
        case.agreed_at = now
        return latest
    if amount is None:
        raise Unprocessable(
            "a counter needs an amount",
            errors=[{"field": "amount", "message": "required when decision is counter", "type": "missing"}],
        )
    _check_counter(case, party, latest, amount)
    offer = Offer(
        id=uuid.uuid4(),
        case_id=case.id,
        seq=latest.seq + 1,
        party=party.value,
        amount=amount,
        note=note,
        made_at=now,
    )
    case.offers.append(offer)
    return offer


def _check_counter(case: Case, party: Party, latest: Offer, amount: Decimal) -> None:
    problem: str | None = None
    if amount > case.billed:
        problem = f"a counter cannot exceed the billed charge of {case.billed}"
    elif party is Party.provider and amount <= latest.amount:
        problem = f"a provider counter must be above the payer's offer of {latest.amount}; to take it, accept"
    elif party is Party.payer and amount >= latest.amount:
        problem = (
            f"a payer counter must be below the provider's counter of {latest.amount}; to take it, accept"
        )
    if problem:
        raise Unprocessable(problem, errors=[{"field": "amount", "message": problem, "type": "out_of_range"}])


def close_voided(case: Case, reason: str, now: datetime) -> bool:
    """Close an open case whose bill the partner voided. False if the case was no longer open."""
    if case.status != CaseStatus.open.value:
        return False
    case.status = CaseStatus.closed.value
    case.outcome = "closed_unresolved"
    case.close_reason = reason
    case.closed_at = now
    return True


def settle(case: Case, now: datetime) -> bool:
    """Close an agreed case as settled once its agreement is signed. False if it already was."""
    if case.status == CaseStatus.settled.value:
        return False
    if case.status != CaseStatus.agreed.value:
        raise Conflict(f"case {case.id} is {case.status}; only an agreed case can settle")
    case.status = CaseStatus.settled.value
    case.outcome = "settled"
    case.close_reason = "settlement agreement signed"
    case.closed_at = now
    return True
