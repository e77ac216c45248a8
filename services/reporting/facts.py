"""A bill's facts as the event handlers change them, and the rules that make the order of events not matter.

A handler gets a bill's state (:func:`services.reporting.fact_batch.bill_facts`): its facts row, findings
and approvals, read and locked once per consumer batch and written back, with the fee of a settled or
repriced bill and the change in the bill's KPI contribution, once per batch just before the commit.
Events of one bill come from several topics in no set order, so each handler only sets what its event
knows, and the rules below make the order not matter:

- the first ``received_at`` and ``priced_at`` count (turnaround); billed follows the latest bill revision
  and the method, allowed amount and findings follow the highest pricing revision;
- a bill has one case: the first opened. Events of another case id are ignored (a second case for one
  bill is an anomaly upstream, and counting both would double the bill).
"""

from __future__ import annotations

import dataclasses
import operator
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.reporting.contributions import RESOLVED, Approval, Finding, Ledger, day_of
from services.reporting.fees import FeeTerms, fee_for, terms_on
from services.reporting.models import BillFact


def earliest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new < current else current


@dataclass(slots=True)
class FactRow:
    """One ``bill_facts`` row in memory: every column the handlers keep (not ``demo``, set by the demo
    loader, nor ``updated_at``, the database's clock). Defaults are the table's, as a new row has them."""

    bill_id: uuid.UUID
    client_id: str | None = None
    partner_claim_id: str | None = None
    claim_type: str | None = None
    provider_npi: str | None = None
    provider_tin: str | None = None
    provider_name: str | None = None
    state: str | None = None
    line_of_business: str | None = None
    received_at: datetime | None = None
    bill_revision: int | None = None
    billed: Decimal | None = None
    priced_at: datetime | None = None
    pricing_revision: int | None = None
    method: str | None = None
    allowed: Decimal | None = None
    unpriced_billed: Decimal | None = None
    findings_at_stake: Decimal | None = None
    case_id: uuid.UUID | None = None
    case_opened_at: datetime | None = None
    route: str | None = None
    opening_offer: Decimal | None = None
    first_offer_id: uuid.UUID | None = None
    first_offer_at: datetime | None = None
    offers: int = 0
    quick_pay_offered: bool = False
    not_negotiated_at: datetime | None = None
    not_negotiated_reason: str | None = None
    agreed_at: datetime | None = None
    agreed_amount: Decimal | None = None
    agreed_offer_id: uuid.UUID | None = None
    first_offer_accepted: bool | None = None
    quick_pay_agreed: bool = False
    signed_at: datetime | None = None
    executed_at: datetime | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    closed_at: datetime | None = None
    resolved_amount: Decimal | None = None
    savings: Decimal | None = None
    fee: Decimal | None = None
    net_savings: Decimal | None = None
    fee_terms_id: uuid.UUID | None = None
    voided_at: datetime | None = None

    def values(self) -> tuple[object, ...]:
        """The columns' values in :data:`FACT_COLUMNS` order."""
        return _values(self)


FACT_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FactRow))
_values = operator.attrgetter(*FACT_COLUMNS)
# The row type must follow the table: a column added to one and not the other would be lost silently.
assert set(FACT_COLUMNS) == {c.name for c in BillFact.__table__.columns} - {"demo", "updated_at"}


@dataclass(slots=True)
class ApprovalRow:
    """A supervisor approval of the bill's case, as ``bill_approvals`` keeps it."""

    approval_id: uuid.UUID
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    approved: bool | None = None


@dataclass
class BillState:
    """The bill being changed in this batch: its facts row, findings and approvals, and how they were
    read (to write back only what changed, and to queue the difference in the bill's contribution)."""

    fact: FactRow
    findings: list[Finding]
    approvals: dict[uuid.UUID, ApprovalRow]
    created: bool = False  # the batch inserted the row (it did not exist)
    new_findings: list[tuple[int | None, Finding]] | None = None
    stored_findings: int = 0  # findings rows as read
    loaded: tuple[object, ...] = ()  # the facts as read
    loaded_approvals: dict[uuid.UUID, tuple[object, ...]] = field(default_factory=dict)
    before: Ledger | None = None  # the bill's contribution as read; None until a handler touches it

    def replace_findings(self, findings: list[tuple[int | None, Finding]]) -> None:
        """The latest pricing's findings, as (line number, finding)."""
        self.new_findings = findings
        self.findings = [finding for _, finding in findings]

    def approval(self, approval_id: uuid.UUID) -> ApprovalRow:
        found = self.approvals.get(approval_id)
        if found is None:
            found = self.approvals[approval_id] = ApprovalRow(approval_id)
        return found

    def approval_facts(self) -> list[Approval]:
        return [Approval(a.requested_at, a.decided_at, a.approved) for a in self.approvals.values()]

    def case_matches(self, case_id: uuid.UUID) -> bool:
        """Whether an event of ``case_id`` is about this bill's case."""
        return self.fact.case_id is None or self.fact.case_id == case_id

    def claim_case(self, case_id: uuid.UUID, opened_at: datetime) -> bool:
        """Record ``case_id`` as the bill's case if it is the first opened; False if another one is."""
        fact = self.fact
        if fact.case_id == case_id:
            return True
        if fact.case_id is not None and fact.case_opened_at is not None and fact.case_opened_at <= opened_at:
            return False
        if fact.case_id is not None:
            _forget_case(fact)
        fact.case_id = case_id
        return True


def _forget_case(fact: FactRow) -> None:
    for name in (
        "case_opened_at",
        "route",
        "opening_offer",
        "first_offer_id",
        "first_offer_at",
        "agreed_at",
        "agreed_amount",
        "agreed_offer_id",
        "first_offer_accepted",
        "signed_at",
        "executed_at",
        "outcome",
        "outcome_reason",
        "closed_at",
        "resolved_amount",
    ):
        setattr(fact, name, None)
    fact.offers = 0
    fact.quick_pay_offered = False
    fact.quick_pay_agreed = False


def settle_fee(fact: FactRow, zone: ZoneInfo, history: list[FeeTerms]) -> None:
    """Savings, fee and net savings of a settled or repriced bill (None otherwise), under the client's
    fee terms in force (``history``, read under the client's fee lock: see
    :func:`services.reporting.fact_batch.FactsBatch.write`)."""
    closed_at, amount = fact.closed_at, fact.resolved_amount
    if fact.outcome not in RESOLVED or closed_at is None or amount is None:
        fact.savings = fact.fee = fact.net_savings = None
        fact.fee_terms_id = None
        return
    savings = (fact.billed or amount) - amount
    terms = terms_on(history, day_of(closed_at, zone)) if fact.client_id is not None else None
    fee = fee_for(terms, savings)
    fact.savings = savings
    fact.fee = fee
    fact.net_savings = savings - fee
    fact.fee_terms_id = terms.id if terms is not None else None


def is_resolved(fact: FactRow) -> bool:
    """Settled or repriced, with the amount and day: a bill that carries a fee."""
    return fact.outcome in RESOLVED and fact.closed_at is not None and fact.resolved_amount is not None
