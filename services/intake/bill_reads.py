"""Reading bills back, as partners and staff read them: the whole bill from its stored rows (with its
warnings in words), and a page of summaries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.intake.models import Bill
from services.intake.repository import BillFilter, BillRepository, decode_cursor, encode_cursor
from services.intake.schemas import (
    AddressOut,
    BillOut,
    BillPage,
    BillSummary,
    FacilityOut,
    LineOut,
    PatientOut,
    ProviderOut,
    RevisionOut,
    StatusChange,
)
from services.intake.status import BillStatus
from shared.codes import npi_check_digit_ok
from shared.contracts import ClaimFrequency


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


async def bill_page(
    repository: BillRepository,
    partner_id: str | None,
    clients: Iterable[str] | None,
    where: BillFilter,
    *,
    limit: int,
    cursor: str | None,
) -> BillPage:
    """One page of bill summaries, newest first: a partner's (``partner_id`` None: every partner's, for
    staff), of ``clients`` (None: all), after ``cursor``; ``next_cursor`` is None on the last page."""
    bills = await repository.search(
        partner_id, clients, where, limit=limit + 1, after=decode_cursor(cursor) if cursor else None
    )
    page = bills[:limit]
    return BillPage(
        items=[BillSummary.model_validate(b) for b in page],
        next_cursor=encode_cursor(page[-1].received_at, page[-1].id) if len(bills) > limit else None,
    )
