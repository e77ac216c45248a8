"""Provider links to a payer offer: an unguessable token, kept only as its SHA-256, expiring with the offer.

The link is the provider's whole credential for the offer page (offer_page.py): it shows that one offer,
its basis and the pricing evidence (codes and dollars; no patient data beyond the claim reference), and
takes the provider's answer. An unknown token is 404, a token whose offer has expired is 410. Accepting
on the page confirms the terms shown there, in the name the provider gives.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation import confirmations, offers
from services.negotiation.cases import log
from services.negotiation.client_settings import settings_for
from services.negotiation.models import BillFacts, Case, Offer
from services.negotiation.offers import OfferGone, OfferStatus
from services.negotiation.repository import CaseRepository
from shared.bus.outbox import Tx
from shared.contracts import Party
from shared.errors import Conflict, NotFound


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(
    session: AsyncSession, case: Case, offer_id: uuid.UUID, by: str, now: datetime
) -> tuple[str, Offer]:
    """A new token for an open payer offer (replacing any earlier one). Returns (token, offer)."""
    offer = next((o for o in case.offers if o.id == offer_id), None)
    if offer is None:
        raise NotFound(f"no offer {offer_id} on case {case.id}")
    if offer.party != Party.payer.value or offer.status != OfferStatus.open.value:
        raise Conflict(
            f"offer {offer_id} is a {offer.party} offer, {offer.status}; links are for open payer offers"
        )
    if offer.expires_at is not None and offer.expires_at <= now:
        raise OfferGone(f"offer {offer_id} expired at {offer.expires_at.isoformat()}")
    token = secrets.token_urlsafe(32)  # 256 bits
    offer.link_token_sha256, offer.link_created_at = token_hash(token), now
    log(session, case, by, "link", f"provider link issued for the offer of {offer.amount}", now)
    return token, offer


async def resolve(
    session: AsyncSession, token: str, now: datetime, *, for_update: bool = False
) -> tuple[Case, Offer]:
    """The case and offer of a link: 404 unknown, 410 expired (with the offer)."""
    found = await CaseRepository(session).by_link(token_hash(token), for_update=for_update)
    if found is None:
        raise NotFound("this link is not known: ask the negotiator for a new one")
    case, offer = found
    if offer.expires_at is not None and offer.expires_at <= now:
        raise OfferGone(
            f"this offer expired on {offer.expires_at.date().isoformat()}: ask the negotiator for a new one"
        )
    return case, offer


async def claim_reference(session: AsyncSession, case: Case) -> str | None:
    facts = await session.get(BillFacts, case.bill_id)
    return facts.partner_claim_id if facts else None


def _still_open(case: Case, offer: Offer) -> None:
    if offer.status != OfferStatus.open.value:
        raise Conflict(f"this offer was already {offer.status}")


async def accept(tx: Tx, case: Case, offer: Offer, name: str, title: str | None, now: datetime) -> None:
    """The provider accepts on the page and, in doing so, confirms the terms shown, as ``name``."""
    _still_open(case, offer)
    settings = await settings_for(tx.session, case.client_id)
    await offers.accept(tx, case, Party.provider, settings, by=name, supervisor=False, now=now)
    await confirmations.confirm(
        tx,
        case,
        Party.provider,
        settings,
        confirmed_by=name,
        title=title,
        email=None,
        via="offer_page",
        recorded_by="offer_page",
        now=now,
    )


async def counter(
    tx: Tx, case: Case, offer: Offer, amount: Decimal, note: str | None, name: str, now: datetime
) -> None:
    _still_open(case, offer)
    settings = await settings_for(tx.session, case.client_id)
    await offers.counter(tx, case, amount, note, settings, by=name, now=now)


async def decline(tx: Tx, case: Case, offer: Offer, reason: str, name: str, now: datetime) -> None:
    _still_open(case, offer)
    settings = await settings_for(tx.session, case.client_id)
    await offers.decline(tx, case, Party.provider, reason, settings, by=name, now=now)
