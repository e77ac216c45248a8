"""The pricing decision for one bill, in the order the product promises:

1. **Fee schedule**: the bill's jurisdiction has one (for its line of business, in effect on the date of
   service) and the facility is not exempt → every line at the schedule; no negotiation needed. An
   inpatient stay needs the schedule's inpatient rule (a percent of Medicare IPPS, or a per diem).
2. **PPO contract or direct agreement** in the client's custom network for this provider (TIN, or the
   TIN and this NPI) → the contract's terms. Several apply: a direct agreement before a PPO contract,
   an NPI-specific one before a TIN-wide one, then the latest effective. The U&C reviews are still run
   so a contract paying more than the U&C median is flagged.
3. **Three U&C reviews** otherwise: services, geography, peers; each line's median is its target (an
   inpatient stay with an MS-DRG: the stay's, shared over its lines).

Bill audit findings are added whatever the method. Every step taken or passed is written down with why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.anesthesia import comparison_units
from services.pricing.audit import audit
from services.pricing.config import PricingSettings
from services.pricing.contract_terms import apply_contract, contract_label
from services.pricing.localities import Locality
from services.pricing.models import Contract, FeeSchedule
from services.pricing.pricer import BillPricer
from services.pricing.quotes import LineQuote
from services.pricing.reference import ReferenceData
from services.pricing.reviews import UcResult
from services.pricing.schedules import Multiplier
from services.pricing.usual_customary import contract_above_uc, uc_quotes, usual_and_customary
from shared.contracts import BillReceivedV1, DecisionStepV2, FindingV2, PricingMethod

HUNDRED = Decimal(100)


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
    # Per anesthesia line, the units its charge is compared over (base + time units; None: unknown).
    comparison_units: dict[int, Decimal | None] = field(default_factory=dict)


def bill_date(bill: BillReceivedV1) -> date:
    return bill.admission_date or min(line.service_date for line in bill.lines)


def _in_effect(start: date, end: date | None, on: date) -> bool:
    return start <= on and (end is None or on <= end)


def schedule_multiplier(schedule: FeeSchedule, pricer: BillPricer) -> tuple[Multiplier | None, str]:
    """What the schedule pays for this bill's setting, described; None with why it covers nothing."""
    name = schedule.name
    if pricer.inpatient:
        rule = schedule.inpatient
        if rule is None:
            return None, f"{name} covers no inpatient stays (no inpatient rule)"
        if rule["type"] == "per_diem":
            rate = Decimal(str(rule["rate"]))
            return Multiplier(
                Decimal(1), f"{name}: inpatient per diem", per_diem=rate
            ), f"stays at {rate} a day"
        percent = Decimal(str(rule["percent"]))
        return Multiplier(
            percent / HUNDRED, f"{name}: {percent}% of IPPS"
        ), f"stays at {percent}% of Medicare IPPS"
    factor = (
        schedule.professional_multiplier if pricer.professional else schedule.outpatient_facility_multiplier
    )
    setting = "professional" if pricer.professional else "outpatient facility"
    if factor is None:
        return None, f"{name} has no {setting} multiplier"
    multiplier = Multiplier(
        factor,
        name,
        lab=schedule.clinical_lab_multiplier,
        dme=schedule.dme_multiplier,
        anesthesia_cf=schedule.anesthesia_conversion_factor if pricer.professional else None,
    )
    extras = [
        f"lab × {schedule.clinical_lab_multiplier} CLFS" if schedule.clinical_lab_multiplier else "",
        f"DME × {schedule.dme_multiplier} DMEPOS" if schedule.dme_multiplier else "",
        f"anesthesia at its own CF {schedule.anesthesia_conversion_factor}"
        if schedule.anesthesia_conversion_factor and pricer.professional
        else "",
    ]
    more = "".join(f"; {x}" for x in extras if x)
    return multiplier, f"{setting} lines at Medicare × {factor}{more}"


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
    bill: BillReceivedV1, pricer: BillPricer, decision_steps: list[DecisionStepV2]
) -> Decision | None:
    schedule, why_not = _choose_fee_schedule(
        bill, await pricer.reference.fee_schedules(bill.pricing_jurisdiction)
    )
    if schedule is None:
        decision_steps.append(DecisionStepV2(step="fee_schedule", applied=False, detail=why_not))
        return None
    exempt = _exemption(bill, schedule)
    multiplier, described = schedule_multiplier(schedule, pricer)
    if exempt is not None or multiplier is None:
        decision_steps.append(DecisionStepV2(step="fee_schedule", applied=False, detail=exempt or described))
        return None
    await pricer.load()
    quotes = pricer.schedule(bill.lines, multiplier)
    decision_steps.append(
        DecisionStepV2(
            step="fee_schedule",
            applied=True,
            detail=f"{schedule.name} ({schedule.id}): {described}; no negotiation needed",
        )
    )
    return Decision(
        PricingMethod.fee_schedule,
        quotes,
        decision_steps,
        fee_schedule_id=schedule.id,
        locality=pricer.locality,
        multiplier=None if multiplier.per_diem is not None else multiplier.factor,
    )


async def _contract_step(
    bill: BillReceivedV1, pricer: BillPricer, network_id: str | None
) -> tuple[Contract | None, str]:
    if network_id is None:
        return None, f"client {bill.client_id} uses no custom network"
    contract = _choose_contract(
        bill, await pricer.reference.contracts_in_network(network_id, bill.provider.tin)
    )
    if contract is None:
        return None, (
            f"no PPO contract or direct agreement for TIN {bill.provider.tin} in effect on "
            f"{bill_date(bill)} in network {network_id}"
        )
    return contract, ""


async def _named_schedule(pricer: BillPricer, schedule_id: str) -> Multiplier | None:
    schedule = await pricer.reference.fee_schedule(schedule_id)
    return None if schedule is None else schedule_multiplier(schedule, pricer)[0]


async def decide(
    session: AsyncSession,
    bill: BillReceivedV1,
    settings: PricingSettings,
    reference: ReferenceData | None = None,
) -> Decision:
    """``reference``: the decision's reference reads, when the caller has opened them already (the
    received-bill path reads the reference version with the bill); else opened here."""
    if reference is None:
        reference = await ReferenceData.open(session)
    pricer = BillPricer(bill, settings, reference)
    units = comparison_units(bill.lines, await pricer.comparison_base_units())
    steps: list[DecisionStepV2] = []
    decision = await _fee_schedule_step(bill, pricer, steps)
    if decision is None:
        client = await reference.client(bill.client_id)
        contract, why_not = await _contract_step(bill, pricer, client.network_id if client else None)
        percentile = (client.uc_percentile if client else None) or settings.uc_percentile
        basis = (client.uc_basis if client else None) or settings.uc_basis
        facility = await pricer.registry_facility()
        uc = await usual_and_customary(session, bill, settings, facility, units, percentile, basis)
        if contract is not None:
            label = contract_label(contract)
            named = contract.terms.get("schedule")
            base = await _named_schedule(pricer, str(named)) if named not in (None, "medicare") else None
            await pricer.load()
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
                findings=contract_above_uc(bill, quotes, uc, label),
            )
        else:
            steps.append(DecisionStepV2(step="contract", applied=False, detail=why_not))
            what = (
                f"the stay as one service (MS-DRG {bill.drg}); its target shared over the lines by charge"
                if pricer.inpatient and bill.drg
                else "each line's target is the median of the reviews"
            )
            steps.append(
                DecisionStepV2(
                    step="usual_and_customary",
                    applied=True,
                    detail=f"three U&C reviews at the {percentile}th percentile of {basis}; {what}",
                )
            )
            decision = Decision(PricingMethod.usual_and_customary, uc_quotes(bill, uc), steps, uc=uc)
    decision.comparison_units = units
    edit_set = "practitioner" if pricer.professional else "hospital"
    codes = [line.procedure_code for line in bill.lines if line.procedure_code]
    uc_amounts = (
        {n: t.amount for n, t in decision.uc.targets.items() if t.amount is not None} if decision.uc else {}
    )
    decision.findings = [
        *decision.findings,
        *audit(
            bill.lines,
            edits=await reference.ptp_edits(edit_set, codes),
            limits=await reference.mue_limits(edit_set, codes),
            rvus=await reference.relative_values(pricer.year, codes) if pricer.professional else {},
            uc_amounts=uc_amounts,
            far_above_factor=settings.uc_far_above_factor,
        ),
    ]
    return decision
