"""The events intake emits for a bill (contracts in shared/contracts): ``bill.received`` for an original
or a replacement, built from the claim, and ``bill.voided``."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.intake.models import Bill
from services.intake.schemas import BillIn
from shared.contracts import (
    BillLineV1,
    BillReceivedV1,
    BillVoidedV1,
    ClaimFrequency,
    FacilityRef,
    PatientRef,
    ProviderRef,
)


def received_event(
    bill_id: uuid.UUID,
    partner_id: str,
    claim: BillIn,
    *,
    revision: int,
    received_at: datetime,
    frequency: ClaimFrequency = ClaimFrequency.original,
) -> BillReceivedV1:
    """``bill.received`` for a claim stored as ``revision`` of the bill (1: the original). A line without
    its own place of service carries the claim's."""
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


def voided_event(bill: Bill, *, reason: str, voided_at: datetime) -> BillVoidedV1:
    """``bill.voided`` for a bill its partner voided (claim frequency 8), with the reason in words."""
    return BillVoidedV1(
        bill_id=bill.id,
        client_id=bill.client_id,
        partner_claim_id=bill.partner_claim_id,
        reason=reason,
        voided_at=voided_at,
    )
