"""Request and response bodies of the reporting API (money as decimal strings, dates ISO 8601)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.reporting.fees import FeeKind, FeeTerms


class Turnaround(BaseModel):
    bills: int = Field(description="Bills measured (those whose both ends fell in the data).")
    median_seconds: int | None = Field(description="Median, nearest rank, to 3 significant figures.")
    p90_seconds: int | None = Field(description="90th percentile, nearest rank, to 3 significant figures.")


class KpiRowOut(BaseModel):
    """Every KPI of one group over the period. Counts and dollars fall on the day of their event."""

    key: str | date | None = Field(
        description="The group: a client id, provider NPI, state, method, line of business, or the first "
        "day of the day/week/month; 'all' for the totals; null for 'not known yet'."
    )
    label: str | None = Field(default=None, description="The provider's name, for a provider breakdown.")
    received: int = Field(description="Volume: bills received.")
    received_billed: Decimal = Field(description="Billed charges of the bills received.")
    priced: int = Field(description="Bills priced for the first time.")
    priced_billed: Decimal = Field(description="Billed charges of the bills priced.")
    allowed: Decimal = Field(description="Allowed amount (fee schedule / contract) or U&C target of them.")
    unpriced_billed: Decimal = Field(description="Billed charges of lines pricing could not price.")
    cases_opened: int = Field(description="Negotiation cases opened.")
    not_negotiated: int = Field(description="Priced bills for which no case was opened.")
    agreed: int = Field(description="Cases where both sides agreed on terms.")
    agreed_billed: Decimal = Field(description="Billed charges of the agreed bills.")
    agreed_amount: Decimal = Field(description="Agreed amounts.")
    first_offer_accepted: int = Field(description="Agreed cases agreed on the opening offer.")
    quick_pay_offered: int = Field(description="Agreed cases in which a quick-pay offer was made.")
    quick_pay_agreed: int = Field(description="Agreed cases whose terms include quick pay.")
    executed: int = Field(description="Settlement agreements executed (v1 events: signed).")
    settled: int = Field(description="Cases closed settled.")
    repriced: int = Field(description="Cases closed repriced (fee schedule or contract, no negotiation).")
    resolved: int = Field(description="settled + repriced: the bills savings and fees are counted on.")
    resolved_billed: Decimal = Field(description="Billed charges of the settled and repriced bills.")
    resolved_amount: Decimal = Field(description="Agreed or repriced amounts of them (what is paid).")
    savings: Decimal = Field(description="resolved_billed − resolved_amount.")
    savings_percent: Decimal | None = Field(description="savings / resolved_billed × 100.")
    fees: Decimal = Field(description="Parley's fees on the settled and repriced bills.")
    net_savings: Decimal = Field(description="savings − fees.")
    net_savings_percent: Decimal | None = Field(description="net_savings / resolved_billed × 100.")
    disputed: int = Field(description="Cases closed disputed.")
    escalated: int = Field(description="Cases closed escalated.")
    closed_unresolved: int = Field(description="Cases closed without agreement.")
    voided: int = Field(description="Bills voided by the partner.")
    approvals_requested: int = Field(description="Supervisor approvals asked for.")
    approvals_denied: int = Field(description="Supervisor approvals refused (on the day decided).")
    approvals_denied_percent: Decimal | None = Field(description="approvals_denied / approvals_requested.")
    first_offer_acceptance_percent: Decimal | None = Field(description="first_offer_accepted / agreed × 100.")
    quick_pay_uptake_percent: Decimal | None = Field(
        description="quick_pay_agreed / quick_pay_offered × 100."
    )
    median_accepted_share_percent: Decimal | None = Field(
        description="Median of agreed amount / billed over the agreed cases, percent (kept in 0.5 % steps)."
    )
    turnaround: dict[str, Turnaround] = Field(
        description="received_to_priced (on the priced day), received_to_agreed (agreed day), "
        "agreed_to_executed (executed day)."
    )


class Period(BaseModel):
    since: date | None = Field(description="First day counted (inclusive); null: from the beginning.")
    until: date | None = Field(description="Last day counted (inclusive); null: up to today.")


class KpiSummaryOut(BaseModel):
    period: Period
    previous_period: Period | None = Field(description="Same length, just before; null if open-ended.")
    time_zone: str = Field(description="Days are calendar days in this time zone.")
    level: str = Field(description="The pre-aggregated table the figures were read from.")
    demo_bills: int = Field(description="Synthetic demo bills among the caller's data (make up's history).")
    current: KpiRowOut
    previous: KpiRowOut | None


class KpiBreakdownOut(BaseModel):
    by: str
    period: Period
    level: str
    total: int = Field(description="Groups in all pages.")
    page: int
    page_size: int
    items: list[KpiRowOut]


class PipelineCellOut(BaseModel):
    queue: str = Field(description="pricing, negotiate, audit, review or agreement.")
    age: str = Field(description="Days since received: 0-30, 31-60, 61-90 or 90+.")
    bills: int
    billed: Decimal


class PipelineOut(BaseModel):
    as_of: date = Field(description="Ages are counted to this day (today, reporting time zone).")
    bills: int
    billed: Decimal
    items: list[PipelineCellOut]


class PatternOut(BaseModel):
    provider_npi: str | None
    provider_name: str | None
    code: str | None = Field(
        description="CPT/HCPCS or revenue code of the line; null for a whole-bill finding."
    )
    modifiers: str | None = Field(description="The line's modifiers, comma-separated, as billed.")
    rule: str = Field(description="The audit rule, e.g. ncci_ptp, mue, modifier_59, duplicate_line.")
    findings: int = Field(description="Findings of this kind in the period.")
    at_stake: Decimal = Field(description="Billed dollars at stake in them.")
    disputed: int = Field(description="Of them, findings on bills whose case closed disputed.")
    disputed_amount: Decimal = Field(description="Dollars at stake in those.")


class PatternsOut(BaseModel):
    period: Period
    total: int
    page: int
    page_size: int
    items: list[PatternOut]


class FactOut(BaseModel):
    """What reporting knows about one bill."""

    model_config = ConfigDict(from_attributes=True)

    bill_id: uuid.UUID
    client_id: str | None
    partner_claim_id: str | None
    demo: bool
    provider_npi: str | None
    provider_name: str | None
    state: str | None
    line_of_business: str | None
    method: str | None
    route: str | None
    received_at: datetime | None
    priced_at: datetime | None
    case_opened_at: datetime | None
    agreed_at: datetime | None
    executed_at: datetime | None
    closed_at: datetime | None
    voided_at: datetime | None
    outcome: str | None
    billed: Decimal | None
    allowed: Decimal | None
    findings_at_stake: Decimal | None
    opening_offer: Decimal | None
    agreed_amount: Decimal | None
    resolved_amount: Decimal | None
    savings: Decimal | None
    fee: Decimal | None
    net_savings: Decimal | None
    offers: int
    first_offer_accepted: bool | None
    quick_pay_agreed: bool


class FactsOut(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[FactOut]


class FeeTermsIn(BaseModel):
    """New fee terms for a client, from ``effective_from`` on."""

    model_config = ConfigDict(extra="forbid")

    kind: FeeKind = Field(description="contingency (percent of savings, capped), flat (per bill) or hybrid.")
    effective_from: date = Field(
        description="Bills settled or repriced on or after this day use these terms."
    )
    percent: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=2, description="Of savings.")
    cap: Decimal | None = Field(default=None, ge=0, decimal_places=2, description="Most per bill, dollars.")
    flat: Decimal | None = Field(default=None, ge=0, decimal_places=2, description="Dollars per bill.")
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> FeeTermsIn:
        problems = self.terms().problems()
        if problems:
            raise ValueError("; ".join(f"{field}: {why}" for field, why in problems))
        return self

    def terms(self) -> FeeTerms:
        return FeeTerms(
            kind=self.kind,
            effective_from=self.effective_from,
            percent=self.percent,
            cap=self.cap,
            flat=self.flat,
        )


class FeeTermsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    kind: FeeKind
    effective_from: date
    percent: Decimal | None
    cap: Decimal | None
    flat: Decimal | None
    note: str | None
    created_by: str
    created_at: datetime
    superseded_at: datetime | None = Field(
        description="Set when later terms with the same date replaced these."
    )


class FeeTermsCreated(BaseModel):
    terms: FeeTermsOut
    bills_reworked: int = Field(description="Settled or repriced bills whose fee changed with these terms.")


class FeeTermsList(BaseModel):
    client_id: str
    items: list[FeeTermsOut]


class WeeklyReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1)
    week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W48.")


class WeeklyReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    week: str
    week_start: date
    made_by: str
    made_at: datetime
    pdf_sha256: str
    html_url: str
    pdf_url: str


class WeeklyReportDetail(WeeklyReportOut):
    data: dict[str, object] = Field(description="The figures the report shows, as rendered.")


class WeeklyReportList(BaseModel):
    total: int
    items: list[WeeklyReportOut]


ExportView = Literal["kpis", "pipeline", "patterns", "facts"]
