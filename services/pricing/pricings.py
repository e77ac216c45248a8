"""Pricing a bill: decide, store the revision with its statement, announce it, record observations.

Runs inside the caller's transaction (an event handler or an API request), so the pricing, its
``bill.priced`` outbox row and the observation changes commit together or not at all. The bill's own
observations are taken out while it is priced and put back after, so a bill is never its own evidence.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from services.pricing.anesthesia import comparison_units, is_anesthesia
from services.pricing.config import PricingSettings
from services.pricing.decision import Decision, decide
from services.pricing.models import Pricing
from services.pricing.observations import ObservationIn, deposit, withdraw
from services.pricing.quotes import total_allowed, unpriced_billed
from services.pricing.reference import ReferenceData
from services.pricing.reference_cache import CACHE
from services.pricing.repository import KnownBill, PricingRepository
from services.pricing.service_codes import cents, service_code, stay_code
from services.pricing.statement import render, sha256
from services.pricing.usual_customary import is_stay_review
from shared.bus.outbox import Tx
from shared.contracts import (
    BillPricedV2,
    BillReceivedV1,
    ClaimType,
    DecisionStepV2,
    FindingV2,
    PricedLineV2,
)

BILL_ORIGIN = "bill"
PAYMENT_ORIGIN = "payment"
# Kept out of pricing's copy of the bill: pricing never needs them (minimum necessary).
NOT_KEPT = {"diagnoses", "patient"}
# The JSONB columns of a pricing, serialised by pydantic as ``model_dump(mode="json")`` would give them.
_STEPS = TypeAdapter(list[DecisionStepV2])
_FINDINGS = TypeAdapter(list[FindingV2])


def bill_observations(
    bill: BillReceivedV1,
    allowed_total: Decimal | None = None,
    units: Mapping[int, Decimal | None] | None = None,
) -> list[ObservationIn]:
    """The bill's lines as charge observations, or with ``allowed_total`` the accepted payment spread
    over the lines in proportion to their charges (as allowed observations).

    An inpatient stay with an MS-DRG is also one observation of the whole stay (``DRG885``). ``units``
    overrides the units a line's amount is spread over (anesthesia: base + time units; None: the line
    is not comparable and is left out), so a minute is never taken for a unit.
    """
    setting = "professional" if bill.claim_type is ClaimType.professional else "facility"
    billed = sum((line.charge for line in bill.lines), Decimal(0))
    kind = "charge" if allowed_total is None else "allowed"
    state, zip3, npi = bill.facility.state, bill.facility.zip[:3], bill.facility.npi or bill.provider.npi
    out = []
    if is_stay_review(bill) and billed > 0:
        amount = billed if allowed_total is None else allowed_total
        if amount > 0:
            out.append(
                ObservationIn(
                    kind=kind,
                    setting="facility",
                    code=stay_code(bill.drg or ""),
                    amount=cents(amount),
                    state=state,
                    zip3=zip3,
                    facility_npi=npi,
                    observed_on=bill.discharge_date or max(line.service_date for line in bill.lines),
                )
            )
    for line in bill.lines:
        code = service_code(line.procedure_code, line.revenue_code, line.modifiers)
        share = (
            line.charge
            if allowed_total is None
            else (allowed_total * line.charge / billed if billed else None)
        )
        compared = units.get(line.line_number, line.units) if units is not None else line.units
        if code is None or share is None or share <= 0 or not compared:
            continue
        out.append(
            ObservationIn(
                kind=kind,
                setting=setting,
                code=code,
                amount=cents(share / compared),
                state=state,
                zip3=zip3,
                facility_npi=npi,
                observed_on=line.service_date,
            )
        )
    return out


async def remember(tx: Tx, bill: BillReceivedV1) -> KnownBill | None:
    """Keep the bill for re-pricing, and what pricing knew of it; None when a later revision of it is
    already known (then nothing changes). One statement (``PricingRepository.receive``)."""
    # ``model_dump(mode="json")``'s document, serialised by pydantic in one call.
    payload = bill.model_dump_json(exclude=NOT_KEPT)
    return await PricingRepository(tx.session).receive(
        bill.bill_id, bill.revision, bill.client_id, payload, bill.received_at
    )


async def price(
    tx: Tx, bill: BillReceivedV1, settings: PricingSettings, known: KnownBill, *, trigger: str
) -> BillPricedV2:
    """Price a bill ``remember`` (or ``PricingRepository.stored``) answered ``known`` for, store the
    revision with its lines, announce it and put the bill's observations back; returns the announced
    ``bill.priced``."""
    session, bill_id = tx.session, bill.bill_id
    # A bill never priced has no observations yet; payment ones exist only with an accepted payment.
    if known.priced_before:
        await withdraw(session, BILL_ORIGIN, str(bill_id))
    if known.agreed_amount is not None:
        await withdraw(session, PAYMENT_ORIGIN, str(bill_id))
    reference = ReferenceData(session, CACHE.at(known.reference_token))
    decision = await decide(session, bill, settings, reference)
    event = _event(bill, decision, uuid.uuid4(), known.last_revision + 1, trigger)
    statement = render(event, bill)
    event = event.model_copy(update={"statement_sha256": sha256(statement)})
    await PricingRepository(session).add(*_row(event, decision, statement, bill))
    await tx.emit(event, subject=str(bill_id))
    units = decision.comparison_units
    await deposit(session, BILL_ORIGIN, bill_id, bill_observations(bill, units=units))
    if known.agreed_amount is not None:
        observed = bill_observations(bill, known.agreed_amount, units)
        await deposit(session, PAYMENT_ORIGIN, bill_id, observed)
    return event


def _event(
    bill: BillReceivedV1, decision: Decision, pricing_id: uuid.UUID, revision: int, trigger: str
) -> BillPricedV2:
    quotes = decision.quotes
    by_number = {line.line_number: line for line in bill.lines}
    return BillPricedV2(
        bill_id=bill.bill_id,
        bill_revision=bill.revision,
        pricing_id=pricing_id,
        revision=revision,
        trigger=trigger,
        client_id=bill.client_id,
        provider=bill.provider,
        method=decision.method,
        jurisdiction=bill.pricing_jurisdiction,
        total_billed=sum((q.billed for q in quotes), Decimal(0)),
        total_allowed=total_allowed(quotes),
        unpriced_billed=unpriced_billed(quotes),
        lines=[
            PricedLineV2(
                line_number=q.line_number,
                code=q.code,
                modifiers=list(q.modifiers),
                units=by_number[q.line_number].units,
                billed=q.billed,
                method_amount=q.method_amount,
                allowed=q.allowed,
                basis=q.basis,
                reason=q.reason,
            )
            for q in quotes
        ],
        decision=decision.steps,
        fee_schedule_id=decision.fee_schedule_id,
        contract_id=decision.contract_id,
        usual_and_customary=decision.uc.summary if decision.uc else None,
        findings=decision.findings,
        statement_sha256="",
        priced_at=datetime.now(UTC),
    )


def _row(
    event: BillPricedV2, decision: Decision, statement: str, bill: BillReceivedV1
) -> tuple[tuple[Any, ...], str]:
    """The pricings row (``PricingRepository.add``'s column order) and its lines as JSON."""
    uc = event.usual_and_customary
    pricing = (
        event.pricing_id,
        event.bill_id,
        event.revision,
        event.bill_revision,
        event.trigger,
        event.client_id,
        event.method.value,
        event.jurisdiction,
        decision.locality.name if decision.locality else None,
        decision.multiplier,
        event.fee_schedule_id,
        event.contract_id,
        event.total_billed,
        event.total_allowed,
        event.unpriced_billed,
        _STEPS.dump_json(event.decision).decode(),
        None if uc is None else uc.model_dump_json(),
        _FINDINGS.dump_json(event.findings).decode(),
        statement,
        event.statement_sha256,
        event.priced_at,
    )
    dates = {line.line_number: line.service_date for line in bill.lines}
    lines = [
        {
            "line_number": line.line_number,
            "code": line.code,
            "modifiers": list(line.modifiers),
            "units": str(line.units or Decimal(1)),
            "service_date": dates[line.line_number].isoformat(),
            "billed": str(line.billed),
            "method_amount": None if line.method_amount is None else str(line.method_amount),
            "allowed": None if line.allowed is None else str(line.allowed),
            "basis": line.basis,
            "reason": line.reason,
        }
        for line in event.lines
    ]
    return pricing, json.dumps(lines)


async def reprice(tx: Tx, bill_id: uuid.UUID, settings: PricingSettings, reason: str) -> Pricing | None:
    """Price a known bill again (new reference data, a fixed contract…); None if pricing never saw it.

    The answer is the revision as stored, read back (an operator's path, not the consumer's)."""
    found = await PricingRepository(tx.session).stored(bill_id)
    if found is None:
        return None
    payload, known = found
    bill = BillReceivedV1.model_validate(payload)
    await price(tx, bill, settings, known, trigger=f"re-priced: {reason}")
    return await PricingRepository(tx.session).latest(bill_id)


async def payment_accepted(tx: Tx, bill_id: uuid.UUID, agreed: Decimal) -> bool:
    """Record an accepted payment as allowed observations of the bill's lines; False for an unknown bill."""
    stored = await PricingRepository(tx.session).bill(bill_id, for_update=True)
    if stored is None:
        return False
    stored.agreed_amount = agreed
    bill = BillReceivedV1.model_validate(stored.payload)
    await withdraw(tx.session, PAYMENT_ORIGIN, str(bill_id))
    codes = [line.procedure_code or "" for line in bill.lines if is_anesthesia(line.procedure_code)]
    reference = await ReferenceData.open(tx.session) if codes else None
    units = comparison_units(bill.lines, await reference.base_units(codes)) if reference else {}
    await deposit(tx.session, PAYMENT_ORIGIN, bill_id, bill_observations(bill, agreed, units))
    return True


async def voided(tx: Tx, bill_id: uuid.UUID) -> None:
    """A voided claim's charges and payments are no longer evidence of anything."""
    stored = await PricingRepository(tx.session).bill(bill_id, for_update=True)
    if stored is not None:
        stored.voided = True
    await withdraw(tx.session, BILL_ORIGIN, str(bill_id))
    await withdraw(tx.session, PAYMENT_ORIGIN, str(bill_id))
