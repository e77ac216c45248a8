"""Receiving a bill: store it and announce it, in one transaction."""

from __future__ import annotations

from services.intake.models import Bill
from services.intake.repository import BillRepository
from services.intake.schemas import BillIn, BillOut, FacilityOut, LineOut, ProviderOut, StatusChange
from services.intake.status import BillStatus
from shared.bus.outbox import Tx
from shared.contracts import BillLineV1, BillReceivedV1, ClaimType, FacilityRef, ProviderRef


async def receive_bill(tx: Tx, body: BillIn) -> Bill:
    bill = await BillRepository(tx.session).add(body)
    await tx.emit(received_event(bill), subject=str(bill.id))
    return bill


def received_event(bill: Bill) -> BillReceivedV1:
    return BillReceivedV1(
        bill_id=bill.id,
        client_id=bill.client_id,
        partner_claim_id=bill.partner_claim_id,
        claim_type=ClaimType(bill.claim_type),
        provider=ProviderRef(npi=bill.provider_npi, tin=bill.provider_tin, name=bill.provider_name),
        facility=FacilityRef(
            state=bill.facility_state, zip=bill.facility_zip, npi=bill.facility_npi, name=bill.facility_name
        ),
        total_charge=bill.total_charge,
        lines=[
            BillLineV1.model_validate(line, from_attributes=True).model_copy(
                update={"place_of_service": line.place_of_service or bill.place_of_service}
            )
            for line in bill.lines
        ],
        received_at=bill.received_at,
    )


def bill_out(bill: Bill) -> BillOut:
    return BillOut(
        id=bill.id,
        partner_claim_id=bill.partner_claim_id,
        client_id=bill.client_id,
        claim_type=ClaimType(bill.claim_type),
        provider=ProviderOut(npi=bill.provider_npi, tin=bill.provider_tin, name=bill.provider_name),
        facility=FacilityOut(
            state=bill.facility_state, zip=bill.facility_zip, npi=bill.facility_npi, name=bill.facility_name
        ),
        place_of_service=bill.place_of_service,
        total_charge=bill.total_charge,
        status=BillStatus(bill.status),
        status_detail=bill.status_detail,
        priced_amount=bill.priced_amount,
        agreed_amount=bill.agreed_amount,
        received_at=bill.received_at,
        updated_at=bill.updated_at,
        lines=[
            LineOut(
                line_number=line.line_number,
                procedure_code=line.procedure_code,
                revenue_code=line.revenue_code,
                modifiers=list(line.modifiers),
                units=line.units,
                charge=line.charge,
                service_date=line.service_date,
                place_of_service=line.place_of_service,
            )
            for line in bill.lines
        ],
        status_history=[
            StatusChange(status=BillStatus(h.status), detail=h.detail, at=h.at) for h in bill.history
        ],
    )
