"""Receiving claims: originals create bills, replacements replace them, voids void them.

One function serves the single JSON endpoint, the JSON batch and X12 files. Within a request every claim
stands alone: a claim with a problem is answered with its problems and writes nothing, while the good
claims beside it are stored. All writes of a request share its transaction, so a crash stores all of
them or none, and each state change commits together with its ``bill.received``/``bill.voided`` event
and any webhook delivery it causes.

Several claims are written with one statement per table (not one per claim): that is what keeps a
thousand-claim X12 file quick.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from services.intake.claims import problems
from services.intake.models import Bill
from services.intake.repository import BillRepository, ClaimKey
from services.intake.schemas import (
    AddressIn,
    AddressOut,
    BillIn,
    BillOut,
    BillSummary,
    FacilityOut,
    LineOut,
    Outcome,
    PatientOut,
    ProviderOut,
    RevisionOut,
    StatusChange,
)
from services.intake.status import OPEN_TO_CHANGE, BillStatus
from services.intake.webhooks import EVENT_TYPE, StatusChanged, body_of, enqueue
from shared.auth import Identity
from shared.bus.outbox import Tx
from shared.codes import NPI_CHECK_DIGIT, npi_check_digit_ok
from shared.contracts import (
    BillLineV1,
    BillReceivedV1,
    BillVoidedV1,
    ClaimFrequency,
    FacilityRef,
    PatientRef,
    ProviderRef,
)

Source = Literal["json", "x12"]


@dataclass(frozen=True)
class Submission:
    """One claim of a request: validated, or the shape errors that stopped it."""

    index: int
    claim: BillIn | None
    errors: list[dict[str, str]] = field(default_factory=list)
    claim_id: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)  # kept, but worth checking


@dataclass
class Received:
    index: int
    partner_claim_id: str | None
    outcome: Outcome
    status: int
    bill: BillSummary | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    detail: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _rejected(sub: Submission, status: int, errors: list[dict[str, str]], detail: str) -> Received:
    claim_id = sub.claim.partner_claim_id if sub.claim else sub.claim_id
    return Received(sub.index, claim_id, "rejected", status, None, errors, detail, sub.warnings)


def _key(claim: BillIn) -> ClaimKey:
    return (claim.client_id, claim.partner_claim_id)


async def receive(
    tx: Tx, principal: Identity, submissions: Sequence[Submission], *, source: Source
) -> list[Received]:
    results: dict[int, Received] = {}
    originals: list[tuple[Submission, BillIn]] = []
    changes: list[tuple[Submission, BillIn]] = []
    seen: set[ClaimKey] = set()
    for sub in submissions:
        claim = sub.claim
        if claim is None:
            results[sub.index] = _rejected(sub, 422, sub.errors, "the bill is invalid")
            continue
        if not principal.may_see(claim.client_id):
            scope = [{"field": "client_id", "message": "not one of this key's clients", "type": "scope"}]
            results[sub.index] = _rejected(sub, 403, scope, "this API key is not scoped to that client")
            continue
        found = [p.as_dict() for p in problems(claim)]
        if _key(claim) in seen:
            found.append(
                {
                    "field": "partner_claim_id",
                    "message": "the same claim appears earlier in this request; send one at a time",
                    "type": "duplicate_in_request",
                }
            )
        if found:
            results[sub.index] = _rejected(sub, 422, found, "the bill is invalid")
            continue
        seen.add(_key(claim))
        (originals if claim.frequency is ClaimFrequency.original else changes).append((sub, claim))

    now = datetime.now(UTC)
    repository = BillRepository(tx.session)
    notices: list[StatusChanged] = []
    locked = await repository.lock_claims(principal.subject, [_key(c) for _, c in changes])
    for sub, claim in changes:
        results[sub.index] = await _change(tx, repository, locked.get(_key(claim)), sub, claim, source, now)
        if results[sub.index].bill is not None:
            notices.append(StatusChanged(results[sub.index].bill, now))  # type: ignore[arg-type]
    for received in await _create(tx, repository, principal, originals, source, now):
        results[received.index] = received  # their webhooks were queued with them
    await enqueue(tx.session, principal.subject, notices)
    return [results[i] for i in sorted(results)]


async def _create(
    tx: Tx,
    repository: BillRepository,
    principal: Identity,
    originals: list[tuple[Submission, BillIn]],
    source: Source,
    now: datetime,
) -> list[Received]:
    rows = {
        sub.index: {
            "id": uuid.uuid4(),
            "partner_id": principal.subject,
            **claim_columns(claim),
            "warnings": kept_warnings(sub.warnings),
            "revision": 1,
            "frequency": ClaimFrequency.original.value,
            "source": source,
            "status": BillStatus.received.value,
            "status_detail": None,
            "priced_amount": None,
            "pricing_method": None,
            "agreed_amount": None,
            "received_at": now,
            "updated_at": now,
            "voided_at": None,
        }
        for sub, claim in originals
    }
    lines, patients, revisions, history, webhooks = [], [], [], [], []
    summaries = {}
    for sub, claim in originals:
        row = rows[sub.index]
        lines += line_rows(row["id"], claim)
        patients += patient_rows(row["id"], claim)
        revisions.append(revision_row(row["id"], 1, claim, source, now))
        history.append({"bill_id": row["id"], "status": BillStatus.received.value, "detail": None, "at": now})
        summaries[sub.index] = BillSummary.model_validate(row)
        event_id = uuid.uuid4()
        body = body_of(event_id, StatusChanged(summaries[sub.index], now))
        webhooks.append({"id": event_id, "bill_id": row["id"], "event_type": EVENT_TYPE, "body": body})
    inserted = await repository.insert_new(
        bills=list(rows.values()),
        lines=lines,
        patients=patients,
        revisions=revisions,
        history=history,
        webhooks=webhooks,
    )
    stored = [(sub, claim, rows[sub.index]) for sub, claim in originals if rows[sub.index]["id"] in inserted]
    await tx.emit_many(
        [
            (
                received_event(row["id"], principal.subject, claim, revision=1, received_at=now),
                str(row["id"]),
            )
            for _, claim, row in stored
        ]
    )
    results = [
        Received(
            sub.index, claim.partner_claim_id, "created", 201, summaries[sub.index], warnings=sub.warnings
        )
        for sub, claim, _ in stored
    ]
    lost = [(sub, claim) for sub, claim in originals if rows[sub.index]["id"] not in inserted]
    existing = await repository.ids_of(principal.subject, [_key(c) for _, c in lost])
    for sub, claim in lost:
        where = existing.get(_key(claim))
        detail = (
            f"claim {claim.partner_claim_id!r} of client {claim.client_id!r} was already received"
            + (f" as bill {where}" if where else "")
            + "; to change it, send a replacement (frequency replacement / CLM05-3 = 7)"
        )
        error = {"field": "partner_claim_id", "message": "already received", "type": "duplicate"}
        results.append(_rejected(sub, 409, [error], detail))
    return results


async def _change(
    tx: Tx,
    repository: BillRepository,
    bill: Bill | None,
    sub: Submission,
    claim: BillIn,
    source: Source,
    now: datetime,
) -> Received:
    verb = "replace" if claim.frequency is ClaimFrequency.replacement else "void"
    if bill is None:
        return _rejected(
            sub,
            422,
            [
                {
                    "field": "frequency",
                    "message": f"there is no earlier claim with this number and client to {verb}",
                    "type": "not_found",
                }
            ],
            f"nothing to {verb}: send the claim as an original first",
        )
    if BillStatus(bill.status) not in OPEN_TO_CHANGE:
        why = (
            "was voided"
            if bill.status == BillStatus.voided.value
            else f"is {bill.status}: provider and payer already agreed on it"
        )
        error = {"field": "frequency", "message": f"the bill {why}", "type": "not_open"}
        return _rejected(sub, 409, [error], f"bill {bill.id} {why}; it can no longer be {verb}d")
    current = {c.key: getattr(bill, c.key) for c in Bill.__table__.columns}
    if claim.frequency is ClaimFrequency.void:
        detail = f"voided by the partner (claim frequency 8); revision {bill.revision} is cancelled"
        await repository.mark_voided(bill, detail, now)
        await repository.insert_details(
            lines=[],
            patients=[],
            revisions=[],
            history=[{"bill_id": bill.id, "status": BillStatus.voided.value, "detail": detail, "at": now}],
        )
        await tx.emit(
            BillVoidedV1(
                bill_id=bill.id,
                client_id=bill.client_id,
                partner_claim_id=bill.partner_claim_id,
                reason=detail,
                voided_at=now,
            ),
            subject=str(bill.id),
        )
        voided = {
            **current,
            "status": BillStatus.voided.value,
            "status_detail": detail,
            "frequency": "void",
            "voided_at": now,
            "updated_at": now,
        }
        return Received(sub.index, claim.partner_claim_id, "voided", 200, BillSummary.model_validate(voided))
    revision = bill.revision + 1
    values = {
        **claim_columns(claim),
        "warnings": kept_warnings(sub.warnings),
        "revision": revision,
        "frequency": ClaimFrequency.replacement.value,
        "source": source,
        "updated_at": now,
    }
    await repository.replace(bill, values)
    detail = f"revision {revision} (replacement) received; it is priced again"
    await repository.insert_details(
        lines=line_rows(bill.id, claim),
        patients=patient_rows(bill.id, claim),
        revisions=[revision_row(bill.id, revision, claim, source, now)],
        history=[{"bill_id": bill.id, "status": BillStatus.received.value, "detail": detail, "at": now}],
    )
    await tx.emit(
        received_event(
            bill.id,
            bill.partner_id,
            claim,
            revision=revision,
            received_at=now,
            frequency=ClaimFrequency.replacement,
        ),
        subject=str(bill.id),
    )
    summary = BillSummary.model_validate({**current, **values})
    return Received(sub.index, claim.partner_claim_id, "replaced", 200, summary, warnings=sub.warnings)


# --- rows and events -------------------------------------------------------------------------------


def _address(address: AddressIn | None) -> dict[str, Any] | None:
    return address.model_dump() if address is not None else None


def claim_columns(claim: BillIn) -> dict[str, Any]:
    """The bill columns that come from the claim itself (the rest is Parley's bookkeeping)."""
    return {
        "client_id": claim.client_id,
        "partner_claim_id": claim.partner_claim_id,
        "claim_type": claim.claim_type.value,
        "line_of_business": claim.line_of_business.value if claim.line_of_business else None,
        "jurisdiction": claim.jurisdiction,
        "provider_npi": claim.provider.npi,
        "provider_tin": claim.provider.tin,
        "provider_name": claim.provider.name,
        "provider_taxonomy": claim.provider.taxonomy,
        "provider_address": _address(claim.provider.address),
        "facility_state": claim.facility.state,
        "facility_zip": claim.facility.zip,
        "facility_npi": claim.facility.npi,
        "facility_name": claim.facility.name,
        "facility_address": _address(claim.facility.address),
        "type_of_bill": claim.type_of_bill,
        "admission_date": claim.admission_date,
        "discharge_date": claim.discharge_date,
        "place_of_service": claim.place_of_service,
        "diagnosis_code_set": claim.diagnosis_code_set,
        "diagnoses": list(claim.diagnoses),
        "drg": claim.drg,
        "discharge_status": claim.discharge_status,
        "payer_claim_control_number": claim.payer_claim_control_number,
        "total_charge": claim.total_charge,
    }


def kept_warnings(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The warnings stored with a revision. A wrong NPI check digit is not stored: the read of the bill
    works it out from the NPIs themselves, also for bills received before warnings were kept."""
    return [w for w in warnings if w.get("type") != NPI_CHECK_DIGIT]


def line_rows(bill_id: uuid.UUID, claim: BillIn) -> list[dict[str, Any]]:
    return [
        {
            "bill_id": bill_id,
            "line_number": line.line_number or position,
            "procedure_code": line.procedure_code,
            "revenue_code": line.revenue_code,
            "modifiers": list(line.modifiers),
            "units": line.units,
            "unit_of_measure": line.unit_of_measure.value,
            "charge": line.charge,
            "service_date": line.service_date,
            "place_of_service": line.place_of_service,
            "ndc": line.ndc,
            "diagnosis_pointers": list(line.diagnosis_pointers),
        }
        for position, line in enumerate(claim.lines, start=1)
    ]


def patient_rows(bill_id: uuid.UUID, claim: BillIn) -> list[dict[str, Any]]:
    if claim.patient is None:
        return []
    return [{"bill_id": bill_id, **claim.patient.model_dump()}]


def revision_row(
    bill_id: uuid.UUID, revision: int, claim: BillIn, source: Source, now: datetime
) -> dict[str, Any]:
    return {
        "bill_id": bill_id,
        "revision": revision,
        "frequency": claim.frequency.value,
        "source": source,
        "total_charge": claim.total_charge,
        "line_count": len(claim.lines),
        "received_at": now,
        "replaced_lines": None,
    }


def received_event(
    bill_id: uuid.UUID,
    partner_id: str,
    claim: BillIn,
    *,
    revision: int,
    received_at: datetime,
    frequency: ClaimFrequency = ClaimFrequency.original,
) -> BillReceivedV1:
    icd9 = claim.diagnosis_code_set == "icd9"
    return BillReceivedV1(
        bill_id=bill_id,
        client_id=claim.client_id,
        partner_claim_id=claim.partner_claim_id,
        claim_type=claim.claim_type,
        provider=ProviderRef.model_validate(claim.provider.model_dump()),
        facility=FacilityRef.model_validate(claim.facility.model_dump()),
        total_charge=claim.total_charge,
        lines=[
            BillLineV1(
                line_number=line.line_number or position,
                procedure_code=line.procedure_code,
                revenue_code=line.revenue_code,
                modifiers=list(line.modifiers),
                units=line.units,
                unit_of_measure=line.unit_of_measure,
                charge=line.charge,
                service_date=line.service_date,
                place_of_service=line.place_of_service or claim.place_of_service,
                ndc=line.ndc,
            )
            for position, line in enumerate(claim.lines, start=1)
        ],
        received_at=received_at,
        revision=revision,
        frequency=frequency,
        partner_id=partner_id,
        line_of_business=claim.line_of_business,
        jurisdiction=claim.jurisdiction,
        type_of_bill=claim.type_of_bill,
        admission_date=claim.admission_date,
        discharge_date=claim.discharge_date,
        place_of_service=claim.place_of_service,
        diagnoses=[] if icd9 else list(claim.diagnoses),
        diagnoses_icd9=list(claim.diagnoses) if icd9 else [],
        drg=claim.drg,
        discharge_status=claim.discharge_status,
        # Minimum necessary, for the agreement's patient reference and the duplicate-payment check.
        patient=PatientRef.model_validate(claim.patient.model_dump()) if claim.patient else None,
    )


def _stored_address(value: dict[str, Any] | None) -> AddressOut | None:
    return AddressOut.model_validate(value) if value is not None else None


def bill_out(bill: Bill) -> BillOut:
    """The whole bill, for the audited read. Relationships must have been loaded."""
    patient = bill.patient
    return BillOut(
        **BillSummary.model_validate(bill, from_attributes=True).model_dump(),
        jurisdiction=bill.jurisdiction,
        provider=ProviderOut(
            npi=bill.provider_npi,
            tin=bill.provider_tin,
            name=bill.provider_name,
            taxonomy=bill.provider_taxonomy,
            address=_stored_address(bill.provider_address),
        ),
        facility=FacilityOut(
            state=bill.facility_state,
            zip=bill.facility_zip,
            npi=bill.facility_npi,
            name=bill.facility_name,
            address=_stored_address(bill.facility_address),
        ),
        patient=(
            PatientOut(
                first_name=patient.first_name,
                last_name=patient.last_name,
                birth_date=patient.birth_date,
                member_id=patient.member_id,
            )
            if patient is not None
            else None
        ),
        type_of_bill=bill.type_of_bill,
        admission_date=bill.admission_date,
        discharge_date=bill.discharge_date,
        place_of_service=bill.place_of_service,
        diagnosis_code_set=bill.diagnosis_code_set,
        diagnoses=list(bill.diagnoses),
        lines=[LineOut.model_validate(line) for line in bill.lines],
        status_history=[
            StatusChange(status=BillStatus(h.status), detail=h.detail, at=h.at) for h in bill.history
        ],
        revisions=[
            RevisionOut(
                revision=r.revision,
                frequency=ClaimFrequency(r.frequency),
                source=r.source,
                total_charge=r.total_charge,
                line_count=r.line_count,
                received_at=r.received_at,
                replaced_lines=r.replaced_lines,
            )
            for r in bill.revisions
        ],
        drg=bill.drg,
        discharge_status=bill.discharge_status,
        payer_claim_control_number=bill.payer_claim_control_number,
        warnings=warnings_of(bill),
    )


def warnings_of(bill: Bill) -> list[str]:
    """The bill's warnings in words: NPIs whose check digit fails, then what was noted on reading it."""
    npis = [
        f"{who} NPI {npi} fails its check digit (Luhn): kept as billed; verify the provider"
        for who, npi in (("provider", bill.provider_npi), ("facility", bill.facility_npi))
        if npi is not None and not npi_check_digit_ok(npi)
    ]
    noted = [
        f"X12 {w.get('element') or w['segment']} (segment {w['segment']} at position {w['position']}): "
        f"{w['message']}"
        if w.get("segment")
        else w["message"]
        for w in bill.warnings or []
    ]
    return npis + noted
