"""Signing links: a 256-bit random token per recipient, kept only as its SHA-256.

A link is looked up by the hash of the presented token through a unique index: the database compares
hashes of a secret nobody can choose, so response time says nothing about how close a guess was; the
final comparison is constant-time as well. What a presented token can meet:

- no such link, or a link revoked by a resend → 404 (the same answer: a reused old link is not a hint);
- a live link past its expiry → 410;
- the recipient already signed or declined, or the agreement is no longer waiting → 409;
- the countersigner's link before the provider has signed → 409 (order).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.agreements.models import Agreement, Recipient, SigningLink
from shared.errors import NotFound, ProblemError

TOKEN_BYTES = 32  # 256 bits
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LinkExpired(ProblemError):
    status_code = 410
    title = "Link expired"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def link_path(token: str) -> str:
    return f"/sign/{token}"


@dataclass(frozen=True)
class OpenLink:
    link: SigningLink
    recipient: Recipient
    agreement: Agreement


async def issue(session: AsyncSession, recipient: Recipient, *, now: datetime, expires_at: datetime) -> str:
    """A new link for ``recipient``; any earlier one is revoked. Returns the token (never stored)."""
    await session.execute(
        update(SigningLink)
        .where(SigningLink.recipient_id == recipient.id, SigningLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = new_token()
    session.add(
        SigningLink(
            recipient_id=recipient.id, token_sha256=token_hash(token), issued_at=now, expires_at=expires_at
        )
    )
    return token


async def move_expiry(session: AsyncSession, agreement: Agreement, expires_at: datetime) -> None:
    ids = [r.id for r in agreement.recipients]
    await session.execute(
        update(SigningLink)
        .where(SigningLink.recipient_id.in_(ids), SigningLink.revoked_at.is_(None))
        .values(expires_at=expires_at)
    )


async def open_link(session: AsyncSession, token: str, *, now: datetime, for_update: bool) -> OpenLink:
    """The live link for ``token`` with its recipient and agreement (locked when ``for_update``).
    Raises 404 or 410 as the module docstring says; the caller checks status and order (409)."""
    digest = token_hash(token)  # hash first, whatever the shape: the same work for every answer
    stmt = (
        select(SigningLink, Recipient, Agreement)
        .join(Recipient, Recipient.id == SigningLink.recipient_id)
        .join(Agreement, Agreement.id == Recipient.agreement_id)
        .where(SigningLink.token_sha256 == digest)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Agreement)
    row = (await session.execute(stmt)).first()
    if row is None or not TOKEN_SHAPE.match(token) or not hmac.compare_digest(row[0].token_sha256, digest):
        raise NotFound("no such signing link")
    link, recipient, agreement = row
    if link.revoked_at is not None:
        raise NotFound("no such signing link")
    if link.expires_at <= now:
        raise LinkExpired(f"this signing link expired at {link.expires_at:%Y-%m-%d %H:%M} UTC")
    return OpenLink(link, recipient, agreement)
