"""Settlement authority: what a negotiator may offer or accept alone, and supervisors' approvals beyond it.

Per client (``Authority`` in client_settings): at most a % of billed, at most the U&C target plus a %,
at most an absolute amount; the lowest applicable rule binds (seed 000 / DOMAIN "Settlement authority").
A supervisor is not bound by them: supervisors are who approves. Anything beyond a negotiator's limit is
refused by the service (not the page) until a supervisor approved that action at that amount or more;
an approval is used once. Every request and decision is recorded on the case and emitted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from services.negotiation.client_settings import Authority
from services.negotiation.models import Approval, Case
from services.negotiation.strategy import money, percent
from shared.errors import Conflict, ProblemError, Unprocessable

CENT = Decimal("0.01")


class Action(StrEnum):
    offer = "offer"  # send a payer offer of this amount
    accept = "accept"  # accept the provider's offer of this amount


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    used = "used"


class BeyondAuthority(ProblemError):
    status_code = 403
    title = "Beyond settlement authority"


@dataclass(frozen=True)
class Limit:
    amount: Decimal | None  # None: no rule applies
    rule: str  # the binding rule, in words


def negotiator_limit(authority: Authority, case: Case) -> Limit:
    """The most a negotiator may offer or accept alone on this case, and the rule that sets it."""
    candidates: list[tuple[Decimal, str]] = []
    if authority.max_percent_of_billed is not None:
        amount = (case.billed * authority.max_percent_of_billed / 100).quantize(CENT, rounding=ROUND_DOWN)
        candidates.append(
            (amount, f"{percent(authority.max_percent_of_billed)}% of billed {money(case.billed)}")
        )
    if authority.max_percent_over_target is not None and case.target is not None:
        base = case.target + case.unpriced_billed
        amount = (base * (100 + authority.max_percent_over_target) / 100).quantize(CENT, rounding=ROUND_DOWN)
        candidates.append(
            (amount, f"the target {money(base)} plus {percent(authority.max_percent_over_target)}%")
        )
    if authority.max_amount is not None:
        candidates.append((authority.max_amount, f"the absolute limit of {money(authority.max_amount)}"))
    if not candidates:
        return Limit(None, "no authority rule applies")
    amount, rule = min(candidates, key=lambda c: c[0])
    return Limit(amount, rule)


def within(limit: Limit, amount: Decimal) -> bool:
    return limit.amount is None or amount <= limit.amount


def authorize(
    case: Case,
    action: Action,
    amount: Decimal,
    limit: Limit,
    *,
    supervisor: bool,
    by: str,
    now: datetime,
) -> Approval | None:
    """Allow ``action`` at ``amount`` or raise 403 naming the rule. Within authority (or a supervisor):
    None. Beyond it: the approved, unused approval that covers it, marked used by ``by``; else refused."""
    if supervisor or within(limit, amount):
        return None
    for approval in case.approvals:
        if (
            approval.status == ApprovalStatus.approved.value
            and approval.action == action.value
            and approval.amount >= amount
        ):
            approval.status = ApprovalStatus.used.value
            approval.used_at, approval.used_by = now, by
            return approval
    assert limit.amount is not None
    pending = any(
        a.status == ApprovalStatus.pending.value and a.action == action.value for a in case.approvals
    )
    then = (
        "a supervisor's decision on the pending request is needed first"
        if pending
        else f"request a supervisor's approval: POST /v1/cases/{case.id}/approvals"
    )
    message = (
        f"{action.value} of {money(amount)} is beyond a negotiator's authority: at most "
        f"{money(limit.amount)} ({limit.rule}); {then}"
    )
    raise BeyondAuthority(
        message, errors=[{"field": "amount", "message": message, "type": "beyond_authority"}]
    )


def request(
    case: Case, action: Action, amount: Decimal, reason: str, limit: Limit, by: str, now: datetime
) -> Approval:
    """A pending request to go beyond ``limit``. Refused when the amount is within authority anyway,
    or when a request for the same action is already pending."""
    if within(limit, amount):
        raise Unprocessable(
            f"{money(amount)} is within a negotiator's authority ({limit.rule}); no approval is needed",
            errors=[{"field": "amount", "message": "within authority", "type": "within_authority"}],
        )
    if amount > case.billed:
        raise Unprocessable(
            f"{money(amount)} is above the billed {money(case.billed)}; nobody may offer or accept that",
            errors=[{"field": "amount", "message": "above billed", "type": "above_billed"}],
        )
    for other in case.approvals:
        if other.status == ApprovalStatus.pending.value and other.action == action.value:
            raise Conflict(f"approval {other.id} for this case's {action.value} is still pending")
    assert limit.amount is not None
    approval = Approval(
        id=uuid.uuid4(),
        case_id=case.id,
        action=action.value,
        amount=amount,
        limit_amount=limit.amount,
        rule=limit.rule,
        reason=reason,
        requested_by=by,
        requested_at=now,
        status=ApprovalStatus.pending.value,
    )
    case.approvals.append(approval)
    return approval


def _what_happened(approval: Approval) -> str:
    """ "used by X on …" (whoever made the offer or acceptance), else "approved/denied by the supervisor"."""
    if approval.status == ApprovalStatus.used.value:
        when = f" on {approval.used_at:%Y-%m-%d}" if approval.used_at else ""
        # Approvals used before ``used_by`` was recorded name no one rather than the wrong person.
        who = f" by {approval.used_by}" if approval.used_by else ""
        return f"used{who}{when} (approved by {approval.decided_by})"
    return f"{approval.status} by {approval.decided_by}"


def decide(approval: Approval, approve: bool, reason: str, by: str, now: datetime) -> None:
    """A supervisor approves or denies a pending request, with a reason. Nobody decides their own."""
    if approval.status != ApprovalStatus.pending.value:
        raise Conflict(f"approval {approval.id} was already {_what_happened(approval)}")
    if approval.requested_by == by:
        raise BeyondAuthority(
            "a request cannot be decided by the person who made it; another supervisor decides",
            errors=[{"field": "approve", "message": "own request", "type": "own_request"}],
        )
    approval.status = (ApprovalStatus.approved if approve else ApprovalStatus.denied).value
    approval.decided_by = by
    approval.decided_at = now
    approval.decision_reason = reason
