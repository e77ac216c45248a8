"""An agreement's life: sent with all its links → provider signs → payer countersigns → executed (stamped,
sealed, certificate of completion); or declined by a recipient, or expired at the signing deadline.

Each transition writes its state, its trail step and its events in the caller's transaction, so an
agreement is sent with every link and its expiry job or not at all, and is executed with both PDFs stored
or not at all.

Events: ``agreement.sent`` v2, ``agreement.viewed``, ``agreement.signed`` v2 (provider),
``agreement.countersigned``, ``agreement.declined``, ``agreement.expired``, ``agreement.executed``
(negotiation settles the case on it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from services.agreements import links
from services.agreements.config import AgreementsSettings
from services.agreements.mail import Mailer, invitation
from services.agreements.models import Agreement, AgreementDocument, AgreementStep, Recipient, jobs
from services.agreements.rendering import render_original, sha256
from services.agreements.sealing import Sealer
from services.agreements.templates import template_for
from services.agreements.terms import AgreementTerms, long_date
from shared.bus.outbox import Tx
from shared.business_days import add_business_days
from shared.contracts import (
    AgreementDeclinedV1,
    AgreementExpiredV1,
    AgreementSentV2,
    AgreementViewedV1,
    RecipientRole,
    RecipientV1,
)
from shared.errors import Conflict
from shared.jobs import cancel, schedule
from shared.settings import Settings

EXPIRE_JOB = "agreement.expire"
YOUR_TURN_JOB = "agreement.invite_next"


class AgreementStatus(StrEnum):
    sent = "sent"  # waiting for the provider's signature
    countersigning = "countersigning"  # the provider signed; waiting for the payer side
    executed = "executed"  # both signed; sealed copy stored
    declined = "declined"
    expired = "expired"


OPEN = (AgreementStatus.sent.value, AgreementStatus.countersigning.value)


class RecipientStatus(StrEnum):
    waiting = "waiting"
    signed = "signed"
    declined = "declined"


@dataclass(frozen=True)
class Desk:
    """What the agreements service works with besides the database: settings, the seal, the mail."""

    settings: AgreementsSettings
    sealer: Sealer
    mailer: Mailer

    def link_url(self, token: str) -> str:
        return self.settings.agreements_public_url.rstrip("/") + links.link_path(token)


_desks: dict[int, Desk] = {}


def desk_for(settings: Settings) -> Desk:
    """One desk per settings object (the handlers, the jobs and the API share it). Loads the certificate.
    Keyed by identity: settings hold dicts, so they are not hashable."""
    assert isinstance(settings, AgreementsSettings)  # the service's settings class
    desk = _desks.get(id(settings))
    if desk is None or desk.settings is not settings:
        desk = _desks[id(settings)] = Desk(settings, Sealer.from_settings(settings), Mailer(settings))
    return desk


def signing_deadline(sent_at: datetime, business_days: int) -> datetime:
    """End (23:59:59 UTC) of the ``business_days``-th US business day after ``sent_at``."""
    day = add_business_days(sent_at.astimezone(UTC).date(), business_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def step(agreement: Agreement, name: str, actor: str, at: datetime, **extra: str | None) -> None:
    agreement.steps.append(AgreementStep(step=name, actor=actor, at=at, **extra))


def next_recipient(agreement: Agreement) -> Recipient | None:
    return next((r for r in agreement.recipients if r.status == RecipientStatus.waiting.value), None)


def recipient(agreement: Agreement, role: RecipientRole) -> Recipient:
    return next(r for r in agreement.recipients if r.role == role.value)


async def send(tx: Tx, desk: Desk, terms: AgreementTerms, now: datetime) -> Agreement:
    """Draft the document from ``terms``, issue every recipient's link, schedule the expiry, emit
    ``agreement.sent`` and mail the invitations: all in ``tx``."""
    session = tx.session
    template = await template_for(session, terms.client_id)
    expires_at = signing_deadline(now, desk.settings.agreements_signing_business_days)
    agreement = Agreement(
        id=uuid.uuid4(),
        case_id=terms.case_id,
        offer_id=terms.offer_id,
        bill_id=terms.bill_id,
        client_id=terms.client_id,
        partner_claim_id=terms.partner_claim_id,
        provider_npi=terms.provider.npi,
        provider_tin=terms.provider.tin,
        provider_name=terms.provider.name,
        billed=terms.billed,
        agreed_amount=terms.agreed_amount,
        status=AgreementStatus.sent.value,
        terms=terms.model_dump(mode="json"),
        template_id=template.template_id,
        template_version=template.version,
        created_at=now,
        sent_at=now,
        expires_at=expires_at,
        steps=[],
        recipients=[
            Recipient(
                id=uuid.uuid4(),
                order=order,
                role=role.value,
                name=signer.name,
                email=signer.email,
                title=signer.title,
                user_id=signer.user_id,
                status=RecipientStatus.waiting.value,
            )
            for order, (role, signer) in enumerate(terms.recipients(), start=1)
        ],
    )
    pdf = await render_original(agreement, template, desk.settings.agreements_max_document_bytes)
    agreement.document_sha256 = sha256(pdf)
    step(agreement, "drafted", "parley", now, detail=f"template {template.template_id} v{template.version}")
    step(agreement, "sent", "parley", now, detail=f"links to {len(agreement.recipients)} recipients")
    session.add(agreement)
    session.add(
        AgreementDocument(
            agreement_id=agreement.id, kind="original", pdf=pdf, sha256=agreement.document_sha256
        )
    )
    await session.flush()
    tokens = {
        r.id: await links.issue(session, r, now=now, expires_at=expires_at) for r in agreement.recipients
    }
    await session.flush()
    await schedule(
        session, jobs, EXPIRE_JOB, key=str(agreement.id), due_at=expires_at, subject=str(agreement.bill_id)
    )
    await tx.emit(
        AgreementSentV2(
            agreement_id=agreement.id,
            case_id=agreement.case_id,
            bill_id=agreement.bill_id,
            client_id=agreement.client_id,
            agreed_amount=agreement.agreed_amount,
            template_id=template.template_id,
            template_version=template.version,
            document_sha256=agreement.document_sha256,
            recipients=[
                RecipientV1(order=r.order, role=RecipientRole(r.role), name=r.name, email=r.email)
                for r in agreement.recipients
            ],
            expires_at=expires_at,
            sent_at=now,
        ),
        subject=str(agreement.bill_id),
    )
    # The first recipient is invited now; the next one when it is their turn (``YOUR_TURN_JOB``), so a
    # countersigner never gets a link that cannot be used yet. Every link exists from now on.
    first = agreement.recipients[0]
    await invite(desk, agreement, first, tokens[first.id])
    return agreement


async def invite(desk: Desk, agreement: Agreement, who: Recipient, token: str) -> bool:
    """E-mail ``who`` their link, if they have an address. False if there was nowhere to send it."""
    if not who.email:
        return False
    assert agreement.expires_at is not None
    await desk.mailer.send(
        invitation(
            desk.settings,
            to=who.email,
            name=who.name,
            url=desk.link_url(token),
            provider_name=agreement.provider_name or f"NPI {agreement.provider_npi}",
            claim=agreement.partner_claim_id or str(agreement.bill_id),
            sign_by=long_date(agreement.expires_at.date()),
            waits_for_provider=who.role == RecipientRole.countersigner.value
            and agreement.status == AgreementStatus.sent.value,
        )
    )
    return True


async def invite_next(tx: Tx, desk: Desk, agreement: Agreement, order: int, now: datetime) -> bool:
    """It is recipient ``order``'s turn: a fresh link, e-mailed (the job ``YOUR_TURN_JOB`` runs this, so a
    mail server that is down delays the invitation, never the signature before it). False if the
    agreement moved on or the recipient has no address (staff resend the link then)."""
    who = next_recipient(agreement)
    if agreement.status not in OPEN or who is None or who.order != order or not who.email:
        return False
    assert agreement.expires_at is not None
    token = await links.issue(tx.session, who, now=now, expires_at=agreement.expires_at)
    step(agreement, "invited", "parley", now, role=who.role, detail=f"link e-mailed to {who.email}")
    await tx.session.flush()
    return await invite(desk, agreement, who, token)


async def viewed(
    tx: Tx, opened: links.OpenLink, now: datetime, ip: str | None, user_agent: str | None
) -> None:
    """Record a view in the trail; the first view by each recipient is also an ``agreement.viewed`` event."""
    agreement, who = opened.agreement, opened.recipient
    step(agreement, "viewed", who.name, now, role=who.role, ip=ip, user_agent=user_agent)
    if who.viewed_at is None:
        who.viewed_at = now
        await tx.emit(
            AgreementViewedV1(
                agreement_id=agreement.id,
                case_id=agreement.case_id,
                bill_id=agreement.bill_id,
                client_id=agreement.client_id,
                role=RecipientRole(who.role),
                viewed_at=now,
            ),
            subject=str(agreement.bill_id),
        )


def check_may_act(opened: links.OpenLink) -> None:
    """409 unless this recipient is the one the agreement waits for."""
    agreement, who = opened.agreement, opened.recipient
    if who.status == RecipientStatus.signed.value:
        raise Conflict(f"already signed on {who.signed_at:%Y-%m-%d %H:%M} UTC")
    if who.status == RecipientStatus.declined.value:
        raise Conflict("you declined this agreement")
    if agreement.status not in OPEN:
        raise Conflict(f"this agreement is {agreement.status}; nothing is left to sign")
    waiting = next_recipient(agreement)
    if waiting is not None and waiting.id != who.id:
        raise Conflict("the provider signs first; this link works once the provider has signed")


async def decline(
    tx: Tx, opened: links.OpenLink, reason: str, now: datetime, ip: str | None, user_agent: str | None
) -> None:
    check_may_act(opened)
    agreement, who = opened.agreement, opened.recipient
    who.status = RecipientStatus.declined.value
    who.ip, who.user_agent = ip, user_agent
    agreement.status = AgreementStatus.declined.value
    agreement.ended_at, agreement.end_reason = now, reason
    step(agreement, "declined", who.name, now, role=who.role, ip=ip, user_agent=user_agent, detail=reason)
    await cancel_expiry(tx, agreement)
    await tx.emit(
        AgreementDeclinedV1(
            agreement_id=agreement.id,
            case_id=agreement.case_id,
            bill_id=agreement.bill_id,
            client_id=agreement.client_id,
            role=RecipientRole(who.role),
            signer_name=who.name,
            reason=reason,
            declined_at=now,
        ),
        subject=str(agreement.bill_id),
    )


async def expire(tx: Tx, agreement: Agreement, now: datetime) -> bool:
    """The signing deadline passed with the agreement still open. False if it had already ended."""
    if agreement.status not in OPEN:
        return False
    waiting = next_recipient(agreement)
    agreement.status = AgreementStatus.expired.value
    agreement.ended_at = now
    agreement.end_reason = f"not signed by the deadline {agreement.expires_at:%Y-%m-%d %H:%M} UTC"
    step(agreement, "expired", "parley", now, role=waiting.role if waiting else None)
    await tx.emit(
        AgreementExpiredV1(
            agreement_id=agreement.id,
            case_id=agreement.case_id,
            bill_id=agreement.bill_id,
            client_id=agreement.client_id,
            waiting_for=RecipientRole(waiting.role) if waiting else None,
            expired_at=now,
        ),
        subject=str(agreement.bill_id),
    )
    return True


async def cancel_expiry(tx: Tx, agreement: Agreement) -> None:
    await cancel(tx.session, jobs, EXPIRE_JOB, key=str(agreement.id))


async def move_deadline(
    tx: Tx, agreement: Agreement, expires_at: datetime, actor: str, now: datetime
) -> None:
    """A supervisor moves the signing deadline of an open agreement: every live link and the expiry job."""
    if agreement.status not in OPEN:
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; its deadline no longer matters")
    if expires_at <= now + timedelta(seconds=1):
        raise Conflict("the new deadline must be in the future")
    before = agreement.expires_at
    agreement.expires_at = expires_at
    await links.move_expiry(tx.session, agreement, expires_at)
    await schedule(
        tx.session, jobs, EXPIRE_JOB, key=str(agreement.id), due_at=expires_at,
        subject=str(agreement.bill_id), replace=True,
    )  # fmt: skip
    step(
        agreement,
        "deadline_moved",
        actor,
        now,
        detail=f"{before:%Y-%m-%d %H:%M:%S} → {expires_at:%Y-%m-%d %H:%M:%S} UTC",
    )
