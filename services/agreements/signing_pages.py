"""The signing page: public, authenticated only by the link's own token (``links.py``).

``GET /sign/{token}`` shows the terms and the document and, when it is this recipient's turn, the form:
explicit consent to sign electronically (ESIGN/UETA wording), typed name and title. ``POST`` signs;
``POST …/decline`` declines with a reason. Each records time, IP and user agent.

No CSRF token is needed: a forged cross-site post would have to know the link token, which is the
secret itself. Responses are never cached and send no Referer, so the token does not leak from the page.
Answers: 404 unknown or revoked link, 410 expired, 409 already signed / declined / not your turn yet,
413 a body over 16 KiB, 422 a form without consent, name or reason, or with a field too long or holding a
NUL character (the page again, naming the field).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from services.agreements import lifecycle
from services.agreements.execution import sign
from services.agreements.lifecycle import AgreementStatus, desk_for
from services.agreements.links import OpenLink, link_path, open_link
from services.agreements.rendering import ESIGN_CONSENT, agreement_data
from services.agreements.repository import AgreementRepository
from shared.contracts import RecipientRole
from shared.errors import PayloadTooLarge, ProblemError
from shared.service import TxDep, runtime_of
from shared.web import render

router = APIRouter(tags=["signing (public, by link)"])

Token = Annotated[str, Path(description="The link's token, from the invitation.")]
FORM_MAX_BYTES = 16 * 1024
NAME_MAX = 200
REASON_MAX = 2000

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


def _page(request: Request, status: int, title: str, **context: Any) -> HTMLResponse:
    context.setdefault("notice", None)
    context.setdefault("terms", None)
    context.setdefault("can_act", False)
    response = render(request, "sign.html", status_code=status, title=title, consent=ESIGN_CONSENT, **context)
    response.headers.update(_HEADERS)
    return response


def _problem_page(request: Request, exc: ProblemError) -> HTMLResponse:
    titles = {404: "Link not found", 409: "Nothing to sign here", 410: "Link expired", 413: "Too large"}
    return _page(request, exc.status_code, titles.get(exc.status_code, exc.title), notice=exc.detail)


def _client(request: Request) -> tuple[str | None, str | None]:
    ip = request.client.host if request.client else None
    user_agent = request.headers.get("user-agent")
    return ip, user_agent[:500] if user_agent else None


def _sign_page(
    request: Request,
    opened: OpenLink,
    token: str,
    status: int = 200,
    errors: list[str] | None = None,
    form: Any = None,
) -> HTMLResponse:
    agreement, who = opened.agreement, opened.recipient
    label = "the provider" if who.role == RecipientRole.provider.value else "the payer (countersignature)"
    can_act, notice = True, None
    try:
        lifecycle.check_may_act(opened)
    except ProblemError as exc:
        can_act, notice = False, exc.detail
    return _page(
        request,
        status,
        "Settlement & Release Agreement",
        notice=notice,
        terms=agreement_data(agreement, executed=False),
        can_act=can_act,
        recipient={"label": label, "name": who.name},
        document_url=link_path(token) + "/document",
        sign_url=link_path(token),
        decline_url=link_path(token) + "/decline",
        errors=errors or [],
        form=form or {},
    )


def _nul_errors(form: dict[str, str], fields: tuple[str, ...]) -> list[str]:
    """The fields holding U+0000, which the database refuses (it answered JSON instead of the page)."""
    return [
        f"{field}: contains the NUL character (U+0000), which cannot be stored; retype it"
        for field in fields
        if "\x00" in form.get(field, "")
    ]


def _shown(form: dict[str, str]) -> dict[str, str]:
    """The form as the page shows it back: without NULs (they cannot be stored or shown)."""
    return {k: v.replace("\x00", "") for k, v in form.items()}


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise PayloadTooLarge(f"the form is {len(body)} bytes; the limit is {FORM_MAX_BYTES}")
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


@router.get("/sign/{token}", response_class=HTMLResponse, summary="The signing page (public, by link)")
async def signing_page(token: Token, request: Request, tx: TxDep) -> Response:
    """The agreement's terms and document and, when it is this recipient's turn, the form to sign or
    decline. The first view by each recipient emits ``agreement.viewed``. 404 unknown or revoked link,
    410 expired; an agreement already signed by this recipient, declined or ended answers 409."""
    now = datetime.now(UTC)
    try:
        opened = await open_link(tx.session, token, now=now, for_update=True)
        lifecycle.check_may_act(opened)
    except ProblemError as exc:
        return _problem_page(request, exc)
    ip, user_agent = _client(request)
    await lifecycle.viewed(tx, opened, now, ip, user_agent)
    return _sign_page(request, opened, token)


@router.get("/sign/{token}/document", summary="The agreement's PDF (public, by link)")
async def signing_document(token: Token, request: Request, tx: TxDep) -> Response:
    """The document as sent, or the executed copy once both parties signed. 404 unknown link, 410 expired."""
    try:
        opened = await open_link(tx.session, token, now=datetime.now(UTC), for_update=False)
    except ProblemError as exc:
        return _problem_page(request, exc)
    agreement = opened.agreement
    kind = "executed" if agreement.status == AgreementStatus.executed.value else "original"
    document = await AgreementRepository(tx.session).document(agreement.id, kind)
    if document is None:
        return _page(request, 404, "No document", notice="this agreement has no stored document")
    headers = {
        **_HEADERS,
        # The signing page shows it in a frame; no other site may.
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
        "Content-Disposition": f'inline; filename="agreement-{agreement.id}.pdf"',
    }
    return Response(document.pdf, media_type="application/pdf", headers=headers)


@router.post("/sign/{token}", response_class=HTMLResponse, summary="Sign (public, by link)")
async def sign_by_link(token: Token, request: Request, tx: TxDep) -> Response:
    """Form fields: ``consent=yes`` (required: ESIGN/UETA consent), ``signer_name`` (required, up to 200),
    ``signer_title`` (up to 200). The countersignature executes the agreement: the signatures are
    stamped into the document, which is sealed, stored with its SHA-256 and a certificate of completion.
    404/410/409 as for the page; 413 over 16 KiB; 422 the page again naming what is missing."""
    now = datetime.now(UTC)
    try:
        form = await _form(request)
        opened = await open_link(tx.session, token, now=now, for_update=True)
        lifecycle.check_may_act(opened)
    except ProblemError as exc:
        return _problem_page(request, exc)
    errors = []
    if form.get("consent") != "yes":
        errors.append("consent: tick the box to agree to sign electronically")
    name, title = form.get("signer_name", ""), form.get("signer_title", "")
    if not name:
        errors.append("signer_name: type your full name")
    if len(name) > NAME_MAX or len(title) > NAME_MAX:
        errors.append(f"signer_name / signer_title: at most {NAME_MAX} characters")
    errors += _nul_errors(form, ("signer_name", "signer_title"))
    if errors:
        return _sign_page(request, opened, token, status=422, errors=errors, form=_shown(form))
    ip, user_agent = _client(request)
    desk = desk_for(runtime_of(request).settings)
    agreement = await sign(
        tx, desk, opened, name=name, title=title or None, now=now, ip=ip, user_agent=user_agent
    )
    if agreement.status == AgreementStatus.executed.value:
        notice = "Thank you: the agreement is signed by both parties and executed."
        detail = f"The executed copy is sealed; its SHA-256 is {agreement.executed_sha256}."
    else:
        notice = "Thank you: your signature is recorded. The payer countersigns next."
        detail = None
    return _page(request, 200, "Signed", notice=notice, detail=detail)


@router.post("/sign/{token}/decline", response_class=HTMLResponse, summary="Decline (public, by link)")
async def decline_by_link(token: Token, request: Request, tx: TxDep) -> Response:
    """Form field ``reason`` (required, up to 2000 characters): emits ``agreement.declined`` and the case
    goes back to negotiation with the reason. 404/410/409 as for the page; 413; 422 without a reason."""
    now = datetime.now(UTC)
    try:
        form = await _form(request)
        opened = await open_link(tx.session, token, now=now, for_update=True)
        lifecycle.check_may_act(opened)
    except ProblemError as exc:
        return _problem_page(request, exc)
    reason = form.get("reason", "")
    errors = _nul_errors(form, ("reason",))
    if not reason or len(reason) > REASON_MAX:
        errors.insert(0, f"reason: say why, in 1 to {REASON_MAX} characters")
    if errors:
        return _sign_page(request, opened, token, status=422, errors=errors)
    ip, user_agent = _client(request)
    await lifecycle.decline(tx, opened, reason, now, ip, user_agent)
    return _page(
        request, 200, "Declined", notice="You declined the agreement. The negotiator has your reason."
    )
