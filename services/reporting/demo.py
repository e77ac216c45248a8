"""Demo history for ``make up``: six weeks of SYNTHETIC bills for the demo clients, so the dashboard and
the weekly report have something to show.

The bills are events in the shapes the services emit (version 2 contracts), applied through reporting's
own handlers in one transaction, and flagged ``demo`` (the API counts them, the dashboard and the weekly
report say so). Ids are derived from a fixed seed, so loading twice changes nothing.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.config import ReportingSettings
from services.reporting.fees import FeeKind, FeeTerms
from services.reporting.handlers import build_handlers
from services.reporting.models import BillFact, FeeTermsRow, bus
from services.reporting.repository import add_fee_terms
from shared.bus.outbox import Outbox, Tx
from shared.contracts import (
    AgreementExecutedV1,
    ApprovalDecidedV1,
    ApprovalRequestedV1,
    BillLineV1,
    BillPricedV2,
    BillReceivedV1,
    CaseAgreedV2,
    CaseClosedV2,
    CaseOpenedV2,
    CaseOutcome,
    CaseRoute,
    ClaimType,
    Envelope,
    FacilityRef,
    FindingV2,
    LineOfBusiness,
    OfferMadeV2,
    Party,
    PaymentTerms,
    PricedLineV2,
    PricingMethod,
    ProviderRef,
    QuickPayTerms,
)

NAMESPACE = uuid.UUID("5f0c3a52-6d1e-4c59-9d57-2b1f7d4e0a11")
CLIENTS = {
    "acme-employers": (LineOfBusiness.workers_compensation, ["FL", "MD", "GA"]),
    "harbor-comp": (LineOfBusiness.workers_compensation, ["CA", "TX"]),
}
PROVIDERS = [
    ("1912301953", "Ben Kildare Service"),
    ("1234567893", "Harbor Surgical Group"),
    ("1093817465", "Bayside Imaging Center"),
    ("1548263970", "Northgate Orthopedics"),
    ("1750394826", "Riverside Physical Therapy"),
]
FINDINGS = [
    ("modifier_59", "97140", ["59"]),
    ("ncci_ptp", "29881", []),
    ("mue", "97110", []),
    ("modifier_25", "99214", ["25"]),
    ("modifier_pctc", "71046", ["26"]),
]
CENT = Decimal("0.01")


def _share(amount: Decimal, factor: float) -> Decimal:
    """``amount`` × a random factor, in dollars to the cent (the factor's decimal digits kept exactly)."""
    return (amount * Decimal(repr(factor))).quantize(CENT, rounding=ROUND_HALF_UP)


def bill_events(n: int, rng: random.Random, now: datetime) -> list[Any]:
    """The events of demo bill ``n`` up to ``now``, in the order they happened (received first)."""
    client = rng.choice(sorted(CLIENTS))
    lob, states = CLIENTS[client]
    state = rng.choice(states)
    npi, name = PROVIDERS[rng.randrange(len(PROVIDERS))]
    provider = ProviderRef(npi=npi, tin="587654321", name=name)
    bill_id = uuid.uuid5(NAMESPACE, f"bill-{n}")
    case_id = uuid.uuid5(NAMESPACE, f"case-{n}")
    received = now - timedelta(days=rng.uniform(0.5, 42))
    billed = _share(Decimal(1), min(max(rng.lognormvariate(6.6, 0.8), 80.0), 30_000.0))
    code = rng.choice(["99213", "99214", "97110", "97140", "29881", "73030", "71046"])
    events: list[Any] = [
        BillReceivedV1(
            bill_id=bill_id,
            client_id=client,
            partner_claim_id=f"DEMO-H{n:04d}",
            claim_type=ClaimType.professional,
            provider=provider,
            facility=FacilityRef(state=state, zip="00000"),
            total_charge=billed,
            lines=[
                BillLineV1(
                    line_number=1,
                    procedure_code=code,
                    units=Decimal(1),
                    charge=billed,
                    service_date=(received - timedelta(days=12)).date(),
                )
            ],
            received_at=received,
            line_of_business=lob,
        )
    ]
    priced_at = received + timedelta(seconds=rng.uniform(3, 240))
    if priced_at > now:
        return events
    method = rng.choices(list(PricingMethod), [35, 15, 5, 45])[0]
    allowed = _share(billed, rng.uniform(0.4, 0.85))
    findings = []
    lines = [
        PricedLineV2(
            line_number=1, code=code, billed=billed, method_amount=allowed, allowed=allowed, basis="demo"
        )
    ]
    if rng.random() < 0.35:
        rule, found_code, modifiers = rng.choice(FINDINGS)
        amount = _share(Decimal(1), rng.uniform(40, 600))
        lines.append(
            PricedLineV2(
                line_number=2,
                code=found_code,
                modifiers=modifiers,
                billed=amount,
                method_amount=None,
                allowed=None,
                basis="demo",
            )
        )
        findings.append(FindingV2(rule=rule, line_number=2, amount_at_stake=amount, detail="demo"))
    events.append(
        BillPricedV2(
            bill_id=bill_id,
            pricing_id=uuid.uuid5(NAMESPACE, f"pricing-{n}"),
            revision=1,
            trigger="bill received",
            client_id=client,
            provider=provider,
            method=method,
            jurisdiction=state,
            total_billed=billed,
            total_allowed=allowed,
            unpriced_billed=Decimal("0.00"),
            lines=lines,
            decision=[],
            findings=findings,
            statement_sha256="",
            priced_at=priced_at,
        )
    )
    opened = priced_at + timedelta(seconds=2)
    common = {"case_id": case_id, "bill_id": bill_id, "client_id": client}
    if method is not PricingMethod.usual_and_customary:
        events.append(
            CaseOpenedV2(
                **common,
                provider=provider,
                route=CaseRoute.repriced,
                route_reason="demo",
                method=method,
                billed=billed,
                target=allowed,
                findings_at_stake=Decimal("0.00"),
                opening_offer=None,
                pricing_revision=1,
                statement_sha256="",
                opened_at=opened,
            )
        )
        events.append(
            CaseClosedV2(
                **common,
                outcome=CaseOutcome.repriced,
                reason="demo",
                method=method,
                agreed_amount=allowed,
                closed_at=opened + timedelta(seconds=1),
            )
        )
        return events
    route = CaseRoute.audit if findings and rng.random() < 0.4 else CaseRoute.negotiate
    events.append(
        CaseOpenedV2(
            **common,
            provider=provider,
            route=route,
            route_reason="demo",
            method=method,
            billed=billed,
            target=allowed,
            findings_at_stake=sum((f.amount_at_stake for f in findings), Decimal("0.00")),
            opening_offer=allowed,
            pricing_revision=1,
            statement_sha256="",
            opened_at=opened,
        )
    )
    quick = rng.random() < 0.4
    qp = QuickPayTerms(discount_percent=Decimal(5), pay_within_days=10, amount=_share(allowed, 0.95))
    first_offer = uuid.uuid5(NAMESPACE, f"offer-{n}-1")
    events.append(
        OfferMadeV2(
            **common,
            offer_id=first_offer,
            seq=1,
            party=Party.payer,
            amount=allowed,
            billed=billed,
            basis="demo",
            statement_sha256=None,
            quick_pay=qp if quick else None,
            expires_at=None,
            made_by="parley",
            automatic=True,
            made_at=opened,
        )
    )
    fate = rng.random()
    agreed_at = opened + timedelta(days=rng.uniform(0.5, 14))
    if route is CaseRoute.audit and fate < 0.5:
        closed = opened + timedelta(days=rng.uniform(2, 10))
        if closed < now:
            events.append(
                CaseClosedV2(
                    **common,
                    outcome=CaseOutcome.disputed,
                    reason="demo",
                    agreed_amount=None,
                    closed_at=closed,
                )
            )
        return events
    if fate < 0.78 and agreed_at < now:
        accepted_first = rng.random() < 0.4
        amount = allowed if accepted_first else min(_share(allowed, rng.uniform(1.05, 1.3)), billed)
        offer_id = first_offer
        if not accepted_first:
            offer_id = uuid.uuid5(NAMESPACE, f"offer-{n}-2")
            events.append(
                OfferMadeV2(
                    **common,
                    offer_id=offer_id,
                    seq=2,
                    party=Party.provider,
                    amount=amount,
                    billed=billed,
                    basis="demo",
                    statement_sha256=None,
                    expires_at=None,
                    made_by="provider",
                    made_at=agreed_at - timedelta(hours=6),
                )
            )
            if rng.random() < 0.25:
                approval = uuid.uuid5(NAMESPACE, f"approval-{n}")
                asked = agreed_at - timedelta(hours=4)
                events.append(
                    ApprovalRequestedV1(
                        **common,
                        approval_id=approval,
                        action="accept",
                        amount=amount,
                        limit=allowed,
                        rule="demo authority",
                        reason="demo",
                        requested_by="demo-negotiator",
                        requested_at=asked,
                    )
                )
                granted = rng.random() < 0.8
                events.append(
                    ApprovalDecidedV1(
                        **common,
                        approval_id=approval,
                        approved=granted,
                        reason="demo",
                        decided_by="demo-supervisor",
                        decided_at=asked + timedelta(hours=2),
                    )
                )
                if not granted:
                    return events
        events.append(
            CaseAgreedV2(
                **common,
                partner_claim_id=f"DEMO-H{n:04d}",
                provider=provider,
                patient=None,
                service_from=None,
                service_to=None,
                jurisdiction=state,
                line_of_business=lob,
                method=method,
                billed=billed,
                target=allowed,
                agreed_amount=amount,
                offer_id=offer_id,
                terms=PaymentTerms(
                    pay_within_days=30, quick_pay=qp if quick and rng.random() < 0.6 else None
                ),
                statement_sha256=None,
                provider_signer=None,
                payer_signer=None,
                provider_confirmed_by="provider",
                payer_confirmed_by="demo-negotiator",
                first_offer_accepted=accepted_first,
                offers=1 if accepted_first else 2,
                agreed_at=agreed_at,
            )
        )
        executed = agreed_at + timedelta(days=rng.uniform(0.2, 5))
        if executed < now and rng.random() < 0.93:
            events.append(
                AgreementExecutedV1(
                    agreement_id=uuid.uuid5(NAMESPACE, f"agreement-{n}"),
                    case_id=case_id,
                    bill_id=bill_id,
                    client_id=client,
                    agreed_amount=amount,
                    document_sha256="",
                    executed_sha256="",
                    provider_signer="demo",
                    countersigner="demo",
                    executed_at=executed,
                )
            )
            events.append(
                CaseClosedV2(
                    **common,
                    outcome=CaseOutcome.settled,
                    reason="demo",
                    method=method,
                    agreed_amount=amount,
                    closed_at=executed + timedelta(seconds=1),
                )
            )
    elif fate > 0.93:
        closed = opened + timedelta(days=rng.uniform(3, 20))
        if closed < now:
            outcome = rng.choice([CaseOutcome.escalated, CaseOutcome.closed_unresolved])
            events.append(
                CaseClosedV2(**common, outcome=outcome, reason="demo", agreed_amount=None, closed_at=closed)
            )
    return events


async def load_history(
    session: AsyncSession, settings: ReportingSettings, *, bills: int = 240, now: datetime | None = None
) -> int:
    """Apply the demo history through reporting's handlers (a no-op when it is already loaded); returns
    the bills added."""
    if await session.scalar(select(exists().where(BillFact.demo))):
        return 0
    now = now or datetime.now(UTC)
    rng = random.Random(20261130)
    handlers = build_handlers(settings)
    tx = Tx(session, Outbox(bus, source="/parley/reporting/demo"))
    ids = []
    for n in range(bills):
        events = bill_events(n, rng, now)
        ids.append(events[0].bill_id)
        for payload in events:
            envelope = Envelope.wrap(payload, source="/parley/reporting/demo", subject=str(payload.bill_id))
            found = handlers.find(envelope)
            assert found is not None, envelope.type
            await found[1](tx, payload, envelope)
    await session.execute(update(BillFact).where(BillFact.bill_id.in_(ids)).values(demo=True))
    start = (now - timedelta(days=49)).date()
    for client, terms in (
        ("acme-employers", FeeTerms(FeeKind.contingency, start, percent=Decimal(25), cap=Decimal(1000))),
        (
            "harbor-comp",
            FeeTerms(FeeKind.hybrid, start, flat=Decimal(25), percent=Decimal(10), cap=Decimal(750)),
        ),
    ):
        if not await session.scalar(select(exists().where(FeeTermsRow.client_id == client))):
            await add_fee_terms(
                session, client, terms, note="demo terms", created_by="demo", zone=settings.zone
            )
    return len(ids)


def last_week_start(now: datetime, settings: ReportingSettings) -> date:
    today = now.astimezone(settings.zone).date()
    return today - timedelta(days=today.weekday() + 7)
