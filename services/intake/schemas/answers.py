"""The answers to a request that carried several bills or claims (a JSON batch, an X12 file): one per bill
or claim, in request order, with the counts by outcome; an X12 claim's problems are named by segment and
element.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.intake.schemas.bills_out import BillSummary
from shared.contracts import ClaimType


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `lines[2].charge` or `header:Authorization`.")
    message: str = Field(description="What is wrong and what is expected (never the value sent).")
    type: str = Field(description="A stable code for the kind of problem, e.g. `missing`, `duplicate`.")


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
