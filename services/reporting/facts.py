"""A bill's facts, changed by one event at a time, with the KPI tables kept in step.

:func:`bill_facts` locks the bill's row (creating it on its first event), takes the bill's contribution,
lets the handler change the facts, works out the fee of a settled or repriced bill, and queues the change
in contribution, all in the handler's transaction. Events of one bill come from several topics in no set
order, so each handler only sets what its event knows, and the rules below make the order not matter:

- the first ``received_at`` and ``priced_at`` count (turnaround); billed follows the latest bill revision
  and the method, allowed amount and findings follow the highest pricing revision;
- a bill has one case: the first opened. Events of another case id are ignored (a second case for one
  bill is an anomaly upstream, and counting both would double the bill).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.contributions import RESOLVED, Approval, Finding, contribution, day_of
from services.reporting.cubes import queue_deltas
from services.reporting.fees import client_lock_key, fee_for, terms_on
from services.reporting.models import BillApproval, BillFact, BillFinding
from services.reporting.repository import fee_history


def earliest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new < current else current


@dataclass
class BillState:
    """The bill being changed: its facts row, and its findings and approvals."""

    fact: BillFact
    findings: list[Finding]
    approvals: dict[uuid.UUID, BillApproval]
    new_findings: list[tuple[int | None, Finding]] | None = None
    _session: AsyncSession | None = field(default=None, repr=False)

    def replace_findings(self, findings: list[tuple[int | None, Finding]]) -> None:
        """The latest pricing's findings, as (line number, finding)."""
        self.new_findings = findings
        self.findings = [finding for _, finding in findings]

    def approval(self, approval_id: uuid.UUID) -> BillApproval:
        found = self.approvals.get(approval_id)
        if found is None:
            found = BillApproval(approval_id=approval_id, bill_id=self.fact.bill_id)
            assert self._session is not None
            self._session.add(found)
            self.approvals[approval_id] = found
        return found

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


def _forget_case(fact: BillFact) -> None:
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


def _approvals(state: BillState) -> list[Approval]:
    return [Approval(a.requested_at, a.decided_at, a.approved) for a in state.approvals.values()]


@contextlib.asynccontextmanager
async def bill_facts(session: AsyncSession, bill_id: uuid.UUID, zone: ZoneInfo) -> AsyncIterator[BillState]:
    """Lock the bill's facts for a change; on exit, work out its fee and queue the KPI differences."""
    await session.execute(pg_insert(BillFact).values(bill_id=bill_id).on_conflict_do_nothing())
    fact = await session.get(BillFact, bill_id, with_for_update=True, populate_existing=True)
    assert fact is not None
    findings = [
        Finding(row.rule, row.code, row.modifiers, row.amount)
        for row in await session.scalars(
            select(BillFinding).where(BillFinding.bill_id == bill_id).order_by(BillFinding.n)
        )
    ]
    approvals = {
        row.approval_id: row
        for row in await session.scalars(select(BillApproval).where(BillApproval.bill_id == bill_id))
    }
    state = BillState(fact, findings, approvals, _session=session)
    before = contribution(fact, findings, _approvals(state), zone)
    yield state
    if state.new_findings is not None:
        await session.execute(delete(BillFinding).where(BillFinding.bill_id == bill_id))
        session.add_all(
            BillFinding(
                bill_id=bill_id,
                n=n,
                line_number=line,
                rule=f.rule,
                code=f.code,
                modifiers=f.modifiers,
                amount=f.amount,
            )
            for n, (line, f) in enumerate(state.new_findings, start=1)
        )
    await settle_fee(session, fact, zone)
    after = contribution(fact, state.findings, _approvals(state), zone)
    await session.flush()
    await queue_deltas(session, after.minus(before))


async def settle_fee(session: AsyncSession, fact: BillFact, zone: ZoneInfo) -> None:
    """Savings, fee and net savings of a settled or repriced bill (None otherwise).

    Takes the client's fee lock in shared mode, so terms being changed at the same moment either are seen
    here or re-work this bill after it commits (:func:`services.reporting.repository.add_fee_terms`)."""
    if fact.outcome not in RESOLVED or fact.closed_at is None or fact.resolved_amount is None:
        fact.savings = fact.fee = fact.net_savings = None
        fact.fee_terms_id = None
        return
    savings = (fact.billed or fact.resolved_amount) - fact.resolved_amount
    terms = None
    if fact.client_id is not None:
        await session.execute(
            text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": client_lock_key(fact.client_id)}
        )
        terms = terms_on(await fee_history(session, fact.client_id), day_of(fact.closed_at, zone))
    fee = fee_for(terms, savings)
    fact.savings = savings
    fact.fee = fee
    fact.net_savings = savings - fee
    fact.fee_terms_id = terms.id if terms is not None else None
