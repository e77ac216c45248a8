"""The pricing statement: one plain-text document per pricing revision, to attach to an offer or an
agreement. It is rendered once, stored with its SHA-256 (carried in ``bill.priced``), and served as
stored, so a copy attached months ago can be checked against the original.
"""

from __future__ import annotations

import hashlib

from shared.contracts import BillPricedV2, BillReceivedV1


def _money(value: object) -> str:
    return "—" if value is None else str(value)


def render(priced: BillPricedV2, bill: BillReceivedV1) -> str:
    provider, facility = bill.provider, bill.facility
    out = [
        "PARLEY PRICING STATEMENT",
        f"Bill {priced.bill_id} · claim {bill.partner_claim_id} (revision {priced.bill_revision}) · "
        f"client {priced.client_id}",
        f"Provider {provider.name or ''} NPI {provider.npi} TIN {provider.tin} · facility "
        f"{facility.name or ''} {facility.npi or ''} {facility.state} {facility.zip}".replace("  ", " "),
        f"Pricing {priced.pricing_id} · revision {priced.revision} ({priced.trigger}) · priced "
        f"{priced.priced_at.isoformat()}",
        f"Method: {priced.method.value} · jurisdiction {priced.jurisdiction}",
        "",
        "DECISION",
    ]
    for i, step in enumerate(priced.decision, start=1):
        out.append(f"{i}. {step.step}: {'applied' if step.applied else 'not applied'} — {step.detail}")
    out += ["", "LINES"]
    for line in priced.lines:
        out.append(
            f"Line {line.line_number} · {line.code or '(no code)'} {' '.join(line.modifiers)} · units "
            f"{line.units} · billed {line.billed} · amount {_money(line.method_amount)} · allowed "
            f"{_money(line.allowed)}"
        )
        out.append(f"  {line.reason or line.basis}")
    uc = priced.usual_and_customary
    if uc is not None:
        out += [
            "",
            f"USUAL AND CUSTOMARY REVIEWS ({uc.percentile}th percentile of {uc.basis}; a scope needs "
            f"at least {uc.min_observations} observations)",
        ]
        for rv in uc.reviews:
            out.append(f"{rv.kind.value}: total {rv.total}")
            for rl in rv.lines:
                path = " → ".join(
                    f"{s.scope} ({s.observations}{', used' if s.used else ''})" for s in rl.steps
                )
                value = (
                    f"{rl.allowance} ({rl.per_unit} per unit, {rl.observations} observations, {rl.scope})"
                    if rl.allowance is not None
                    else "no allowance"
                )
                where = "the stay" if rl.line_number == 0 else f"line {rl.line_number}"
                out.append(
                    f"  {where}: {value}; scopes: {path or 'none'}" + (f"; {rl.note}" if rl.note else "")
                )
        out.append(f"Median of the reviews, summed over lines: {uc.median_total}")
    out += ["", "FINDINGS"]
    if not priced.findings:
        out.append("none")
    for finding in priced.findings:
        where = f"line {finding.line_number}" if finding.line_number is not None else "bill"
        out.append(f"{where} · {finding.rule} · at stake {finding.amount_at_stake} · {finding.detail}")
    out += [
        "",
        f"TOTALS billed {priced.total_billed} · allowed {priced.total_allowed} · billed on unpriced lines "
        f"{priced.unpriced_billed}",
    ]
    return "\n".join(out) + "\n"


def sha256(statement: str) -> str:
    return hashlib.sha256(statement.encode()).hexdigest()
