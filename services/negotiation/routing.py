"""Routing a priced bill: repriced, audit, negotiate or review, with the reason in words.

In order (seed 003: route by what blocks payment; DOMAIN "Negotiation"):
1. ``review``: no line could be priced; a person decides what to do with the bill.
2. ``audit``: the bill's audit findings that are errors (duplicates, NCCI, MUE, modifier misuse) put more
   than the client's ``audit_threshold`` at stake: the errors are disputed before anyone negotiates on
   the bill's value. A line's dollars count once, however many findings name it.
3. ``repriced``: priced by a fee schedule, a PPO contract or a direct agreement: the case records the
   method and amount and closes without negotiation (seed 000).
4. ``negotiate``: priced by U&C and billed above the target (the median of the three reviews over the
   priced lines, plus unpriced lines at billed).
Otherwise (U&C, billed at or under the target) nothing is negotiated and no case opens.

``charge_above_uc`` and ``contract_above_uc`` findings are leverage for the negotiator, not errors in the
bill, so they never route a bill to audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.negotiation.strategy import money
from shared.contracts import BillPricedV2, CaseRoute, FindingV2, NotOpenedReason, PricingMethod

ERROR_RULES = frozenset(
    {
        "duplicate_line",
        "near_duplicate_line",
        "ncci_ptp",
        "mue",
        "modifier_59",
        "modifier_25",
        "modifier_pctc",
    }
)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Routing:
    route: CaseRoute | None  # None: no case opens (see not_opened)
    reason: str
    target: Decimal | None  # total allowed over the priced lines; None when nothing was priced
    findings_at_stake: Decimal
    at_stake: Decimal  # the dollars the route works on; sets the queue priority
    not_opened: NotOpenedReason | None = None


def error_findings(priced: BillPricedV2) -> list[FindingV2]:
    return [f for f in priced.findings if f.rule in ERROR_RULES]


def findings_at_stake(findings: list[FindingV2]) -> Decimal:
    """Dollars at stake in the findings, each line counted once (its largest finding)."""
    by_line: dict[int | None, Decimal] = {}
    total = ZERO
    for finding in findings:
        if finding.line_number is None:
            total += finding.amount_at_stake
        else:
            by_line[finding.line_number] = max(
                by_line.get(finding.line_number, ZERO), finding.amount_at_stake
            )
    return total + sum(by_line.values(), ZERO)


def method_words(priced: BillPricedV2) -> str:
    match priced.method:
        case PricingMethod.fee_schedule:
            return f"the {priced.jurisdiction} fee schedule"
        case PricingMethod.contract:
            return f"PPO contract {priced.contract_id}" if priced.contract_id else "a PPO contract"
        case PricingMethod.agreement:
            return f"direct agreement {priced.contract_id}" if priced.contract_id else "a direct agreement"
        case _:
            return "usual-and-customary review (median of three)"


def route_for(priced: BillPricedV2, audit_threshold: Decimal, client_id: str) -> Routing:
    """Where this pricing sends the bill, and why (see the module docstring)."""
    billed = priced.total_billed
    findings = error_findings(priced)
    at_stake_in_findings = findings_at_stake(findings)
    priced_lines = [line for line in priced.lines if line.allowed is not None]
    if not priced_lines:
        reasons = "; ".join(f"line {line.line_number}: {line.reason}" for line in priced.lines if line.reason)
        return Routing(
            CaseRoute.review,
            f"no line could be priced ({reasons or 'no reason given'}): a person reviews the bill",
            None,
            at_stake_in_findings,
            billed,
        )
    target = priced.total_allowed
    if at_stake_in_findings > audit_threshold:
        named = ", ".join(
            f"{f.rule} {money(f.amount_at_stake)}" + (f" on line {f.line_number}" if f.line_number else "")
            for f in findings
        )
        return Routing(
            CaseRoute.audit,
            f"audit findings put {money(at_stake_in_findings)} at stake ({named}), above {client_id}'s "
            f"threshold of {money(audit_threshold)}: dispute the errors before negotiating",
            target,
            at_stake_in_findings,
            at_stake_in_findings,
        )
    payable = target + priced.unpriced_billed
    unpriced = f" plus {money(priced.unpriced_billed)} unpriced at billed" if priced.unpriced_billed else ""
    if priced.method is not PricingMethod.usual_and_customary:
        return Routing(
            CaseRoute.repriced,
            f"priced by {method_words(priced)} at {money(target)}{unpriced}: no negotiation needed",
            target,
            at_stake_in_findings,
            max(billed - payable, ZERO),
        )
    if billed > payable:
        return Routing(
            CaseRoute.negotiate,
            f"billed {money(billed)} is above the U&C target {money(target)}{unpriced}: negotiate",
            target,
            at_stake_in_findings,
            billed - payable,
        )
    return Routing(
        None,
        f"billed {money(billed)} is not above the U&C target {money(target)}{unpriced}; nothing to negotiate",
        target,
        at_stake_in_findings,
        ZERO,
        NotOpenedReason.no_savings,
    )
