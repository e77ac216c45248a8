"""Request and response bodies of the intake API: what partners send and what they get back.

Each field says what it means on a CMS-1500 / UB-04 and where it comes from in an X12 837, so the
OpenAPI page doubles as the mapping guide. Shapes are checked here, field by field; rules that involve
several fields (dates within the stay, code set against dates, claim type against lines) are in
:mod:`services.intake.claims` so the JSON and X12 paths apply the same ones.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from services.intake.examples import BILL_EXAMPLE
from services.intake.status import BillStatus
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
# Parley's own ids (clients): letters, digits and . _ - / only, because they appear in scopes and URLs.
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]


def _x12_text(value: str) -> str:
    # X12's basic and extended character sets are printable characters (letters, digits, space and
    # punctuation such as # & ' ( ) + , - . / : ; ? = % @ [ ] _ { } < > $); partners' claim numbers use
    # them ("R03996273 #01"). Nothing downstream parses an identifier: it is compared and shown, so
    # only what cannot be shown or logged safely (control characters, line breaks) is refused.
    if not value.isprintable():
        raise ValueError("only printable characters are allowed (no control characters or line breaks)")
    return value


# Identifiers a provider or payer assigned: trimmed, X12's characters, X12's lengths.
ClaimNumber = Annotated[  # X12 CLM01: AN 1-38
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=38),
    AfterValidator(_x12_text),
    Field(examples=["R03996273 #01"]),
]
MemberId = Annotated[  # X12 NM109: AN up to 80
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), AfterValidator(_x12_text)
]
ReferenceNumber = Annotated[  # X12 REF02: AN 1-50
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_x12_text)
]


def _upper_compact(value: object) -> object:
    return value.strip().upper().replace(".", "") if isinstance(value, str) else value


def _diagnosis(value: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{3,7}", value):
        raise ValueError("a diagnosis code is 3 to 7 letters or digits (ICD-10-CM e.g. S83.511A)")
    return value


def _taxonomy(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"\d{3}[0-9A-Z]{7}", code):
        raise ValueError("a provider taxonomy code is 10 characters, e.g. 207X00000X")
    return code


def _ndc(value: str) -> str:
    """NDC as 11 digits (5-4-2). Hyphenated 10-digit forms are padded; 10 bare digits are ambiguous."""
    text = value.strip()
    if "-" in text:
        parts = text.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError("an NDC is 11 digits, or hyphenated as 5-4-2, 4-4-2, 5-3-2 or 5-4-1")
        labeler, product, package = parts
        if (len(labeler), len(product), len(package)) not in ((5, 4, 2), (4, 4, 2), (5, 3, 2), (5, 4, 1)):
            raise ValueError("an NDC is 11 digits, or hyphenated as 5-4-2, 4-4-2, 5-3-2 or 5-4-1")
        return labeler.zfill(5) + product.zfill(4) + package.zfill(2)
    if not re.fullmatch(r"\d{11}", text):
        raise ValueError("an NDC is 11 digits (5-4-2 without hyphens); a 10-digit NDC needs its hyphens")
    return text


def _type_of_bill(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"0?[1-9][0-9A-Z][0-9A-Z]", code):
        raise ValueError("type of bill is 3 characters (facility type, care type, frequency), e.g. 0131")
    return code.zfill(4)


def _drg(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{3}", code) or code == "000":
        raise ValueError("an MS-DRG is 3 digits, 001 to 999 (e.g. 885)")
    return code


def _discharge_status(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{2}", code):
        raise ValueError("patient discharge status is a 2-digit UB-04 code (e.g. 01 home, 02 transfer)")
    return code


def _birth_date(value: date) -> date:
    if value > datetime.now(UTC).date() or value < date(1900, 1, 1):
        raise ValueError("birth date must be a past date after 1900")
    return value


DiagnosisCode = Annotated[str, BeforeValidator(_upper_compact), AfterValidator(_diagnosis)]
Taxonomy = Annotated[str, AfterValidator(_taxonomy), Field(examples=["207X00000X"])]
NDC = Annotated[str, AfterValidator(_ndc), Field(examples=["00409490234"])]
TypeOfBill = Annotated[str, AfterValidator(_type_of_bill), Field(examples=["0131"])]
BirthDate = Annotated[date, AfterValidator(_birth_date)]
Drg = Annotated[str, AfterValidator(_drg), Field(examples=["885"])]
DischargeStatus = Annotated[str, AfterValidator(_discharge_status), Field(examples=["01"])]


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


# --- responses -------------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `lines[2].charge` or `header:Authorization`.")
    message: str = Field(description="What is wrong and what is expected (never the value sent).")
    type: str = Field(description="A stable code for the kind of problem, e.g. `missing`, `duplicate`.")


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


Outcome = Literal["created", "replaced", "voided", "rejected"]


class Answer(BaseModel):
    """The answer to one bill (or claim) of a request that carried several."""

    index: int = Field(description="Position of the bill or claim in the request or file (0-based).")
    partner_claim_id: str | None = Field(description="Its claim number, when it could be read.")
    outcome: Outcome = Field(description="created, replaced, voided or rejected.")
    status: int = Field(description="The HTTP status it would have had on its own (201, 200, 4xx).")
    bill: BillSummary | None = Field(description="The bill as stored; null when rejected.")


class BatchItem(Answer):
    errors: list[FieldError] = Field(default_factory=list, description="Why it was rejected.")


class Counts(BaseModel):
    """How the bills (or claims) of one request were answered."""

    created: int = Field(description="New bills (originals).")
    replaced: int = Field(
        description="Bills replaced by a new revision (frequency replacement, CLM05-3 = 7)."
    )
    voided: int = Field(description="Bills voided (frequency void, CLM05-3 = 8).")
    rejected: int = Field(description="Rejected: nothing of them was stored.")


class BatchOut(Counts):
    items: list[BatchItem] = Field(description="One answer per bill, in request order.")


class X12ErrorOut(BaseModel):
    segment: str = Field(description="Segment id, e.g. SV1.")
    position: int = Field(description="Segment position within its transaction set (ST = 1), as in a 999.")
    element: str | None = Field(description="Element reference, e.g. SV102 or SV101-2.")
    field: str | None = Field(description="The bill field the element feeds, e.g. lines[0].charge.")
    message: str = Field(description="What is wrong and what is expected (never the value sent).")
    type: str = Field(description="A stable code for the kind of problem, e.g. `component_separator`.")


class X12Claim(Answer):
    transaction: str = Field(description="ST02 of the transaction set holding the claim.")
    position: int = Field(description="Position of its CLM segment within the transaction set.")
    claim_type: ClaimType = Field(
        description="From the transaction set: 837P professional, 837I institutional."
    )
    errors: list[X12ErrorOut] = Field(default_factory=list, description="Why it was rejected, by segment.")
    warnings: list[X12ErrorOut] = Field(
        default_factory=list,
        description="What was read but should be checked, by segment and element: an NPI whose check digit "
        "is wrong (an 837 is the provider's claim as billed: it is kept), HL numbering that departs from "
        "1, 2, 3…, an element Parley does not need that was left out because it was malformed, composites "
        "read with your recorded separator. A taken claim's warnings are kept with its bill.",
    )


class X12Out(Counts):
    interchange_control_number: str = Field(description="ISA13.")
    sender_id: str = Field(description="ISA06.")
    receiver_id: str = Field(description="ISA08.")
    claims: list[X12Claim] = Field(description="One answer per claim, in file order.")
    warnings: list[X12ErrorOut] = Field(
        default_factory=list,
        description="Findings about the file that refuse nothing: spacing, trailing separators, GE/IEA "
        "counts or control numbers, repeated control numbers, a missing GE/IEA after complete sets.",
    )


# --- webhooks ---------------------------------------------------------------------------------------


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="https URL Parley posts status changes to.")
    rotate_secret: bool = Field(
        default=False, description="Issue a new signing secret (the old one stops at once)."
    )


class WebhookOut(BaseModel):
    url: str = Field(description="Where Parley posts status changes.")
    updated_at: datetime = Field(description="When the registration last changed.")
    secret: str | None = Field(
        default=None,
        description="The signing secret. Shown only when it is issued (first registration or rotation): "
        "keep it; Parley will not show it again.",
    )


class AttemptOut(BaseModel):
    attempt: int = Field(description="1 for the first attempt.")
    at: datetime = Field(description="When the attempt started.")
    url: str = Field(description="The URL posted to.")
    status_code: int | None = Field(description="Your endpoint's HTTP status; null if none was received.")
    error: str | None = Field(description="Why the attempt failed (status, timeout, connection error).")
    duration_ms: int = Field(description="How long the attempt took.")


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="The event id (Parley-Event-Id): the same on every attempt.")
    bill_id: uuid.UUID = Field(description="The bill whose status changed.")
    event_type: str = Field(description="bill.status_changed")
    status: Literal["pending", "delivered", "failed"] = Field(description="Where the delivery stands.")
    attempts: int = Field(description="Attempts made so far.")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only).")
    last_status_code: int | None = Field(description="Your endpoint's status on the last attempt.")
    last_error: str | None = Field(description="Why the last attempt failed.")
    created_at: datetime = Field(description="When the status change was queued.")
    delivered_at: datetime | None = Field(description="When your endpoint accepted it.")
    body: dict[str, Any] = Field(description="The JSON document posted.")
    attempt_log: list[AttemptOut] | None = Field(
        default=None, description="Every attempt; on the single-delivery read only."
    )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut] = Field(description="Deliveries, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
