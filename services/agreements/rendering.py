"""From an agreement's rows to its PDFs: as sent, executed (signatures stamped in, then sealed), and the
certificate of completion.

The executed copy is the same template version and the same terms rendered again with each signer's
typed name, title, time and IP in the signature blocks and the as-sent SHA-256 in the footer, then
certified once (``sealing.py``). Typst output is deterministic, so nothing but those stamps differs
from the document the signers saw.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from services.agreements.models import Agreement, AgreementTemplate, Recipient
from services.agreements.sealing import Sealer
from services.agreements.templates import CERTIFICATE_PATH, template_of
from services.agreements.terms import AgreementTerms, document_data, signature_block, timestamp
from shared.contracts import RecipientRole
from shared.documents import Template, render_pdf
from shared.errors import Unprocessable

ESIGN_CONSENT = (
    "I agree to sign this agreement electronically. I understand that my electronic signature has the "
    "same legal effect as a handwritten signature under the federal ESIGN Act (15 U.S.C. § 7001 et seq.) "
    "and the Uniform Electronic Transactions Act, that I may instead ask for a paper copy to sign by "
    "hand before signing here, and that I can download and keep a copy of this agreement."
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _party(agreement: Agreement, recipient: Recipient) -> str:
    if RecipientRole(recipient.role) is RecipientRole.provider:
        return agreement.provider_name or f"NPI {agreement.provider_npi}"
    return agreement.client_id


def signatures(agreement: Agreement, *, stamped: bool) -> list[dict[str, Any]]:
    return [
        signature_block(
            role=RecipientRole(r.role),
            party=_party(agreement, r),
            requested=", ".join(p for p in (r.name, r.title) if p),
            signed_name=r.signed_name if stamped else None,
            signed_title=r.signed_title if stamped else None,
            signed_at=r.signed_at if stamped else None,
            ip=r.ip if stamped else None,
        )
        for r in agreement.recipients
    ]


def agreement_data(agreement: Agreement, *, executed: bool) -> dict[str, Any]:
    assert agreement.terms is not None
    assert agreement.sent_at is not None
    assert agreement.expires_at is not None
    assert agreement.template_id is not None
    assert agreement.template_version is not None
    return document_data(
        agreement_id=agreement.id,
        terms=AgreementTerms.model_validate(agreement.terms),
        template_id=agreement.template_id,
        template_version=agreement.template_version,
        sent_on=agreement.sent_at.date(),
        expires_at=agreement.expires_at,
        signatures=signatures(agreement, stamped=executed),
        original_sha256=(agreement.document_sha256 or "") if executed else "",
    )


def _checked(pdf: bytes, max_bytes: int, what: str) -> bytes:
    if len(pdf) > max_bytes:
        raise Unprocessable(f"the {what} is {len(pdf)} bytes, over the {max_bytes}-byte limit")
    return pdf


async def render_original(agreement: Agreement, template: AgreementTemplate, max_bytes: int) -> bytes:
    pdf = await asyncio.to_thread(
        render_pdf, template_of(template), agreement_data(agreement, executed=False)
    )
    return _checked(pdf, max_bytes, "agreement")


def render_executed_sync(
    agreement: Agreement, template: AgreementTemplate, sealer: Sealer, max_bytes: int
) -> bytes:
    """Stamp and seal (blocking: about 10 ms of typst and 20 ms of pyHanko)."""
    stamped = render_pdf(template_of(template), agreement_data(agreement, executed=True))
    return _checked(sealer.seal(stamped, str(agreement.id)), max_bytes, "executed agreement")


def certificate_data(agreement: Agreement, sealer: Sealer, executed_sha256: str) -> dict[str, Any]:
    def text(value: str | None) -> str:
        return value or "—"

    return {
        "agreement_id": str(agreement.id),
        "case_id": str(agreement.case_id),
        "bill_id": str(agreement.bill_id),
        "template": {"id": text(agreement.template_id), "version": str(agreement.template_version)},
        "original_sha256": text(agreement.document_sha256),
        "executed_sha256": executed_sha256,
        "seal": {"subject": sealer.subject, "sha256": sealer.certificate_sha256},
        "sent_at": timestamp(agreement.sent_at) if agreement.sent_at else "—",
        "executed_at": timestamp(agreement.executed_at) if agreement.executed_at else "—",
        "signers": [
            {
                "order": str(r.order),
                "role": r.role,
                "name": ", ".join(p for p in (r.signed_name, r.signed_title) if p) or "—",
                "at": timestamp(r.signed_at) if r.signed_at else "—",
                "ip": text(r.ip),
                "user_agent": text(r.user_agent),
            }
            for r in agreement.recipients
        ],
        "steps": [
            {
                "at": timestamp(s.at),
                "step": s.step,
                "actor": s.actor,
                "role": text(s.role),
                "ip": text(s.ip),
                "user_agent": text(s.user_agent if s.user_agent else s.detail),
            }
            for s in agreement.steps
        ],
        "consent": ESIGN_CONSENT,
    }


def render_certificate_sync(agreement: Agreement, sealer: Sealer, executed_sha256: str) -> bytes:
    return render_pdf(
        Template.from_file(CERTIFICATE_PATH), certificate_data(agreement, sealer, executed_sha256)
    )
