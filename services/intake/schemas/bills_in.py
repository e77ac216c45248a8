"""A bill as a partner sends it (one claim): what each field means on a CMS-1500 / UB-04 and where it comes
from in an X12 837, so the OpenAPI page doubles as the mapping guide.

Shapes are checked here, field by field; rules that involve several fields (dates within the stay, code
set against dates, claim type against lines) are in :mod:`services.intake.claims` so the JSON and X12
paths apply the same ones.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.intake.examples import BILL_EXAMPLE
from services.intake.schemas.fields import (
    NDC,
    BirthDate,
    ClaimNumber,
    DiagnosisCode,
    DischargeStatus,
    Drg,
    Identifier,
    MemberId,
    Name,
    ReferenceNumber,
    Taxonomy,
    TypeOfBill,
)
from shared.codes import (
    NPI,
    TIN,
    Amount,
    Modifier,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    ServiceDate,
    StateCode,
    Units,
    ZipCode,
)
from shared.contracts import ClaimFrequency, ClaimType, LineOfBusiness, UnitOfMeasure

CENT = Decimal("0.01")


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: str = Field(min_length=1, max_length=55, description="Street (X12 N301).")
    line2: str | None = Field(default=None, max_length=55, description="X12 N302.")
    city: str = Field(min_length=1, max_length=30, description="X12 N401.")
    state: StateCode = Field(description="X12 N402.")
    zip: ZipCode = Field(description="X12 N403: 5 or 9 digits.")


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    npi: NPI = Field(
        description="Billing provider's NPI (10 digits, check digit verified). X12 2010AA NM109."
    )
    tin: TIN = Field(description="Billing provider's tax id (EIN), 9 digits. X12 2010AA REF*EI.")
    name: str | None = Field(default=None, max_length=200, description="X12 2010AA NM103 (NM104).")
    taxonomy: Taxonomy | None = Field(default=None, description="Provider taxonomy code. X12 2000A PRV03.")
    address: AddressIn | None = Field(default=None, description="X12 2010AA N3/N4.")


class FacilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: StateCode = Field(
        description="State where the service was rendered; the pricing jurisdiction unless `jurisdiction` "
        "says otherwise. X12 2310C/2310E N402, else the billing provider's."
    )
    zip: ZipCode = Field(description="ZIP of the service facility (5 or 9 digits).")
    npi: NPI | None = Field(default=None, description="Service facility NPI. X12 NM1*77 NM109.")
    name: str | None = Field(default=None, max_length=200, description="X12 NM1*77 NM103.")
    address: AddressIn | None = Field(default=None, description="X12 NM1*77 N3/N4.")


class PatientIn(BaseModel):
    """Only what a negotiator needs to name the claim to the provider's business office."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = Field(default=None, description="X12 2010CA (or 2010BA) NM104.")
    last_name: Name | None = Field(default=None, description="X12 2010CA (or 2010BA) NM103.")
    birth_date: BirthDate | None = Field(default=None, description="X12 DMG02.")
    member_id: MemberId | None = Field(
        default=None,
        description="Subscriber's member id, 1-80 printable characters, trimmed. X12 2010BA NM109.",
    )


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_number: int | None = Field(
        default=None, ge=1, le=999, description="Defaults to the line's position (1-based). X12 LX01."
    )
    procedure_code: ProcedureCode | None = Field(
        default=None, description="CPT or HCPCS code. X12 SV101-2 (837P) or SV202-2 (837I)."
    )
    revenue_code: RevenueCode | None = Field(
        default=None, description="UB-04 revenue code; required on institutional lines. X12 SV201."
    )
    modifiers: list[Modifier] = Field(
        default_factory=list, max_length=4, description="Up to four. X12 SV101-3..6 / SV202-3..6."
    )
    units: Units = Field(
        description="Units of service, greater than zero; minutes when `unit_of_measure` is minutes. "
        "X12 SV104 / SV205."
    )
    unit_of_measure: UnitOfMeasure = Field(
        default=UnitOfMeasure.units,
        description="What `units` counts: `units` (X12 UN; DA days on an institutional line) or `minutes` "
        "(X12 MJ: anesthesia time, e.g. 61 for 61 minutes). X12 SV103 / SV204.",
    )
    charge: Amount = Field(description="Billed charge for the line, in dollars. X12 SV102 / SV203.")
    service_date: ServiceDate = Field(description="Date of service. X12 2400 DTP*472 (first date).")
    place_of_service: PlaceOfService | None = Field(
        default=None, description="Overrides the bill's place of service for this line. X12 SV105."
    )
    ndc: NDC | None = Field(default=None, description="National Drug Code, where given. X12 2410 LIN03.")
    diagnosis_pointers: list[int] = Field(
        default_factory=list,
        max_length=4,
        description="1-based positions in `diagnoses` this line treats. X12 SV107.",
    )

    @field_validator("charge")
    @classmethod
    def _in_cents(cls, charge: Decimal) -> Decimal:
        return charge.quantize(CENT)  # "40" and "40.00" are the same money; store and send one form

    @field_validator("diagnosis_pointers")
    @classmethod
    def _pointers_in_range(cls, pointers: list[int]) -> list[int]:
        if any(p < 1 or p > 12 for p in pointers):
            raise ValueError("a diagnosis pointer is 1 to 12")
        return pointers


class BillIn(BaseModel):
    """A bill (one claim) as a partner sends it. Every amount is in US dollars with at most two decimals."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [BILL_EXAMPLE]})

    partner_claim_id: ClaimNumber = Field(
        description="Your claim number; unique per client. A replacement or void names the same number. "
        "1-38 printable characters as X12 allows (spaces, #, / …), trimmed. X12 CLM01."
    )
    payer_claim_control_number: ReferenceNumber | None = Field(
        default=None,
        description="The payer's claim control number for the claim a replacement or void changes, 1-50 "
        "printable characters, trimmed. X12 2300 REF*F8.",
    )
    client_id: Identifier = Field(
        description="The payer (employer, carrier or plan) the bill is for; one of your key's clients."
    )
    claim_type: ClaimType = Field(
        default=ClaimType.professional,
        description="professional (CMS-1500, 837P) or institutional (UB-04, 837I).",
    )
    frequency: ClaimFrequency = Field(
        default=ClaimFrequency.original,
        description="original (1), replacement (7: replaces the claim with the same number; it is priced "
        "again) or void (8: cancels it). X12 CLM05-3.",
    )
    line_of_business: LineOfBusiness | None = Field(
        default=None, description="Workers' compensation, group health or auto. X12 SBR09 (WC, AM, …)."
    )
    jurisdiction: StateCode | None = Field(
        default=None, description="State whose fee schedule applies; defaults to the facility's state."
    )
    provider: ProviderIn
    facility: FacilityIn
    patient: PatientIn | None = Field(
        default=None, description="Minimum necessary patient identity; returned only on audited reads."
    )
    type_of_bill: TypeOfBill | None = Field(
        default=None,
        description="UB-04 type of bill (4 characters, leading 0); required for institutional claims. Its "
        "last digit is the frequency. X12 CLM05-1 + CLM05-3.",
    )
    admission_date: ServiceDate | None = Field(default=None, description="X12 DTP*435.")
    discharge_date: ServiceDate | None = Field(
        default=None, description="Not before admission. X12: the statement period's end (DTP*434)."
    )
    place_of_service: PlaceOfService | None = Field(
        default=None, description="CMS place-of-service code (professional). X12 CLM05-1."
    )
    diagnosis_code_set: Literal["icd10", "icd9"] = Field(
        default="icd10",
        description="icd10 (ICD-10-CM), or icd9 for services before 2015-10-01 (X12 qualifiers BK/BF).",
    )
    diagnoses: list[DiagnosisCode] = Field(
        default_factory=list,
        max_length=25,
        description="Diagnosis codes, principal first, with or without the dot. X12 HI (ABK/ABF, BK/BF).",
    )
    drg: Drg | None = Field(
        default=None,
        description="The MS-DRG the hospital billed for an inpatient stay (3 digits, e.g. 885); "
        "institutional claims only. Pricing uses it for per-stay (DRG) pricing. X12 837I HI*DR.",
    )
    discharge_status: DischargeStatus | None = Field(
        default=None,
        description="UB-04 patient discharge status (2 digits: 01 home, 02 transfer to a hospital, 30 still "
        "a patient…); institutional claims. X12 CL103.",
    )
    lines: list[LineIn] = Field(min_length=1, max_length=999, description="The service lines, 1 to 999.")
    total_charge: Amount = Field(description="Must equal the sum of the line charges. X12 CLM02.")

    @field_validator("lines")
    @classmethod
    def _unique_line_numbers(cls, lines: list[LineIn]) -> list[LineIn]:
        numbers = [line.line_number or i for i, line in enumerate(lines, start=1)]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique within a bill")
        return lines

    @field_validator("total_charge")
    @classmethod
    def _total_matches_lines(cls, total: Decimal, info: ValidationInfo) -> Decimal:
        lines: list[LineIn] | None = info.data.get("lines")
        if lines is None:  # the lines were invalid; that error is reported on its own
            return total
        line_sum = sum((line.charge for line in lines), Decimal("0"))
        if line_sum != total:
            raise ValueError(f"total_charge {total} does not equal the sum of the line charges {line_sum}")
        return total.quantize(CENT)
