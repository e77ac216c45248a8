"""Agreements' staff API: agreements, their documents, links, deadlines, and verification of a PDF.

Case workers (negotiator, supervisor, auditor, admin) read the agreements of their clients; an agreement
of another client is 404. Reading a document or a certificate (they name the patient) is audited, as is
every change: a new signing link (negotiator, supervisor), a moved deadline (supervisor, admin).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.agreements import lifecycle, links
from services.agreements.lifecycle import OPEN, AgreementStatus, desk_for, recipient
from services.agreements.models import Agreement, idempotency_keys
from services.agreements.rendering import sha256
from services.agreements.repository import AgreementRepository
from services.agreements.schemas import (
    AgreementList,
    AgreementOut,
    DeadlineIn,
    LinkOut,
    SignatoryOut,
    VerifyOut,
)
from services.agreements.sealing import NotAPdf
from shared.auth import CASE_READERS, Identity, Role, audit, requires
from shared.contracts import RecipientRole
from shared.errors import Conflict, NotFound, Unprocessable
from shared.http import MAX_OFFSET
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep, runtime_of

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])
idempotency = Idempotency(idempotency_keys)
Reader = Annotated[Identity, requires(*CASE_READERS)]
AgreementId = Annotated[uuid.UUID, Path(description="The agreement's id.")]
PDF = {"content": {"application/pdf": {}}, "description": "The PDF."}


async def _agreement(
    repository: AgreementRepository, agreement_id: AgreementId, user: Identity, *, lock: bool = False
) -> Agreement:
    found = await repository.get(agreement_id, for_update=lock, clients=user.client_scope)
    if found is None:
        raise NotFound(f"no agreement {agreement_id}")
    return found


@router.get("", response_model=AgreementList, summary="List agreements")
async def list_agreements(
    session: SessionDep,
    user: Reader,
    bill_id: Annotated[uuid.UUID | None, Query(description="Only this bill's agreement.")] = None,
    case_id: Annotated[uuid.UUID | None, Query(description="Only this negotiation case's agreement.")] = None,
    client_id: Annotated[str | None, Query(description="Only this client's agreements.")] = None,
    status: Annotated[AgreementStatus | None, Query(description="Only agreements in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Agreements to skip (paging).")] = 0,
) -> AgreementList:
    """Agreements, newest first, filtered by bill, case, client or status
    (``sent``, ``countersigning``, ``executed``, ``declined``, ``expired``); only of your clients."""
    found = await AgreementRepository(session).search(
        bill_id=bill_id,
        case_id=case_id,
        client_id=client_id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
        clients=user.client_scope,
    )
    return AgreementList(items=[AgreementOut.model_validate(a) for a in found])


@router.post(
    "/verify",
    response_model=VerifyOut,
    summary="Verify an agreement PDF",
    openapi_extra={"requestBody": {"required": True, "content": {"application/pdf": {"schema": {}}}}},
)
async def verify(
    request: Request, tx: TxDep, user: Annotated[Identity, requires(*CASE_READERS, write=False)]
) -> VerifyOut:
    """Upload a PDF (the request body, ``application/pdf``): is it an intact executed Parley agreement,
    which one, and who signed it. Intact means the seal verifies, covers the whole file, was made with the
    certificate that sealed that agreement, and the bytes are the executed copy Parley stored. One changed
    byte makes it "not intact". The copy as sent for signature, or the certificate of completion, is
    named as such with its agreement (`stored_as`), and is "not intact": only the executed copy verifies.
    An agreement of a client you do not serve is not named. It changes
    nothing, so auditors may verify too (a POST only because the PDF is the body); when it names an
    agreement, the check is audited (`verify:agreement_document`). 413 over the body limit; 422 for an
    empty body, or one that is not a PDF (naming why: no `%PDF-` header, or a structure that cannot be
    read)."""
    body = await request.body()
    if not body:
        raise Unprocessable(
            "send the PDF as the request body",
            errors=[{"field": "body", "message": "empty", "type": "missing"}],
        )
    desk = desk_for(runtime_of(request).settings)
    repository = AgreementRepository(tx.session)
    digest = sha256(body)
    stored = await repository.by_document_sha256(digest)
    agreement: Agreement | None = None
    if stored is not None:
        agreement = await repository.get(stored.agreement_id, clients=user.client_scope)
    stored_as = STORED_AS.get(stored.kind) if stored is not None and agreement is not None else None
    try:
        seal = await asyncio.to_thread(desk.sealer.verify, body)
    except NotAPdf as exc:
        raise Unprocessable(
            f"the body is not a PDF: {exc}",
            errors=[{"field": "body", "message": f"not a PDF: {exc}", "type": "not_pdf"}],
        ) from exc
    if agreement is None and seal.agreement_hint:
        try:
            agreement = await repository.get(uuid.UUID(seal.agreement_hint), clients=user.client_scope)
        except ValueError:
            agreement = None
    if agreement is not None and agreement.seal_certificate_sha256 not in (
        None,
        desk.sealer.certificate_sha256,
    ):
        # Sealed before the certificate was rotated: check against the one that sealed it.
        seal = await asyncio.to_thread(desk.sealer.verify, body, agreement.seal_certificate_sha256)
    problems = list(seal.problems)
    matches = agreement is not None and agreement.executed_sha256 == digest
    if agreement is None:
        problems.append("no Parley agreement matches this document")
    elif stored_as is not None and stored_as != "executed":
        problems.insert(0, _not_the_executed_copy(agreement, stored_as))
    elif not matches:
        problems.append(f"it differs from the executed copy Parley stored for agreement {agreement.id}")
    intact = not problems
    if agreement is not None:
        detail = {"verdict": "intact" if intact else "not intact", "sha256": digest}
        await audit(
            tx,
            request,
            user,
            "verify:agreement_document",
            "agreement",
            agreement.id,
            agreement.client_id,
            detail,
        )
    return VerifyOut(
        intact=intact,
        verdict="intact" if intact else "not intact",
        problems=problems,
        agreement_id=agreement.id if agreement else None,
        matches_stored_copy=matches,
        stored_as=stored_as,
        sealed_by=seal.certificate_subject,
        sealed_at=seal.signed_at,
        signatories=[
            SignatoryOut(
                role=RecipientRole(r.role), name=r.signed_name, title=r.signed_title, signed_at=r.signed_at
            )
            for r in (agreement.recipients if agreement else [])
            if r.signed_at is not None
        ],
    )


STORED_AS = {"executed": "executed", "original": "as_sent", "certificate": "certificate"}


def _not_the_executed_copy(agreement: Agreement, stored_as: str) -> str:
    """Why a document Parley stored for ``agreement`` is not the one that verifies."""
    what = (
        f"this is agreement {agreement.id} as sent for signature"
        if stored_as == "as_sent"
        else f"this is the certificate of completion of agreement {agreement.id}"
    )
    if agreement.executed_at is not None:
        return (
            f"{what}, not its executed copy: only the executed, sealed copy verifies (executed "
            f"{agreement.executed_at:%Y-%m-%d}; GET /v1/agreements/{agreement.id}/document returns it)"
        )
    return f"{what}, not an executed copy: it has not been executed (it is {agreement.status})"


@router.get("/{agreement_id}", response_model=AgreementOut, summary="Read an agreement")
async def get_agreement(agreement_id: AgreementId, session: SessionDep, user: Reader) -> AgreementOut:
    """The agreement with its recipients (who signed, when, as whom) and every step of its trail."""
    return AgreementOut.model_validate(await _agreement(AgreementRepository(session), agreement_id, user))


@router.get(
    "/{agreement_id}/document",
    summary="The agreement's current PDF",
    response_class=Response,
    responses={200: PDF, 404: {"description": "No such agreement, or it predates stored documents."}},
)
async def get_document(
    agreement_id: AgreementId,
    request: Request,
    tx: TxDep,
    user: Reader,
    version: Annotated[
        Literal["current", "original"],
        Query(description="current: the executed copy once executed, else as sent; original: as sent."),
    ] = "current",
) -> Response:
    """The executed, sealed copy once executed; before that (or with ``version=original``) the document as
    sent. ``X-Document-SHA256`` carries its hash and ``X-Document-Kind`` says which (``executed`` or
    ``original``). The read is audited (the document names the patient)."""
    repository = AgreementRepository(tx.session)
    agreement = await _agreement(repository, agreement_id, user)
    executed = agreement.status == AgreementStatus.executed.value and version == "current"
    kind = "executed" if executed else "original"
    document = await repository.document(agreement_id, kind)
    if document is None:
        raise NotFound(f"agreement {agreement_id} has no stored {kind} document (it predates documents)")
    await audit(
        tx,
        request,
        user,
        "read:agreement_document",
        "agreement",
        agreement.id,
        agreement.client_id,
        {"kind": kind},
    )
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={
            "X-Document-SHA256": document.sha256,
            "X-Document-Kind": kind,
            "Content-Disposition": f'inline; filename="agreement-{agreement_id}-{kind}.pdf"',
        },
    )


@router.get(
    "/{agreement_id}/certificate",
    summary="The certificate of completion",
    response_class=Response,
    responses={
        200: PDF,
        404: {"description": "No such agreement."},
        409: {"description": "Not executed yet."},
    },
)
async def get_certificate(agreement_id: AgreementId, request: Request, tx: TxDep, user: Reader) -> Response:
    """A PDF naming the document, its SHA-256 as sent and as executed, the sealing certificate, and every
    step with time, IP and user agent. 409 until the agreement is executed. The read is audited."""
    repository = AgreementRepository(tx.session)
    agreement = await _agreement(repository, agreement_id, user)
    document = await repository.document(agreement_id, "certificate")
    if document is None:
        raise Conflict(f"agreement {agreement_id} is {agreement.status}: a certificate exists once executed")
    await audit(
        tx, request, user, "read:agreement_certificate", "agreement", agreement.id, agreement.client_id
    )
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={
            "X-Document-SHA256": document.sha256,
            "Content-Disposition": f'inline; filename="certificate-{agreement_id}.pdf"',
        },
    )


@router.post(
    "/{agreement_id}/recipients/{role}/link",
    response_model=LinkOut,
    status_code=201,
    summary="Issue a new signing link (resend)",
    responses={
        404: {"description": "No such agreement."},
        409: {"description": "The agreement is not open."},
    },
)
async def reissue_link(
    agreement_id: AgreementId,
    role: Annotated[RecipientRole, Path(description="provider or countersigner.")],
    request: Request,
    tx: TxDep,
    user: Annotated[Identity, requires(Role.negotiator, Role.supervisor)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A new link for the recipient in ``role`` (``provider`` or ``countersigner``); their previous link
    stops working at once (404). The new link is e-mailed when the recipient has an address and returned
    here once, to hand over by another channel otherwise. It expires at the agreement's deadline.
    Negotiators and supervisors; audited."""
    desk = desk_for(runtime_of(request).settings)

    async def apply() -> tuple[int, LinkOut]:
        agreement = await _agreement(AgreementRepository(tx.session), agreement_id, user, lock=True)
        if agreement.status not in OPEN:
            raise Conflict(f"agreement {agreement_id} is {agreement.status}; no link can be issued")
        who = recipient(agreement, role)
        if who.status != lifecycle.RecipientStatus.waiting.value:
            raise Conflict(f"the {role.value} already {who.status}")
        assert agreement.expires_at is not None
        now = datetime.now(UTC)
        token = await links.issue(tx.session, who, now=now, expires_at=agreement.expires_at)
        lifecycle.step(agreement, "link_reissued", user.subject, now, role=who.role)
        await audit(
            tx,
            request,
            user,
            "create:signing_link",
            "agreement",
            agreement.id,
            agreement.client_id,
            {"role": role.value},
        )
        await tx.session.flush()
        url = desk.link_url(token)
        emailed = await lifecycle.invite(desk, agreement, who, token)
        return 201, LinkOut(role=role, url=url, expires_at=agreement.expires_at, emailed=emailed)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/agreements/{agreement_id}/recipients/{role.value}/link",
        request_hash=fingerprint(""),
        action=apply,
    )


@router.post(
    "/{agreement_id}/deadline",
    response_model=AgreementOut,
    summary="Move the signing deadline",
    responses={404: {"description": "No such agreement."}, 409: {"description": "Not open, or in the past."}},
)
async def move_deadline(
    agreement_id: AgreementId,
    body: DeadlineIn,
    request: Request,
    tx: TxDep,
    user: Annotated[Identity, requires(Role.supervisor, Role.admin)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Move an open agreement's signing deadline (``expires_at``, with a time zone): every live link and
    the expiry move with it. 409 if the agreement is no longer open or the time is not in the future.
    Supervisors and admins; audited."""

    async def apply() -> tuple[int, AgreementOut]:
        agreement = await _agreement(AgreementRepository(tx.session), agreement_id, user, lock=True)
        before = agreement.expires_at
        await lifecycle.move_deadline(
            tx, agreement, body.expires_at.astimezone(UTC), user.subject, datetime.now(UTC)
        )
        await audit(
            tx,
            request,
            user,
            "update:agreement_deadline",
            "agreement",
            agreement.id,
            agreement.client_id,
            {"from": before.isoformat() if before else None, "to": body.expires_at.isoformat()},
        )
        await tx.session.flush()
        return 200, AgreementOut.model_validate(agreement)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/agreements/{agreement_id}/deadline",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
