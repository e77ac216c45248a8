"""Partner API keys: made and revoked by an operator, stored as a SHA-256 of their secret part.

A key reads ``prly_<key id>_<secret>``. The key id is public (it names the key in lists, logs and the
audit log); the secret is 256 random bits, shown once and never stored. A fast hash is enough for a
secret that cannot be guessed; a slow one would only tax every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import ApiKey, Partner

PREFIX = "prly"
# A key scoped to every client of its partner (for partners that onboard clients faster than keys).
ALL_CLIENTS = "*"
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_\-]{{43}})$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]{1,62}$")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else None."""
    match = _KEY.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class NewKey:
    key_id: str
    key: str  # the only time the whole key exists outside the partner's hands


async def create_key(
    session: AsyncSession,
    *,
    partner_id: str,
    clients: Sequence[str],
    partner_name: str | None = None,
    label: str | None = None,
) -> NewKey:
    """Create a key for ``partner_id`` (creating the partner on first use), scoped to ``clients``."""
    if not _SLUG.fullmatch(partner_id):
        raise ValueError("a partner id is 2-63 lower-case letters, digits or hyphens, e.g. acme-tpa")
    if not clients:
        raise ValueError("a key needs at least one client it may submit and read bills for")
    if ALL_CLIENTS in clients and len(set(clients)) > 1:
        raise ValueError("a key is scoped to named clients or to all of them, not both")
    await session.execute(
        pg_insert(Partner).values(id=partner_id, name=partner_name or partner_id).on_conflict_do_nothing()
    )
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            id=key_id,
            partner_id=partner_id,
            label=label,
            clients=sorted(set(clients)),
            secret_hash=hash_secret(secret),
        )
    )
    await session.flush()
    return NewKey(key_id=key_id, key=f"{PREFIX}_{key_id}_{secret}")


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    """Revoke a key; False if there is no such active key."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_keys(session: AsyncSession, partner_id: str | None = None) -> Sequence[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.partner_id, ApiKey.created_at)
    if partner_id is not None:
        stmt = stmt.where(ApiKey.partner_id == partner_id)
    return (await session.execute(stmt)).scalars().all()
