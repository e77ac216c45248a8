"""Who is calling: every partner request carries ``Authorization: Bearer <API key>``.

The principal is the key's partner and the clients the key is scoped to. Every query a partner can cause
filters on both, so a partner can neither see nor change another partner's bills (they get 404, exactly
as for a bill that does not exist). A verified key is remembered for ``PARLEY_INTAKE_AUTH_CACHE_SECONDS``
so that a burst of requests does not look it up each time; revocation takes effect within that time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from services.intake.config import IntakeSettings
from services.intake.keys import ALL_CLIENTS, hash_secret, secret_matches, split_key
from services.intake.models import ApiKey
from shared.errors import ProblemError
from shared.service import runtime_of


class Unauthorized(ProblemError):
    status_code = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="parley"'}


class Forbidden(ProblemError):
    status_code = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Principal:
    partner_id: str
    key_id: str
    clients: frozenset[str]

    @property
    def all_clients(self) -> bool:
        return ALL_CLIENTS in self.clients

    @property
    def client_scope(self) -> frozenset[str] | None:
        """The clients this key may see, or None for all of the partner's."""
        return None if self.all_clients else self.clients

    def may_use(self, client_id: str) -> bool:
        return self.all_clients or client_id in self.clients


# sha256(whole key) -> (principal, valid until). Only verified keys are cached, never failures.
_verified: dict[str, tuple[Principal, float]] = {}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PartnerKey",
    description="Your partner API key (`prly_…`), issued by Parley operations: "
    "`Authorization: Bearer prly_…`.",
)


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("send your API key as `Authorization: Bearer prly_…`")
    key = credentials.credentials
    runtime = runtime_of(request)
    settings = runtime.settings
    ttl = settings.intake_auth_cache_seconds if isinstance(settings, IntakeSettings) else 0.0
    cache_key = hash_secret(key)
    now = time.monotonic()
    cached = _verified.get(cache_key)
    if cached is not None and cached[1] > now:
        return cached[0]
    parts = split_key(key)
    if parts is None:
        raise Unauthorized("the API key is malformed")
    key_id, secret = parts
    async with runtime.engine.connect() as conn:
        row = (
            await conn.execute(
                select(ApiKey.partner_id, ApiKey.clients, ApiKey.secret_hash, ApiKey.revoked_at).where(
                    ApiKey.id == key_id
                )
            )
        ).one_or_none()
    if row is None or not secret_matches(secret, row.secret_hash):
        raise Unauthorized("the API key is not valid")
    if row.revoked_at is not None:
        raise Unauthorized("the API key was revoked")
    principal = Principal(partner_id=row.partner_id, key_id=key_id, clients=frozenset(row.clients))
    if ttl > 0:
        if len(_verified) > 10_000:  # keys are few; this only bounds memory against odd traffic
            _verified.clear()
        _verified[cache_key] = (principal, now + ttl)
    return principal


CurrentPartner = Annotated[Principal, Depends(authenticate)]
