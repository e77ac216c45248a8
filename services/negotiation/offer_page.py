"""The provider's offer page: public, opened by a link whose token is its only credential.

``GET /offers/{token}`` shows the payer's offer, its basis, the payment terms with the quick-pay
incentive, and the pricing evidence per line (billed, the three U&C reviews, the target; the audit
findings), naming the claim by its reference only: no patient data. The provider accepts (which confirms
the terms shown, in the name it gives), counters with an amount and a note, or declines with a reason;
the page then shows what happened. Unknown link: 404; the offer's validity ended: 410.

The forms post to the link itself. There is no session to ride on (the token in the path is the
credential), so a cross-site post would need the token: no CSRF token is needed here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.negotiation import offer_links
from services.negotiation.cases import CaseStatus, log
from services.negotiation.client_settings import settings_for
from services.negotiation.deadlines import EASTERN
from services.negotiation.events import quick_pay_of
from services.negotiation.models import Case, Offer
from services.negotiation.offers import OfferStatus
from services.negotiation.strategy import money, percent
from shared.errors import ProblemError, Unprocessable
from shared.service import TxDep
from shared.web import render

router = APIRouter(tags=["provider offer page"], include_in_schema=False)

# Fields are checked after the link (an unknown link is 404 whatever the form holds), by ``_field``, so
# a field too long or with a NUL comes back as the page with the error, like every other form error
# (declared limits answered JSON, and a NUL reached the database).
FormText = Annotated[str, Form()]
NAME_MAX = 200
TEXT_MAX = 2000


def _field(value: str, what: str, limit: int, *, required: bool = True) -> str:
    text = value.strip()
    if "\x00" in text:
        raise Unprocessable(f"{what} contains the NUL character (U+0000), which cannot be stored")
    if len(text) > limit:
        raise Unprocessable(f"{what} is too long: at most {limit:,} characters")
    if required and not text:
        raise Unprocessable(f"{what} is needed")
    return text


DONE = {
    OfferStatus.accepted.value: "You accepted this offer and confirmed its terms. Thank you: the settlement "
    "agreement follows for signature.",
    OfferStatus.countered.value: "You answered this offer with a counter-offer; the negotiator will reply.",
    OfferStatus.declined.value: "You declined this offer; the negotiator has your reason.",
    OfferStatus.superseded.value: "This offer was replaced by a newer one: ask the negotiator for its link.",
    OfferStatus.withdrawn.value: "This offer was withdrawn.",
    OfferStatus.expired.value: "This offer expired.",
}


def _error(request: Request, problem: ProblemError) -> HTMLResponse:
    return render(request, "offer_error.html", status_code=problem.status_code, problem=problem)


async def _context(session: Any, case: Case, offer: Offer) -> dict[str, Any]:
    settings = await settings_for(session, case.client_id)
    evidence = case.evidence or {}
    return {
        "case": case,
        "offer": offer,
        "claim": await offer_links.claim_reference(session, case),
        "quick_pay": quick_pay_of(offer),
        "payment_terms_days": settings.payment_terms_days,
        "expires": offer.expires_at.astimezone(EASTERN) if offer.expires_at else None,
        "lines": evidence.get("lines", []),
        "findings": evidence.get("findings", []),
        "uc": evidence.get("uc"),
        "done": DONE.get(offer.status),
        "money": money,
        "percent": percent,
        "Decimal": Decimal,
    }


@router.get("/offers/{token}", response_class=HTMLResponse, name="offer_page")
async def offer_page(token: str, request: Request, tx: TxDep) -> HTMLResponse:
    """The provider's view of one payer offer (public: the link's token is the credential). The first
    view is recorded on the case, so the negotiator knows the provider opened it."""
    now = datetime.now(UTC)
    try:
        case, offer = await offer_links.resolve(tx.session, token, now, for_update=True)
    except ProblemError as problem:
        return _error(request, problem)
    if offer.link_viewed_at is None:
        offer.link_viewed_at = now
        log(
            tx.session,
            case,
            "offer_page",
            "link_viewed",
            f"the provider opened the link to the offer of {money(offer.amount)}",
            now,
        )
    context = await _context(tx.session, case, offer)
    return render(request, "offer.html", **context, token=token, error=request.query_params.get("error"))


async def _answer(request: Request, tx: TxDep, token: str, apply: Any) -> Response:
    now = datetime.now(UTC)
    try:
        case, offer = await offer_links.resolve(tx.session, token, now, for_update=True)
        if case.status != CaseStatus.open.value and offer.status == OfferStatus.open.value:
            raise Unprocessable("this case is no longer taking answers; ask the negotiator")
        async with tx.session.begin_nested():  # a refused answer leaves nothing behind
            await apply(case, offer, now)
    except ProblemError as problem:
        if problem.status_code in (404, 410):
            return _error(request, problem)
        return RedirectResponse(f"/offers/{token}?error={quote(problem.detail[:300])}", status_code=303)
    return RedirectResponse(f"/offers/{token}", status_code=303)


@router.post("/offers/{token}/accept")
async def accept(
    token: str, request: Request, tx: TxDep, name: FormText = "", title: FormText = ""
) -> Response:
    """Accept the offer and confirm its terms, as ``name`` (``title``)."""

    async def apply(case: Case, offer: Offer, now: datetime) -> None:
        who = _field(name, "your name (who confirms the terms)", NAME_MAX)
        role = _field(title, "your title", NAME_MAX, required=False)
        await offer_links.accept(tx, case, offer, who, role or None, now)

    return await _answer(request, tx, token, apply)


@router.post("/offers/{token}/counter")
async def counter(
    token: str, request: Request, tx: TxDep, name: FormText = "", amount: FormText = "", note: FormText = ""
) -> Response:
    """Counter with an amount (dollars) and a note."""

    async def apply(case: Case, offer: Offer, now: datetime) -> None:
        who = _field(name, "your name", NAME_MAX)
        remark = _field(note, "the note", TEXT_MAX, required=False)
        try:
            value = Decimal(_field(amount, "the counter-offer", 40).replace(",", "").replace("$", ""))
            if not value.is_finite():  # "NaN" parses, then cannot be compared with the billed charge
                raise InvalidOperation
            value = value.quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise Unprocessable("the counter-offer must be an amount in dollars, e.g. 1250.00") from exc
        await offer_links.counter(tx, case, offer, value, remark or None, who, now)

    return await _answer(request, tx, token, apply)


@router.post("/offers/{token}/decline")
async def decline(
    token: str,
    request: Request,
    tx: TxDep,
    name: FormText = "",
    reason: FormText = "",
) -> Response:
    """Decline the offer with a reason."""

    async def apply(case: Case, offer: Offer, now: datetime) -> None:
        why = _field(reason, "a reason", TEXT_MAX)
        await offer_links.decline(tx, case, offer, why, _field(name, "your name", NAME_MAX), now)

    return await _answer(request, tx, token, apply)
