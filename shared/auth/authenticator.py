"""Resolving a request to an :class:`Identity`: bearer token, OIDC JWT, or browser session cookie.

One :class:`Authenticator` per service process (built in the app's lifespan, kept on ``app.state``):

- ``Authorization: Bearer prlu_…``: a personal/service token, checked against this service's replica
  (``<schema>.access_tokens``) by the SHA-256 of its secret; expired, revoked or disabled → 401.
- ``Authorization: Bearer <JWT>``: an OIDC access token (when ``PARLEY_OIDC_ISSUER`` is set).
- ``Authorization: Bearer prly_…``: a partner key: 401 here, it opens partner endpoints only.
- no header, cookie ``parley_session``: a browser session (:mod:`shared.auth.sessions`).

A looked-up token is remembered for ``PARLEY_AUTH_CACHE_SECONDS`` (keyed by token id; the secret is
compared on every request), a verified JWT likewise (never past its ``exp``): a revoked token works at
most that long after its revocation reaches the service. Failures are never cached.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth.identity import Identity, IdentityKind, Role, Via
from shared.auth.oidc import OidcError, OidcProvider
from shared.auth.replica import StoredToken, find_token
from shared.auth.sessions import read_session
from shared.auth.tokens import hash_secret, is_partner_key, looks_like_jwt, secret_matches, split_token
from shared.errors import Unauthorized
from shared.settings import Settings

_CACHE_LIMIT = 10_000  # tokens are few; this bounds memory against odd traffic


class Authenticator:
    def __init__(self, settings: Settings, engine: AsyncEngine, tokens: Table) -> None:
        self.settings = settings
        self.engine = engine
        self.tokens = tokens
        self.oidc = OidcProvider(settings) if settings.oidc_enabled else None
        self._stored: dict[str, tuple[StoredToken, float]] = {}
        self._jwts: dict[str, tuple[Identity, float]] = {}

    # --- personal and service tokens ---------------------------------------------------------------

    async def _token(self, token_id: str) -> StoredToken | None:
        now = time.monotonic()
        cached = self._stored.get(token_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self.engine.connect() as conn:
            stored = await find_token(conn, self.tokens, token_id)
        ttl = self.settings.auth_cache_seconds
        if stored is not None and ttl > 0:
            if len(self._stored) > _CACHE_LIMIT:
                self._stored.clear()
            self._stored[token_id] = (stored, now + ttl)
        return stored

    @staticmethod
    def _usable(stored: StoredToken | None) -> StoredToken:
        if stored is None:
            raise Unauthorized("the token is not valid")
        if stored.revoked_at is not None:
            raise Unauthorized("the token was revoked")
        if stored.disabled_at is not None:
            raise Unauthorized("the user is disabled")
        if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):
            raise Unauthorized("the token has expired")
        return stored

    @staticmethod
    def _identity_of(stored: StoredToken, via: Via, csrf: str | None = None) -> Identity:
        return Identity(
            kind=IdentityKind.user,
            subject=stored.user_id,
            name=stored.name,
            roles=frozenset(Role(r) for r in stored.roles if r in Role.__members__),
            clients=frozenset(stored.clients),
            token_id=stored.token_id,
            via=via,
            expires_at=stored.expires_at,
            csrf_token=csrf,
        )

    async def token_identity(self, token: str) -> Identity:
        parts = split_token(token)
        if parts is None:
            raise Unauthorized("the token is malformed")
        token_id, secret = parts
        stored = self._usable(await self._token(token_id))
        if not secret_matches(secret, stored.secret_sha256):
            raise Unauthorized("the token is not valid")
        return self._identity_of(stored, Via.token)

    # --- OIDC ----------------------------------------------------------------------------------------

    async def jwt_identity(self, token: str) -> Identity:
        if self.oidc is None:
            raise Unauthorized("single sign-on is not configured here; use a personal token")
        key = hash_secret(token)
        now = time.monotonic()
        cached = self._jwts.get(key)
        if cached is not None and cached[1] > now:
            identity = cached[0]
        else:
            try:
                identity = await self.oidc.identity(token)
            except OidcError as exc:
                raise Unauthorized(str(exc)) from exc
            ttl = self.settings.auth_cache_seconds
            if ttl > 0:
                if len(self._jwts) > _CACHE_LIMIT:
                    self._jwts.clear()
                self._jwts[key] = (identity, now + ttl)
        leeway = timedelta(seconds=self.settings.oidc_leeway_seconds)
        if identity.expires_at is not None and identity.expires_at + leeway <= datetime.now(UTC):
            raise Unauthorized("the JWT has expired")  # a cached one, since it was checked
        return identity

    # --- the request's credentials -------------------------------------------------------------------

    async def bearer(self, credential: str) -> Identity:
        if is_partner_key(credential):
            raise Unauthorized("a partner API key opens partner endpoints only; use a user token")
        if credential.startswith("prlu_"):
            return await self.token_identity(credential)
        if looks_like_jwt(credential):
            return await self.jwt_identity(credential)
        raise Unauthorized("the credential is neither a Parley token nor a JWT")

    async def session(self, cookie: str) -> Identity | None:
        """The identity of a session cookie; None if the cookie is not (or no longer) a valid session."""
        session = read_session(self.settings, cookie)
        if session is None:
            return None
        if session.identity is not None:
            return session.identity
        if session.token_id is None:
            return None
        try:
            stored = self._usable(await self._token(session.token_id))
        except Unauthorized:
            return None
        if stored.user_id != session.subject:
            return None
        return self._identity_of(stored, Via.session, csrf=session.csrf)
