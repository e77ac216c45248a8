"""What one bill adds to the KPI tables, worked out from its facts alone (pure; no database).

The consumers keep the KPI tables current by difference: before an event changes a bill's facts they
take its contribution, after the change they take it again, and they queue ``after − before`` for the
fold (:mod:`services.reporting.cubes`). Because a contribution depends only on the facts, a bill whose
client, method or state becomes known later moves from the "unknown" rows to the right ones, and an
event seen twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from services.reporting.measures import (
    MEASURES,
    PATTERN_COUNTS,
    PATTERN_MONEY,
    duration_bucket,
    share_bucket,
)

KPI = "kpi"
HIST = "hist"
PIPELINE = "pipeline"
PATTERN = "pattern"

RESOLVED = ("settled", "repriced")
_INDEX = {name: i for i, name in enumerate(MEASURES)}
_PATTERN_WIDTH = len(PATTERN_COUNTS) + len(PATTERN_MONEY)
ZERO = Decimal("0")

Key = tuple[object, ...]
Vector = list[Decimal]


class FactLike(Protocol):
    client_id: str | None
    method: str | None
    state: str | None
    line_of_business: str | None
    provider_npi: str | None
    received_at: datetime | None
    billed: Decimal | None
    priced_at: datetime | None
    allowed: Decimal | None
    unpriced_billed: Decimal | None
    case_opened_at: datetime | None
    route: str | None
    not_negotiated_at: datetime | None
    agreed_at: datetime | None
    agreed_amount: Decimal | None
    first_offer_accepted: bool | None
    quick_pay_offered: bool
    quick_pay_agreed: bool
    executed_at: datetime | None
    outcome: str | None
    closed_at: datetime | None
    resolved_amount: Decimal | None
    savings: Decimal | None
    fee: Decimal | None
    net_savings: Decimal | None
    voided_at: datetime | None


@dataclass(frozen=True)
class Finding:
    rule: str
    code: str
    modifiers: str
    amount: Decimal


@dataclass(frozen=True)
class Approval:
    requested_at: datetime | None
    decided_at: datetime | None
    approved: bool | None


class Ledger:
    """Sparse vectors keyed by (table, key): a bill's contribution, or the difference of two."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, Key], Vector] = {}

    def add(self, table: str, key: Key, width: int, values: dict[int, Decimal | int]) -> None:
        vector = self.rows.setdefault((table, key), [ZERO] * width)
        for i, value in values.items():
            vector[i] += Decimal(value)

    def merge(self, other: Ledger) -> None:
        """Add ``other`` into this ledger (a rebuild sums many bills before writing)."""
        for where, vector in other.rows.items():
            mine = self.rows.get(where)
            if mine is None:
                self.rows[where] = list(vector)
            else:
                for i, value in enumerate(vector):
                    mine[i] += value

    def minus(self, other: Ledger) -> Ledger:
        result = Ledger()
        for where in self.rows.keys() | other.rows.keys():
            mine, theirs = self.rows.get(where), other.rows.get(where)
            width = len(mine if mine is not None else theirs or [])
            diff = [(mine[i] if mine else ZERO) - (theirs[i] if theirs else ZERO) for i in range(width)]
            if any(diff):
                result.rows[where] = diff
        return result

    def of(self, table: str) -> list[tuple[Key, Vector]]:
        return sorted(((key, vector) for (t, key), vector in self.rows.items() if t == table), key=repr)


def day_of(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def share_basis_points(agreed: Decimal, billed: Decimal) -> int | None:
    """Agreed amount as a share of billed, in basis points (1 bp = 0.01 %)."""
    if billed <= 0:
        return None
    return int((agreed * 10000 / billed).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def queue_of(fact: FactLike) -> str | None:
    """Where an open bill waits (None once it has left the pipeline): pricing (received, not yet
    routed), the case's route (negotiate, audit, review), or agreement (terms agreed, not executed)."""
    if fact.received_at is None or fact.voided_at is not None or fact.outcome is not None:
        return None
    if fact.not_negotiated_at is not None and fact.case_opened_at is None:
        return None
    if fact.agreed_at is not None:
        return "agreement"
    if fact.case_opened_at is not None:
        return fact.route or "negotiate"
    return "pricing"


def contribution(
    fact: FactLike, findings: Iterable[Finding], approvals: Iterable[Approval], zone: ZoneInfo
) -> Ledger:
    """Everything this bill adds to the KPI, histogram, pipeline and pattern tables."""
    ledger = Ledger()
    dims = (
        fact.client_id or "",
        fact.method or "",
        fact.state or "",
        fact.line_of_business or "",
        fact.provider_npi or "",
    )
    billed = fact.billed or ZERO
    width = len(MEASURES)

    def kpi(moment: datetime, **values: Decimal | int) -> None:
        ledger.add(KPI, (day_of(moment, zone), *dims), width, {_INDEX[k]: v for k, v in values.items()})

    def hist(moment: datetime, metric: str, bucket: int) -> None:
        ledger.add(HIST, (day_of(moment, zone), *dims, metric, bucket), 1, {0: 1})

    if fact.received_at is not None:
        kpi(fact.received_at, received=1, received_billed=billed)
    if fact.priced_at is not None:
        kpi(
            fact.priced_at,
            priced=1,
            priced_billed=billed,
            allowed=fact.allowed or ZERO,
            unpriced_billed=fact.unpriced_billed or ZERO,
        )
        if fact.received_at is not None and fact.priced_at >= fact.received_at:
            seconds = (fact.priced_at - fact.received_at).total_seconds()
            hist(fact.priced_at, "received_to_priced", duration_bucket(seconds))
    if fact.case_opened_at is not None:
        kpi(fact.case_opened_at, cases_opened=1)
    if fact.not_negotiated_at is not None and fact.case_opened_at is None:
        kpi(fact.not_negotiated_at, not_negotiated=1)
    if fact.agreed_at is not None:
        agreed_amount = fact.agreed_amount or ZERO
        kpi(
            fact.agreed_at,
            agreed=1,
            agreed_billed=billed,
            agreed_amount=agreed_amount,
            first_offer_accepted=int(bool(fact.first_offer_accepted)),
            quick_pay_offered=int(fact.quick_pay_offered),
            quick_pay_agreed=int(fact.quick_pay_agreed),
        )
        if fact.received_at is not None and fact.agreed_at >= fact.received_at:
            seconds = (fact.agreed_at - fact.received_at).total_seconds()
            hist(fact.agreed_at, "received_to_agreed", duration_bucket(seconds))
        share = share_basis_points(agreed_amount, billed)
        if share is not None:
            hist(fact.agreed_at, "accepted_share", share_bucket(share))
    if fact.executed_at is not None:
        kpi(fact.executed_at, executed=1)
        if fact.agreed_at is not None and fact.executed_at >= fact.agreed_at:
            seconds = (fact.executed_at - fact.agreed_at).total_seconds()
            hist(fact.executed_at, "agreed_to_executed", duration_bucket(seconds))
    resolved = fact.outcome in RESOLVED and fact.closed_at is not None
    if resolved and fact.closed_at is not None:
        kpi(
            fact.closed_at,
            **{fact.outcome or "": 1},
            resolved_billed=billed,
            resolved_amount=fact.resolved_amount or ZERO,
            savings=fact.savings or ZERO,
            fees=fact.fee or ZERO,
            net_savings=fact.net_savings or ZERO,
        )
    elif fact.voided_at is not None:
        # A void ends the bill whatever the case's closing said (version 1 closes it "unresolved").
        kpi(fact.voided_at, voided=1)
    elif fact.outcome is not None and fact.closed_at is not None:
        kpi(fact.closed_at, **{fact.outcome: 1})
    for approval in approvals:
        if approval.requested_at is not None:
            kpi(approval.requested_at, approvals_requested=1)
        if approval.decided_at is not None and approval.approved is False:
            kpi(approval.decided_at, approvals_denied=1)
    queue = queue_of(fact)
    if queue is not None and fact.received_at is not None:
        key = (day_of(fact.received_at, zone), dims[0], dims[1], dims[2], dims[3], queue)
        ledger.add(PIPELINE, key, 2, {0: 1, 1: billed})
    if fact.priced_at is not None:
        disputed = fact.outcome == "disputed"
        for finding in findings:
            key = (
                day_of(fact.priced_at, zone),
                dims[0],
                dims[4],
                finding.code,
                finding.modifiers,
                finding.rule,
            )
            ledger.add(
                PATTERN,
                key,
                _PATTERN_WIDTH,
                {0: 1, 1: int(disputed), 2: finding.amount, 3: finding.amount if disputed else ZERO},
            )
    return ledger
