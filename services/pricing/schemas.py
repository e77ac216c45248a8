"""Request and response bodies of the pricing API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import DecisionStepV2, FindingV2, UsualAndCustomaryV2


class PricedLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_number: int
    code: str | None
    modifiers: list[str]
    units: Decimal
    service_date: date | None = None
    billed: Decimal
    method_amount: Decimal | None = Field(
        description="The method's amount for the line, before lesser-of-billed."
    )
    allowed: Decimal | None = Field(
        description="What the line is worth under the method; null when not priced."
    )
    basis: str = Field(
        description="How the amount was computed, with every factor, for a negotiator to quote."
    )
    reason: str | None = Field(description="Why the line could not be priced.")


class PricingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bill_id: uuid.UUID
    revision: int
    bill_revision: int
    trigger: str = Field(description="Why this revision exists: received, replaced, or re-priced and why.")
    client_id: str
    method: str = Field(description="fee_schedule, contract, agreement or usual_and_customary.")
    jurisdiction: str
    locality: str | None
    multiplier: Decimal | None
    fee_schedule_id: str | None
    contract_id: str | None
    total_billed: Decimal
    total_allowed: Decimal = Field(
        description="What pricing supports over the priced lines; for U&C, the sum of the line medians."
    )
    unpriced_billed: Decimal = Field(description="Billed charges of the lines that could not be priced.")
    priced_at: datetime
    decision: list[DecisionStepV2] = Field(description="Each step of the decision, in order, and why.")
    usual_and_customary: UsualAndCustomaryV2 | None = Field(
        description="The three reviews with their evidence, and the median; null for fee-schedule pricing."
    )
    findings: list[FindingV2] = Field(description="Bill audit findings: line, rule, amount at stake.")
    statement_sha256: str = Field(description="SHA-256 of the statement document of this revision.")
    lines: list[PricedLineOut]


class PricingHistoryOut(BaseModel):
    latest: PricingOut
    revisions: list[PricingOut] = Field(description="Every pricing of this bill, oldest first.")


class RepriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, examples=["new OPPS rates loaded"])


class DatasetOut(BaseModel):
    name: str
    what: str
    needs_year: bool
    targets: list[str] = Field(description="Allowed values of ?target= (empty: any source name or none).")
    named: bool = Field(description="Observation sources: ?target= names the source, replaced on reload.")
    unload_by: str = Field(
        description="What `DELETE /v1/reference/{dataset}` empties at a time: `year` (?year=), `target` "
        "(?target=: the edit set, observation source, definition id or facility NPI) or `all`."
    )


class LoadOut(BaseModel):
    dataset: str
    source: str
    target: str
    skipped: bool = Field(description="True when this exact content was already loaded: nothing changed.")
    rows_loaded: int
    rows_rejected: int
    rejections: list[dict[str, str]] = Field(description="The first rejected rows with the reason each.")
    notes: list[str] = Field(
        description="What the person loading should know: the encoding when it was not UTF-8, the sheet "
        "read, values kept out on purpose (placeholders, expired or derived rates…) with their counts."
    )


class UnloadOut(BaseModel):
    dataset: str
    year: int | None = Field(description="The year emptied (datasets unloaded by year).")
    target: str | None = Field(description="The edit set, source, id or NPI emptied (unloaded by target).")
    rows_removed: int = Field(description="Rows taken out (for an observation source, its observations).")
    reason: str = Field(description="Why, as given; kept in the load record's notes and the audit log.")


class LoadRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset: str
    year: int
    target: str
    source: str
    sha256: str
    rows_loaded: int
    rows_rejected: int
    rejections: list[dict[str, str]]
    notes: list[str] = Field(
        description="What the load said besides its rows: an encoding fallback, the sheet read, values "
        "kept out and why."
    )
    loaded_at: datetime
