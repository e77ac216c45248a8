"""The agreed terms an agreement is built from, and the data a document template receives.

``case.agreed`` v2 carries everything the document needs (confirmed by both sides). Version 1 (releases
before negotiation's workbench) carries only the parties and the amounts; for it the document says what it
does not know in words a signer can act on ("as identified on the claim referenced above"), and payment
terms come from ``PARLEY_AGREEMENTS_DEFAULT_PAY_WITHIN_DAYS``. Nothing is invented: no patient, dates or
jurisdiction.

Templates get strings only (money and dates already formatted, missing values as ``""`` with a ``has_…``
flag), so a template that compiles with the sample data compiles with any agreement.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from num2words import num2words
from pydantic import BaseModel, ConfigDict

from shared.contracts import (
    CaseAgreedV1,
    CaseAgreedV2,
    PatientRef,
    PaymentTerms,
    ProviderRef,
    RecipientRole,
    Signer,
)

CENT = Decimal("0.01")

STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "the District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana",
    "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "VI": "the U.S. Virgin Islands", "GU": "Guam", "AS": "American Samoa",
    "MP": "the Northern Mariana Islands",
}  # fmt: skip


# Four states style themselves commonwealths in their laws' titles.
COMMONWEALTHS = frozenset({"KY", "MA", "PA", "VA"})


def governing_law(state: str) -> str:
    """``"FL"`` → ``"the State of Florida"``; DC and territories by their names."""
    name = STATE_NAMES.get(state, state)
    if state in COMMONWEALTHS:
        return f"the Commonwealth of {name}"
    if state in STATE_NAMES and not name.startswith("the ") and state not in ("PR", "GU", "AS"):
        return f"the State of {name}"
    return name


class AgreementTerms(BaseModel):
    """What an agreement is made from; stored as JSON on the agreement (it holds the patient reference)."""

    model_config = ConfigDict(frozen=True)

    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    offer_id: uuid.UUID | None = None
    partner_claim_id: str | None = None
    provider: ProviderRef
    patient: PatientRef | None = None
    service_from: date | None = None
    service_to: date | None = None
    jurisdiction: str | None = None
    billed: Decimal
    agreed_amount: Decimal
    payment: PaymentTerms
    statement_sha256: str | None = None
    provider_signer: Signer | None = None
    payer_signer: Signer | None = None
    agreed_at: datetime
    contract_version: int  # the case.agreed version the terms came from

    @classmethod
    def from_event(cls, agreed: CaseAgreedV1 | CaseAgreedV2, default_pay_within_days: int) -> AgreementTerms:
        if isinstance(agreed, CaseAgreedV1):
            return cls(
                case_id=agreed.case_id,
                bill_id=agreed.bill_id,
                client_id=agreed.client_id,
                offer_id=agreed.offer_id,
                provider=agreed.provider,
                billed=agreed.billed,
                agreed_amount=agreed.agreed_amount,
                payment=PaymentTerms(pay_within_days=default_pay_within_days),
                agreed_at=agreed.agreed_at,
                contract_version=1,
            )
        return cls(
            case_id=agreed.case_id,
            bill_id=agreed.bill_id,
            client_id=agreed.client_id,
            offer_id=agreed.offer_id,
            partner_claim_id=agreed.partner_claim_id,
            provider=agreed.provider,
            patient=agreed.patient,
            service_from=agreed.service_from,
            service_to=agreed.service_to,
            jurisdiction=agreed.jurisdiction,
            billed=agreed.billed,
            agreed_amount=agreed.agreed_amount,
            payment=agreed.terms,
            statement_sha256=agreed.statement_sha256,
            provider_signer=agreed.provider_signer,
            payer_signer=agreed.payer_signer,
            agreed_at=agreed.agreed_at,
            contract_version=2,
        )

    def recipients(self) -> list[tuple[RecipientRole, Signer]]:
        """Who signs, in order. Without a named signer the recipient is the party's authorised
        representative; whoever signs types their own name and title on the page."""
        provider = self.provider_signer or Signer(
            name=f"Authorized representative of {self.provider.name or 'NPI ' + self.provider.npi}"
        )
        payer = self.payer_signer or Signer(name=f"Authorized signer for {self.client_id}")
        return [(RecipientRole.provider, provider), (RecipientRole.countersigner, payer)]


# --- formatting -------------------------------------------------------------------------------------


def figures(amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"$1,234.50"``."""
    return f"${amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def words(amount: Decimal) -> str:
    """Amount in words the way US settlement documents and checks write it:
    ``Decimal("1234.50")`` → ``"One Thousand, Two Hundred Thirty-Four and 50/100 Dollars"``."""
    cents = amount.quantize(CENT, ROUND_HALF_UP)
    dollars = int(cents)
    # num2words writes British "two hundred and thirty-four"; US legal style drops the "and", which is
    # kept for the cents ("… and 50/100").
    spelled = str(num2words(dollars, lang="en")).replace(" and ", " ")
    spelled = " ".join(
        part.capitalize() if "-" not in part else _hyphen_title(part) for part in spelled.split()
    )
    return f"{spelled} and {int((cents - dollars) * 100):02d}/100 Dollars"


def _hyphen_title(word: str) -> str:
    return "-".join(piece.capitalize() for piece in word.split("-"))


def money(amount: Decimal) -> dict[str, str]:
    return {"figures": figures(amount), "words": words(amount)}


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def patient_reference(patient: PatientRef | None) -> str:
    """Minimum necessary: name and date of birth, or the client's member reference."""
    if patient is None:
        return ""
    name = " ".join(p for p in (patient.first_name, patient.last_name) if p)
    if name and patient.birth_date:
        return f"{name}, born {long_date(patient.birth_date)}"
    if patient.member_id:
        return f"{name + ', ' if name else ''}member reference {patient.member_id}"
    return name


def service_dates(terms: AgreementTerms) -> str:
    if terms.service_from is None:
        return ""
    if terms.service_to is None or terms.service_to == terms.service_from:
        return long_date(terms.service_from)
    return f"{long_date(terms.service_from)} through {long_date(terms.service_to)}"


def _address(provider: ProviderRef) -> str:
    a = provider.address
    if a is None:
        return ""
    return ", ".join(p for p in (a.line1, a.line2, a.city, f"{a.state} {a.zip}") if p)


def document_data(
    *,
    agreement_id: uuid.UUID,
    terms: AgreementTerms,
    template_id: str,
    template_version: int,
    sent_on: date,
    expires_at: datetime,
    signatures: list[dict[str, Any]],
    original_sha256: str = "",
) -> dict[str, Any]:
    """The JSON a template reads (``#let data = json(bytes(sys.inputs.data))``); see the README's
    "Writing a template" for every field. ``signatures`` come from :func:`signature_block`."""
    quick = terms.payment.quick_pay
    state = terms.jurisdiction or ""
    return {
        "agreement_id": str(agreement_id),
        "template": {"id": template_id, "version": str(template_version)},
        "sent_on": long_date(sent_on),
        "sign_by": long_date(expires_at.date()),
        "payer": {"name": terms.client_id, "client_id": terms.client_id},
        "provider": {
            "name": terms.provider.name or "",
            "npi": terms.provider.npi,
            "tin": terms.provider.tin,
            "address": _address(terms.provider),
        },
        "claim": {"partner_claim_id": terms.partner_claim_id or "", "bill_id": str(terms.bill_id)},
        "has_claim_number": terms.partner_claim_id is not None,
        "patient": patient_reference(terms.patient),
        "has_patient": bool(patient_reference(terms.patient)),
        "service_dates": service_dates(terms),
        "has_service_dates": terms.service_from is not None,
        "billed": money(terms.billed),
        "agreed": money(terms.agreed_amount),
        "reduction": money(terms.billed - terms.agreed_amount),
        "payment": {"pay_within_days": str(terms.payment.pay_within_days)},
        "has_quick_pay": quick is not None,
        "quick_pay": {
            "discount_percent": f"{quick.discount_percent.normalize():f}" if quick else "",
            "pay_within_days": str(quick.pay_within_days) if quick else "",
            "amount": money(quick.amount) if quick else {"figures": "", "words": ""},
        },
        "jurisdiction": {"code": state, "name": governing_law(state) if state else ""},
        "has_jurisdiction": bool(state),
        "statement_sha256": terms.statement_sha256 or "",
        "has_statement": terms.statement_sha256 is not None,
        "signatures": signatures,
        "executed": bool(original_sha256),
        "original_sha256": original_sha256,
    }


def signature_block(
    *,
    role: RecipientRole,
    party: str,
    requested: str,
    signed_name: str | None = None,
    signed_title: str | None = None,
    signed_at: datetime | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """One signature block: who is asked to sign for which party and, once signed, what they typed."""
    return {
        "role": role.value,
        "label": "Provider" if role is RecipientRole.provider else "Payer",
        "party": party,
        "requested": requested,
        "signed": signed_at is not None,
        "name": signed_name or "",
        "title": signed_title or "",
        "at": timestamp(signed_at) if signed_at else "",
        "ip": ip or "",
    }
