"""A bill as Parley returns it: the summary that lists, receipts and webhooks carry, and the whole bill
(with patient data) that an audited read returns, to partners and staff alike.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.intake.status import BillStatus
from shared.contracts import ClaimFrequency, ClaimType, LineOfBusiness, UnitOfMeasure


class AddressOut(BaseModel):
    line1: str = Field(description="Street.")
    line2: str | None = Field(default=None, description="Second address line.")
    city: str = Field(description="City.")
    state: str = Field(description="Two-letter state code.")
    zip: str = Field(description="ZIP, 5 or 9 digits.")


class ProviderOut(BaseModel):
    npi: str = Field(description="Billing provider NPI.")
    tin: str = Field(description="Billing provider tax id, 9 digits.")
    name: str | None = Field(description="Billing provider name.")
    taxonomy: str | None = Field(default=None, description="Provider taxonomy code.")
    address: AddressOut | None = Field(default=None, description="Billing provider address.")


class FacilityOut(BaseModel):
    state: str = Field(description="State of the service facility.")
    zip: str = Field(description="ZIP of the service facility.")
    npi: str | None = Field(description="Service facility NPI.")
    name: str | None = Field(description="Service facility name.")
    address: AddressOut | None = Field(default=None, description="Service facility address.")


class PatientOut(BaseModel):
    first_name: str | None = Field(description="Patient first name.")
    last_name: str | None = Field(description="Patient last name.")
    birth_date: date | None = Field(description="Patient birth date.")
    member_id: str | None = Field(description="Subscriber's member id.")


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_number: int = Field(description="Line number (X12 LX01, or the position).")
    procedure_code: str | None = Field(description="CPT or HCPCS code.")
    revenue_code: str | None = Field(description="UB-04 revenue code (4 digits).")
    modifiers: list[str] = Field(description="Up to four procedure modifiers.")
    units: Decimal = Field(description="Units of service (minutes when unit_of_measure is minutes).")
    unit_of_measure: UnitOfMeasure = Field(description="units or minutes.")
    charge: Decimal = Field(description="Billed charge, dollars.")
    service_date: date = Field(description="Date of service.")
    place_of_service: str | None = Field(description="The line's own place of service, if given.")
    ndc: str | None = Field(default=None, description="National Drug Code, 11 digits.")
    diagnosis_pointers: list[int] = Field(default_factory=list, description="1-based positions in diagnoses.")


class StatusChange(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: BillStatus = Field(description="The status this change reached.")
    detail: str | None = Field(description="Why, in words.")
    at: datetime = Field(description="When it happened downstream (not when intake heard of it).")


class RevisionOut(BaseModel):
    revision: int = Field(description="1 for the original, then one more per replacement.")
    frequency: ClaimFrequency = Field(description="original or replacement.")
    source: Literal["json", "x12"] = Field(description="How this revision arrived.")
    total_charge: Decimal = Field(description="Total charge of this revision.")
    line_count: int = Field(description="Number of lines in this revision.")
    received_at: datetime = Field(description="When Parley received this revision.")
    replaced_lines: list[dict[str, Any]] | None = Field(
        description="The lines of this revision, kept once a later revision replaced them."
    )


class BillSummary(BaseModel):
    """A bill without its lines or patient data: what lists, receipts and webhooks carry."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Parley's bill id; stays the same across replacements.")
    partner_claim_id: str = Field(description="Your claim number.")
    client_id: str = Field(description="The client the bill is for.")
    claim_type: ClaimType = Field(description="professional or institutional.")
    frequency: ClaimFrequency = Field(description="Frequency of the latest revision received.")
    revision: int = Field(description="1 for the original; each replacement adds one.")
    line_of_business: LineOfBusiness | None = Field(description="Line of business, if known.")
    total_charge: Decimal = Field(description="Billed total of the latest revision, dollars.")
    status: BillStatus = Field(description="Where the bill is in the workflow; see status_history.")
    status_detail: str | None = Field(description="Why it is in this status, in words.")
    priced_amount: Decimal | None = Field(description="Allowed amount once priced.")
    pricing_method: str | None = Field(description="How it was priced, e.g. fee_schedule.")
    agreed_amount: Decimal | None = Field(description="Settlement amount once agreed with the provider.")
    received_at: datetime = Field(description="When Parley first received the bill.")
    updated_at: datetime = Field(description="When the bill last changed (a revision or a status).")
    voided_at: datetime | None = Field(description="When the partner voided it, if it did.")


class BillOut(BillSummary):
    """The whole bill. Reading it is written to the audit log (it carries patient data)."""

    jurisdiction: str | None = Field(
        description="Pricing jurisdiction if it differs from the facility state."
    )
    provider: ProviderOut = Field(description="The billing provider.")
    facility: FacilityOut = Field(description="Where the service was rendered.")
    patient: PatientOut | None = Field(description="Minimum necessary patient identity.")
    type_of_bill: str | None = Field(description="UB-04 type of bill (institutional).")
    admission_date: date | None = Field(description="Admission date.")
    discharge_date: date | None = Field(description="Discharge date.")
    place_of_service: str | None = Field(description="CMS place-of-service code (professional).")
    diagnosis_code_set: Literal["icd10", "icd9"] = Field(description="Code set of the diagnoses.")
    diagnoses: list[str] = Field(description="Diagnosis codes without the dot, principal first.")
    lines: list[LineOut] = Field(description="The lines of the latest revision.")
    status_history: list[StatusChange] = Field(description="Every status change, in the order it happened.")
    revisions: list[RevisionOut] = Field(description="Every revision received.")
    drg: str | None = Field(description="MS-DRG billed (institutional), if any.")
    discharge_status: str | None = Field(description="UB-04 patient discharge status, if given.")
    payer_claim_control_number: str | None = Field(description="X12 REF*F8, if given.")
    warnings: list[str] = Field(
        description="What in the bill as sent should be checked before paying, by segment and element for "
        "an X12 claim: an NPI whose check digit is wrong (an X12 claim is kept as billed; a JSON bill with "
        "one is refused), an element Parley does not need that was left out because it was malformed (a "
        "diagnosis pointer, a service-facility NPI…), composites read with the partner's own separator."
    )


class BillPage(BaseModel):
    items: list[BillSummary] = Field(description="Bills, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
