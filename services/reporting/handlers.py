"""Reporting listens to every event and keeps one row of facts per bill (plus the KPI tables).

Both generations of the negotiation and agreements contracts are handled: version 1 (``case.opened`` v1,
``case.agreed`` v1, ``agreement.signed`` v1 …, written before the rebuilds and still replayable from any
outbox) and version 2 with routes, approvals, quick-pay terms and execution, which the services emit now.
Where version 1 lacks a fact, it is derived or left unknown:

- route: a version 1 case is on the ``negotiate`` route;
- first offer accepted: the agreed offer is the case's first offer (earliest ``case.offer_made``);
- executed: version 1 has no countersignature, so the provider's signature executes the agreement.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.reporting.config import ReportingSettings
from services.reporting.contributions import RESOLVED, Finding
from services.reporting.fact_batch import batch_scope, bill_facts
from services.reporting.facts import BillState, earliest
from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import (
    AgreementExecutedV1,
    AgreementSignedV1,
    AgreementSignedV2,
    ApprovalDecidedV1,
    ApprovalRequestedV1,
    BillPricedV1,
    BillPricedV2,
    BillReceivedV1,
    BillVoidedV1,
    CaseAgreedV1,
    CaseAgreedV2,
    CaseClosedV1,
    CaseClosedV2,
    CaseNotOpenedV1,
    CaseOpenedV1,
    CaseOpenedV2,
    CaseReopenedV1,
    CaseRoutedV1,
    Envelope,
    OfferMadeV1,
    OfferMadeV2,
    Party,
    ProviderRef,
    RecipientRole,
)


def _provider(state: BillState, provider: ProviderRef, *, replace: bool) -> None:
    fact = state.fact
    if replace or fact.provider_npi is None:
        fact.provider_npi = provider.npi
        fact.provider_tin = provider.tin
        fact.provider_name = provider.name or fact.provider_name


def _client(state: BillState, client_id: str) -> None:
    state.fact.client_id = state.fact.client_id or client_id


def _billed(state: BillState, billed: Decimal) -> None:
    """Billed from a later event, when bill.received has not been seen (it sets billed itself)."""
    if state.fact.billed is None:
        state.fact.billed = billed


def build_handlers(settings: ReportingSettings) -> Handlers:
    zone: ZoneInfo = settings.zone
    # A batch's bills are read before its handlers and written after them, once per table.
    handlers = Handlers(batch_scope=batch_scope(zone))

    # --- bills --------------------------------------------------------------------------------------

    @handlers.on(BillReceivedV1)
    async def received(tx: Tx, e: BillReceivedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            fact = state.fact
            fact.client_id = e.client_id
            fact.partner_claim_id = e.partner_claim_id
            fact.claim_type = e.claim_type.value
            fact.state = e.facility.state
            if e.line_of_business is not None:
                fact.line_of_business = e.line_of_business.value
            fact.received_at = earliest(fact.received_at, e.received_at)
            if fact.bill_revision is None or e.revision >= fact.bill_revision:
                fact.bill_revision = e.revision
                fact.billed = e.total_charge
                _provider(state, e.provider, replace=True)

    @handlers.on(BillVoidedV1)
    async def voided(tx: Tx, e: BillVoidedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            _client(state, e.client_id)
            state.fact.voided_at = earliest(state.fact.voided_at, e.voided_at)

    @handlers.on(BillPricedV1)
    async def priced_v1(tx: Tx, e: BillPricedV1, event: Envelope) -> None:
        await priced(tx, BillPricedV2.from_v1(e), event)

    @handlers.on(BillPricedV2)
    async def priced(tx: Tx, e: BillPricedV2, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            fact = state.fact
            _client(state, e.client_id)
            _provider(state, e.provider, replace=False)
            _billed(state, e.total_billed)
            fact.priced_at = earliest(fact.priced_at, e.priced_at)
            if fact.pricing_revision is not None and e.revision < fact.pricing_revision:
                return  # an older pricing arriving late: the latest revision stands
            fact.pricing_revision = e.revision
            fact.method = e.method.value
            fact.allowed = e.total_allowed
            fact.unpriced_billed = e.unpriced_billed
            fact.findings_at_stake = sum((f.amount_at_stake for f in e.findings), Decimal("0.00"))
            lines = {line.line_number: line for line in e.lines}
            findings: list[tuple[int | None, Finding]] = []
            for f in e.findings:
                line = lines.get(f.line_number) if f.line_number is not None else None
                code = (line.code or "") if line is not None else ""
                modifiers = ",".join(line.modifiers) if line is not None else ""
                findings.append((f.line_number, Finding(f.rule, code, modifiers, f.amount_at_stake)))
            state.replace_findings(findings)

    # --- negotiation, version 1 -----------------------------------------------------------------------

    @handlers.on(CaseOpenedV1)
    async def opened_v1(tx: Tx, e: CaseOpenedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            _client(state, e.client_id)
            _provider(state, e.provider, replace=False)
            _billed(state, e.billed)
            if state.claim_case(e.case_id, e.opened_at):
                state.fact.case_opened_at = e.opened_at
                state.fact.route = state.fact.route or "negotiate"
                state.fact.opening_offer = e.opening_offer

    @handlers.on(CaseNotOpenedV1)
    async def not_opened(tx: Tx, e: CaseNotOpenedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            _client(state, e.client_id)
            state.fact.not_negotiated_at = earliest(state.fact.not_negotiated_at, e.decided_at)
            state.fact.not_negotiated_reason = e.reason.value

    @handlers.on(OfferMadeV1)
    async def offer_v1(tx: Tx, e: OfferMadeV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if not state.case_matches(e.case_id):
                return
            fact = state.fact
            fact.offers = (fact.offers or 0) + 1
            if fact.first_offer_at is None or e.made_at < fact.first_offer_at:
                fact.first_offer_id, fact.first_offer_at = e.offer_id, e.made_at

    @handlers.on(CaseAgreedV1)
    async def agreed_v1(tx: Tx, e: CaseAgreedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            _client(state, e.client_id)
            _provider(state, e.provider, replace=False)
            _billed(state, e.billed)
            if not state.case_matches(e.case_id):
                return
            fact = state.fact
            fact.agreed_at = e.agreed_at
            fact.agreed_amount = e.agreed_amount
            fact.agreed_offer_id = e.offer_id
            fact.first_offer_accepted = (
                e.offer_id == fact.first_offer_id if fact.first_offer_id is not None else None
            )

    @handlers.on(CaseClosedV1)
    async def closed_v1(tx: Tx, e: CaseClosedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                _close(state, e.outcome.value, e.reason, e.closed_at, e.agreed_amount)

    # --- negotiation, version 2 -----------------------------------------------------------------------

    @handlers.on(CaseOpenedV2)
    async def opened_v2(tx: Tx, e: CaseOpenedV2, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            fact = state.fact
            _client(state, e.client_id)
            _provider(state, e.provider, replace=False)
            _billed(state, e.billed)
            fact.method = fact.method or e.method.value
            if fact.allowed is None and e.target is not None:
                fact.allowed = e.target
            if state.claim_case(e.case_id, e.opened_at):
                fact.case_opened_at = e.opened_at
                fact.route = e.route.value
                fact.opening_offer = e.opening_offer

    @handlers.on(CaseRoutedV1)
    async def routed(tx: Tx, e: CaseRoutedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                state.fact.route = e.route.value

    @handlers.on(OfferMadeV2)
    async def offer_v2(tx: Tx, e: OfferMadeV2, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if not state.case_matches(e.case_id):
                return
            fact = state.fact
            _client(state, e.client_id)
            _billed(state, e.billed)
            fact.offers = (fact.offers or 0) + 1
            if e.seq == 1:
                fact.first_offer_id, fact.first_offer_at = e.offer_id, e.made_at
                if e.party is Party.payer:
                    fact.opening_offer = e.amount
            if e.quick_pay is not None:
                fact.quick_pay_offered = True

    @handlers.on(ApprovalRequestedV1)
    async def approval_requested(tx: Tx, e: ApprovalRequestedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                state.approval(e.approval_id).requested_at = e.requested_at

    @handlers.on(ApprovalDecidedV1)
    async def approval_decided(tx: Tx, e: ApprovalDecidedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                approval = state.approval(e.approval_id)
                approval.decided_at = e.decided_at
                approval.approved = e.approved

    @handlers.on(CaseAgreedV2)
    async def agreed_v2(tx: Tx, e: CaseAgreedV2, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            fact = state.fact
            _client(state, e.client_id)
            _provider(state, e.provider, replace=False)
            _billed(state, e.billed)
            fact.method = fact.method or e.method.value
            if fact.line_of_business is None and e.line_of_business is not None:
                fact.line_of_business = e.line_of_business.value
            if not state.case_matches(e.case_id):
                return
            fact.agreed_at = e.agreed_at
            fact.agreed_amount = e.agreed_amount
            fact.agreed_offer_id = e.offer_id
            fact.first_offer_accepted = e.first_offer_accepted
            fact.quick_pay_agreed = e.terms.quick_pay is not None

    @handlers.on(CaseReopenedV1)
    async def reopened(tx: Tx, e: CaseReopenedV1, _: Envelope) -> None:
        # The provider declined to sign: the agreement did not happen, and the case is back in play.
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                fact = state.fact
                fact.agreed_at = fact.agreed_amount = fact.agreed_offer_id = None
                fact.first_offer_accepted = None
                fact.quick_pay_agreed = False
                fact.signed_at = fact.executed_at = None

    @handlers.on(CaseClosedV2)
    async def closed_v2(tx: Tx, e: CaseClosedV2, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            _client(state, e.client_id)
            if e.method is not None:
                state.fact.method = state.fact.method or e.method.value
            if state.case_matches(e.case_id):
                _close(state, e.outcome.value, e.reason, e.closed_at, e.agreed_amount)

    # --- agreements -----------------------------------------------------------------------------------

    @handlers.on(AgreementSignedV1)
    async def signed_v1(tx: Tx, e: AgreementSignedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                state.fact.signed_at = e.signed_at
                state.fact.executed_at = e.signed_at  # version 1: the provider's signature executes it

    @handlers.on(AgreementSignedV2)
    async def signed_v2(tx: Tx, e: AgreementSignedV2, _: Envelope) -> None:
        if e.role is not RecipientRole.provider:
            return  # the payer's countersignature comes as agreement.countersigned; execution follows
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            if state.case_matches(e.case_id):
                state.fact.signed_at = e.signed_at

    @handlers.on(AgreementExecutedV1)
    async def executed(tx: Tx, e: AgreementExecutedV1, _: Envelope) -> None:
        async with bill_facts(tx.session, e.bill_id, zone) as state:
            _client(state, e.client_id)
            if state.case_matches(e.case_id):
                state.fact.executed_at = e.executed_at

    return handlers


def _close(state: BillState, outcome: str, reason: str, closed_at: datetime, amount: Decimal | None) -> None:
    fact = state.fact
    fact.outcome = outcome
    fact.outcome_reason = reason
    fact.closed_at = closed_at
    fact.resolved_amount = amount if outcome in RESOLVED else None
