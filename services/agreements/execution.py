"""Signatures and execution: a recipient signs through their link; the last signature executes the
agreement (signatures stamped into the document, one certification seal, certificate of completion),
all in the signing request's transaction."""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.agreements.lifecycle import (
    YOUR_TURN_JOB,
    AgreementStatus,
    Desk,
    RecipientStatus,
    cancel_expiry,
    check_may_act,
    next_recipient,
    recipient,
    step,
)
from services.agreements.links import OpenLink
from services.agreements.models import Agreement, AgreementDocument, jobs
from services.agreements.rendering import (
    ESIGN_CONSENT,
    render_certificate_sync,
    render_executed_sync,
    sha256,
)
from services.agreements.templates import get_version
from shared.bus.outbox import Tx
from shared.contracts import (
    AgreementCountersignedV1,
    AgreementExecutedV1,
    AgreementSignedV2,
    RecipientRole,
)
from shared.jobs import schedule


async def sign(
    tx: Tx,
    desk: Desk,
    opened: OpenLink,
    *,
    name: str,
    title: str | None,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
) -> Agreement:
    """Record ``opened``'s recipient signing as ``name``/``title`` (after consenting to ESIGN/UETA).
    Raises 409 (already signed, declined, ended, or not this recipient's turn)."""
    check_may_act(opened)
    agreement, who = opened.agreement, opened.recipient
    who.status = RecipientStatus.signed.value
    who.signed_name, who.signed_title, who.signed_at = name, title, now
    who.ip, who.user_agent, who.consent = ip, user_agent, ESIGN_CONSENT
    role = RecipientRole(who.role)
    bill = str(agreement.bill_id)
    if role is RecipientRole.provider:
        agreement.status = AgreementStatus.countersigning.value
        agreement.signed_at, agreement.signer_name, agreement.signer_title = now, name, title
        step(agreement, "signed", name, now, role=who.role, ip=ip, user_agent=user_agent, detail=title)
        await tx.emit(
            AgreementSignedV2(
                agreement_id=agreement.id,
                case_id=agreement.case_id,
                bill_id=agreement.bill_id,
                client_id=agreement.client_id,
                agreed_amount=agreement.agreed_amount,
                role=role,
                signer_name=name,
                signer_title=title,
                signed_at=now,
            ),
            subject=bill,
        )
    else:
        step(agreement, "countersigned", name, now, role=who.role, ip=ip, user_agent=user_agent, detail=title)
        await tx.emit(
            AgreementCountersignedV1(
                agreement_id=agreement.id,
                case_id=agreement.case_id,
                bill_id=agreement.bill_id,
                client_id=agreement.client_id,
                signer_name=name,
                signer_title=title,
                countersigned_at=now,
            ),
            subject=bill,
        )
    following = next_recipient(agreement)
    if following is None:
        await execute(tx, desk, agreement, now)
    elif following.email:
        await schedule(
            tx.session,
            jobs,
            YOUR_TURN_JOB,
            key=f"{agreement.id}:{following.order}",
            due_at=now,
            subject=str(agreement.bill_id),
            payload={"order": following.order},
        )
    return agreement


async def execute(tx: Tx, desk: Desk, agreement: Agreement, now: datetime) -> None:
    """Every recipient signed: stamp, seal and store the executed copy and the certificate of completion,
    cancel the expiry, emit ``agreement.executed``."""
    assert agreement.template_id is not None
    assert agreement.template_version is not None
    template = await get_version(tx.session, agreement.template_id, agreement.template_version)
    assert template is not None  # versions are never deleted
    limit = desk.settings.agreements_max_document_bytes
    agreement.status = AgreementStatus.executed.value
    agreement.executed_at = agreement.ended_at = now
    agreement.end_reason = "executed: signed by every recipient"
    executed = await asyncio.to_thread(render_executed_sync, agreement, template, desk.sealer, limit)
    executed_sha = sha256(executed)
    agreement.executed_sha256 = executed_sha
    agreement.seal_certificate_sha256 = desk.sealer.certificate_sha256
    step(
        agreement,
        "executed",
        "parley",
        now,
        detail=f"sealed by {desk.sealer.subject}; SHA-256 {executed_sha}",
    )
    certificate = await asyncio.to_thread(render_certificate_sync, agreement, desk.sealer, executed_sha)
    tx.session.add_all(
        [
            AgreementDocument(agreement_id=agreement.id, kind="executed", pdf=executed, sha256=executed_sha),
            AgreementDocument(
                agreement_id=agreement.id, kind="certificate", pdf=certificate, sha256=sha256(certificate)
            ),
        ]
    )
    await cancel_expiry(tx, agreement)
    provider = recipient(agreement, RecipientRole.provider)
    payer = recipient(agreement, RecipientRole.countersigner)
    assert agreement.document_sha256 is not None
    await tx.emit(
        AgreementExecutedV1(
            agreement_id=agreement.id,
            case_id=agreement.case_id,
            bill_id=agreement.bill_id,
            client_id=agreement.client_id,
            agreed_amount=agreement.agreed_amount,
            document_sha256=agreement.document_sha256,
            executed_sha256=executed_sha,
            provider_signer=provider.signed_name or provider.name,
            countersigner=payer.signed_name or payer.name,
            executed_at=now,
        ),
        subject=str(agreement.bill_id),
    )
