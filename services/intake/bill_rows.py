"""The rows a claim is stored as: the bill's columns, its lines, its patient, its revision.

Written with one statement per table for all the claims of a request (``BillRepository.insert_new``), or
for one bill's new revision (``BillRepository.replace`` and ``insert_details``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.intake.schemas import AddressIn, BillIn
from services.intake.submissions import Source
from shared.codes import NPI_CHECK_DIGIT


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
