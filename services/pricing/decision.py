"""The pricing decision for one bill, in the order the product promises:

1. **Fee schedule**: the bill's jurisdiction has one (for its line of business, in effect on the date of
   service) and the facility is not exempt → every line at the schedule; no negotiation needed.
2. **PPO contract or direct agreement** in the client's custom network for this provider (TIN, or the
   TIN and this NPI) → the contract's terms. Several apply: a direct agreement before a PPO contract,
   an NPI-specific one before a TIN-wide one, then the latest effective. The U&C reviews are still run
   so a contract paying more than the U&C median is flagged.
3. **Three U&C reviews** otherwise: services, geography, peers; each line's median is its target.

Bill audit findings are added whatever the method. Every step taken or passed is written down with why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.audit import audit
from services.pricing.config import PricingSettings
from services.pricing.contract_terms import apply_contract, contract_label
from services.pricing.models import Contract, Facility, FeeSchedule, RelativeValue
from services.pricing.observations import percentiles
from services.pricing.quotes import LineQuote, priced, unpriced
from services.pricing.repository import PricingRepository
from services.pricing.reviews import Peers, Place, ReviewedLine, UcResult, review, wanted
from services.pricing.schedules import Locality, Multiplier, price_outpatient, price_professional
from services.pricing.service_codes import cents, service_code
from shared.contracts import (
    BillLineV1,
    BillReceivedV1,
    ClaimType,
    DecisionStepV2,
    FindingV2,
    PricingMethod,
)

UC_KIND = {"charges": "charge", "allowed": "allowed"}


@dataclass
class Decision:
    method: PricingMethod
    quotes: list[LineQuote]
    steps: list[DecisionStepV2] = field(default_factory=list)
    fee_schedule_id: str | None = None
    contract_id: str | None = None
    locality: Locality | None = None
    multiplier: Decimal | None = None
    uc: UcResult | None = None
    findings: list[FindingV2] = field(default_factory=list)


def bill_date(bill: BillReceivedV1) -> date:
    return bill.admission_date or min(line.service_date for line in bill.lines)


def is_inpatient(bill: BillReceivedV1) -> bool:
    return bill.claim_type is ClaimType.institutional and (bill.type_of_bill or "").lstrip("0").startswith(
        "11"
    )


def _in_effect(start: date, end: date | None, on: date) -> bool:
    return start <= on and (end is None or on <= end)


class _Pricer:
    """The bill's reference data, loaded once, and the schedule pricing every method shares."""

    def __init__(
        self, bill: BillReceivedV1, settings: PricingSettings, repository: PricingRepository
    ) -> None:
        self.bill, self.settings, self.repository = bill, settings, repository
        self.year = settings.cms_year
        self.professional = bill.claim_type is ClaimType.professional
        self.rvus: dict[tuple[str, str], RelativeValue] = {}
        self.locality: Locality | None = None

    async def load(self) -> None:
        codes = [line.procedure_code for line in self.bill.lines if line.procedure_code]
        self.rvus = await self.repository.relative_values(self.year, codes)
        self.localities = await self.repository.localities(self.year, self.bill.pricing_jurisdiction)
        self.opps = {} if self.professional else await self.repository.opps_rates(self.year, codes)

    def schedule(self, lines: Sequence[BillLineV1], multiplier: Multiplier) -> list[LineQuote]:
        if self.professional:
            self.locality, quotes = price_professional(
                lines,
                jurisdiction=self.bill.pricing_jurisdiction,
                rvus=self.rvus,
                localities=self.localities,
                multiplier=multiplier,
                year=self.year,
            )
            return quotes
        if is_inpatient(self.bill):
            reason = "inpatient facility bill: Medicare pays it by DRG and no inpatient schedule is loaded"
            return [unpriced(line, reason) for line in lines]
        return price_outpatient(lines, opps=self.opps, multiplier=multiplier, year=self.year)


def _choose_fee_schedule(
    bill: BillReceivedV1, schedules: Sequence[FeeSchedule]
) -> tuple[FeeSchedule | None, str]:
    on = bill_date(bill)
    current = [s for s in schedules if _in_effect(s.effective_from, s.effective_to, on)]
    lob = bill.line_of_business.value if bill.line_of_business else None
    specific = [s for s in current if s.line_of_business is not None and s.line_of_business == lob]
    general = [s for s in current if s.line_of_business is None]
    if specific or general:
        return (specific or general)[0], ""
    if current:
        kinds = ", ".join(sorted({s.line_of_business or "" for s in current}))
        return None, (
            f"{bill.pricing_jurisdiction} has fee schedules only for {kinds}; this bill's line of "
            f"business is {lob or 'not given'}"
        )
    return None, f"no fee schedule is loaded for jurisdiction {bill.pricing_jurisdiction} in effect on {on}"


def _exemption(bill: BillReceivedV1, schedule: FeeSchedule) -> str | None:
    ids = {bill.facility.npi, bill.provider.npi} - {None}
    for exemption in schedule.exemptions:
        if (exemption.npi and exemption.npi in ids) or (exemption.tin and exemption.tin == bill.provider.tin):
            who = exemption.name or exemption.npi or exemption.tin
            return f"{who} is exempt from {schedule.name}" + (
                f" ({exemption.reason})" if exemption.reason else ""
            )
    return None


def _choose_contract(bill: BillReceivedV1, contracts: Sequence[Contract]) -> Contract | None:
    on = bill_date(bill)
    npis = {bill.provider.npi, bill.facility.npi} - {None}
    fitting = [
        c
        for c in contracts
        if _in_effect(c.effective_from, c.effective_to, on)
        and (c.provider_npi is None or c.provider_npi in npis)
    ]
    fitting.sort(
        key=lambda c: (c.kind != "agreement", c.provider_npi is None, -c.effective_from.toordinal(), c.id)
    )
    return fitting[0] if fitting else None


async def _fee_schedule_step(
    bill: BillReceivedV1, pricer: _Pricer, decision_steps: list[DecisionStepV2]
) -> Decision | None:
    schedule, why_not = _choose_fee_schedule(
        bill, await pricer.repository.fee_schedules(bill.pricing_jurisdiction)
    )
    if schedule is None:
        decision_steps.append(DecisionStepV2(step="fee_schedule", applied=False, detail=why_not))
        return None
    exempt = _exemption(bill, schedule)
    factor = (
        schedule.professional_multiplier if pricer.professional else schedule.outpatient_facility_multiplier
    )
    setting = "professional" if pricer.professional else "outpatient facility"
    reason = exempt or (
        f"{schedule.name} covers no inpatient facility bills"
        if not pricer.professional and is_inpatient(bill)
        else f"{schedule.name} has no {setting} multiplier"
        if factor is None
        else None
    )
    if reason is not None or factor is None:
        decision_steps.append(DecisionStepV2(step="fee_schedule", applied=False, detail=reason or ""))
        return None
    quotes = pricer.schedule(bill.lines, Multiplier(factor, schedule.name))
    decision_steps.append(
        DecisionStepV2(
            step="fee_schedule",
            applied=True,
            detail=(
                f"{schedule.name} ({schedule.id}): {setting} lines "
                f"at Medicare × {factor}; no negotiation needed"
            ),
        )
    )
    return Decision(
        PricingMethod.fee_schedule,
        quotes,
        decision_steps,
        fee_schedule_id=schedule.id,
        locality=pricer.locality,
        multiplier=factor,
    )


async def _contract_step(
    bill: BillReceivedV1, pricer: _Pricer, network_id: str | None
) -> tuple[Contract | None, str]:
    if network_id is None:
        return None, f"client {bill.client_id} uses no custom network"
    contract = _choose_contract(
        bill, await pricer.repository.contracts_in_network(network_id, bill.provider.tin)
    )
    if contract is None:
        return None, (
            f"no PPO contract or direct agreement for TIN {bill.provider.tin} in effect on "
            f"{bill_date(bill)} in network {network_id}"
        )
    return contract, ""


async def _fee_schedule_multiplier(pricer: _Pricer, schedule_id: str) -> Multiplier | None:
    schedule = await pricer.repository.fee_schedule(schedule_id)
    if schedule is None:
        return None
    factor = (
        schedule.professional_multiplier if pricer.professional else schedule.outpatient_facility_multiplier
    )
    return Multiplier(factor, schedule.name) if factor is not None else None


def _place(bill: BillReceivedV1, facility: Facility | None) -> Place:
    peers = (
        Peers(facility.facility_type, facility.bed_band, facility.teaching, facility.trauma_level)
        if facility
        else None
    )
    note = (
        ""
        if facility
        else (
            f"no peer comparison: facility {bill.facility.npi or bill.provider.npi} "
            "is not in the facility registry, "
            "so its credentials are unknown"
        )
    )
    return Place(bill.facility.state, bill.facility.zip[:3], peers, note)


async def _usual_and_customary(
    session: AsyncSession,
    bill: BillReceivedV1,
    settings: PricingSettings,
    repository: PricingRepository,
    percentile: int,
    basis: str,
) -> UcResult:
    setting = "professional" if bill.claim_type is ClaimType.professional else "facility"
    lines = [
        ReviewedLine(
            line.line_number,
            service_code(line.procedure_code, line.revenue_code, line.modifiers),
            setting,
            line.units,
            line.charge,
        )
        for line in bill.lines
    ]
    place = _place(bill, await repository.facility([bill.facility.npi, bill.provider.npi]))
    figures = await percentiles(session, UC_KIND[basis], percentile, wanted(lines, place))
    return review(
        lines,
        place,
        figures,
        percentile=percentile,
        basis=basis,
        min_observations=settings.uc_min_observations,
    )


def _uc_quotes(bill: BillReceivedV1, uc: UcResult) -> list[LineQuote]:
    quotes = []
    for line in bill.lines:
        target = uc.targets[line.line_number]
        if target.amount is None:
            quotes.append(unpriced(line, target.note))
            continue
        per_review = "; ".join(
            f"{r.kind.value} {r.lines[i].allowance}"
            for r in uc.summary.reviews
            for i, x in enumerate(r.lines)
            if x.line_number == line.line_number and x.allowance is not None
        )
        basis = (
            f"U&C {uc.summary.percentile}th percentile of {uc.summary.basis}: {per_review}; "
            f"{target.note} = {target.amount}; allowed is the lesser of billed {line.charge} and that"
        )
        quotes.append(priced(line, target.amount, basis))
    return quotes


def _contract_above_uc(quotes: Sequence[LineQuote], uc: UcResult, label: str) -> list[FindingV2]:
    findings = []
    for quote in quotes:
        target = uc.targets[quote.line_number]
        if quote.allowed is not None and target.allowance is not None and quote.allowed > target.allowance:
            findings.append(
                FindingV2(
                    rule="contract_above_uc",
                    line_number=quote.line_number,
                    amount_at_stake=cents(quote.allowed - target.allowance),
                    detail=(
                        f"{label} pays {quote.allowed}, above the U&C median {target.allowance} for this line"
                    ),
                )
            )
    return findings


async def decide(session: AsyncSession, bill: BillReceivedV1, settings: PricingSettings) -> Decision:
    repository = PricingRepository(session)
    pricer = _Pricer(bill, settings, repository)
    await pricer.load()
    steps: list[DecisionStepV2] = []
    decision = await _fee_schedule_step(bill, pricer, steps)
    if decision is None:
        client = await repository.client(bill.client_id)
        contract, why_not = await _contract_step(bill, pricer, client.network_id if client else None)
        percentile = (client.uc_percentile if client else None) or settings.uc_percentile
        basis = (client.uc_basis if client else None) or settings.uc_basis
        uc = await _usual_and_customary(session, bill, settings, repository, percentile, basis)
        if contract is not None:
            label = contract_label(contract)
            named = contract.terms.get("schedule")
            base = (
                await _fee_schedule_multiplier(pricer, str(named))
                if named not in (None, "medicare")
                else None
            )
            quotes = apply_contract(contract, bill, pricer.schedule, base)
            method = PricingMethod.agreement if contract.kind == "agreement" else PricingMethod.contract
            steps.append(
                DecisionStepV2(step="contract", applied=True, detail=f"{label} in the client's network")
            )
            steps.append(
                DecisionStepV2(
                    step="usual_and_customary",
                    applied=False,
                    detail="three U&C reviews run for comparison with the contract price",
                )
            )
            decision = Decision(
                method,
                quotes,
                steps,
                contract_id=contract.id,
                uc=uc,
                findings=_contract_above_uc(quotes, uc, label),
            )
        else:
            steps.append(DecisionStepV2(step="contract", applied=False, detail=why_not))
            steps.append(
                DecisionStepV2(
                    step="usual_and_customary",
                    applied=True,
                    detail=f"three U&C reviews at the {percentile}th percentile of {basis}; each line's "
                    "target is the median of the reviews",
                )
            )
            decision = Decision(PricingMethod.usual_and_customary, _uc_quotes(bill, uc), steps, uc=uc)
    edit_set = "practitioner" if pricer.professional else "hospital"
    codes = [line.procedure_code for line in bill.lines if line.procedure_code]
    uc_amounts = (
        {n: t.amount for n, t in decision.uc.targets.items() if t.amount is not None} if decision.uc else {}
    )
    decision.findings = [
        *decision.findings,
        *audit(
            bill.lines,
            edits=await repository.ptp_edits(edit_set, codes),
            limits=await repository.mue_limits(edit_set, codes),
            rvus=pricer.rvus if pricer.professional else {},
            uc_amounts=uc_amounts,
            far_above_factor=settings.uc_far_above_factor,
        ),
    ]
    return decision
