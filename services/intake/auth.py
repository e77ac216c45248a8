"""Who is calling a partner route: ``Authorization: Bearer <partner API key>``.

The identity is the shared :class:`shared.auth.Identity` with ``kind=partner``: ``subject`` is the
partner id, ``token_id`` the key id and ``clients`` the clients the key is scoped to. Every query a
partner can cause filters on both, so a partner can neither see nor change another partner's bills (they
get 404, exactly as for a bill that does not exist). A user token (``prlu_…``) opens no partner route,
as a partner key opens no internal one. A verified key is remembered for
``PARLEY_INTAKE_AUTH_CACHE_SECONDS`` so that a burst of requests does not look it up each time;
revocation takes effect within that time.

Internal routes (staff) use :func:`shared.auth.requires` like every other service.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from services.intake.config import IntakeSettings
from services.intake.keys import hash_secret, secret_matches, split_key
from services.intake.models import ApiKey
from shared.auth import Identity, IdentityKind, Via
from shared.auth.tokens import USER_TOKEN_PREFIX
from shared.errors import Forbidden, Unauthorized
from shared.service import Runtime, runtime_of

__all__ = ["CurrentPartner", "Forbidden", "Unauthorized", "authenticate", "require_client"]

# sha256(whole key) -> (identity, valid until). Only verified keys are cached, never failures.
_verified: dict[str, tuple[Identity, float]] = {}
# sha256(whole key) -> the lookup in progress for it.
_looking_up: dict[str, asyncio.Future[Identity]] = {}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PartnerKey",
    description="Your partner API key (`prly_…`), issued by Parley operations: "
    "`Authorization: Bearer prly_…`.",
)


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Identity:
    if credentials is None:
        raise Unauthorized("send your API key as `Authorization: Bearer prly_…`")
    key = credentials.credentials
    cache_key = hash_secret(key)
    cached = _verified.get(cache_key)
    if cached is not None and cached[1] > time.monotonic():
        request.state.identity = cached[0]
        return cached[0]
    # One lookup per key at a time: the requests of a burst that all miss (at the start, or when the
    # cached entry expires) share it instead of each taking a connection for the same row.
    lookup = _looking_up.get(cache_key)
    if lookup is None:
        lookup = asyncio.ensure_future(_verify(runtime_of(request), key, cache_key))
        _looking_up[cache_key] = lookup
        lookup.add_done_callback(lambda done: _forget(cache_key, done))
    identity = await asyncio.shield(lookup)  # a request that goes away does not cancel the others' lookup
    request.state.identity = identity
    return identity


def _forget(cache_key: str, lookup: asyncio.Future[Identity]) -> None:
    """A finished lookup makes way for the next; its failure is read here too, so one whose requests
    all went away is not reported as never retrieved (each waiting request gets it from the await)."""
    _looking_up.pop(cache_key, None)
    if not lookup.cancelled():
        lookup.exception()


async def _verify(runtime: Runtime, key: str, cache_key: str) -> Identity:
    if key.startswith(USER_TOKEN_PREFIX + "_"):
        raise Unauthorized("a user token opens internal endpoints only; partner routes need a partner key")
    parts = split_key(key)
    if parts is None:
        raise Unauthorized("the API key is malformed")
    key_id, secret = parts
    # One read, so no transaction around it (BEGIN and ROLLBACK would be two more round trips).
    async with runtime.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
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
    identity = Identity(
        kind=IdentityKind.partner,
        subject=row.partner_id,
        name=row.partner_id,
        clients=frozenset(row.clients),
        token_id=key_id,
        via=Via.partner_key,
    )
    settings = runtime.settings
    ttl = settings.intake_auth_cache_seconds if isinstance(settings, IntakeSettings) else 0.0
    if ttl > 0:
        if len(_verified) > 10_000:  # keys are few; this only bounds memory against odd traffic
            _verified.clear()
        _verified[cache_key] = (identity, time.monotonic() + ttl)
    return identity


CurrentPartner = Annotated[Identity, Depends(authenticate)]


def require_client(partner: Identity, client_id: str) -> None:
    """A client named in the query must be one of the key's clients: else 403 naming ``query:client_id``."""
    if not partner.may_see(client_id):
        raise Forbidden(
            "this API key is not scoped to that client",
            errors=[
                {"field": "query:client_id", "message": "not one of this key's clients", "type": "scope"}
            ],
        )
