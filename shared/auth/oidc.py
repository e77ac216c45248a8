"""Company single sign-on: OIDC bearer JWTs and the authorization-code flow (with PKCE) for browsers.

Configured by ``PARLEY_OIDC_*`` (see :class:`shared.settings.Settings`); off while ``PARLEY_OIDC_ISSUER``
is unset. A JWT is checked with PyJWT: the signature against the issuer's JWKS, ``iss``, ``aud``, ``exp``,
``nbf`` and ``iat`` with ``PARLEY_OIDC_LEEWAY_SECONDS`` of clock skew, and only the algorithms configured
(never ``none`` nor a shared-secret HMAC).

The JWKS is fetched over HTTP (from ``PARLEY_OIDC_JWKS_URL``, or the ``jwks_uri`` of the issuer's
``/.well-known/openid-configuration``), parsed by PyJWT's ``PyJWKSet`` and kept in memory. A token whose
``kid`` is not in it makes one refetch (the IdP rotated its keys); refetches for unknown kids are at most
one per ``JWKS_REFETCH_SECONDS``, so a stream of made-up kids cannot turn every request into a fetch. The
fetch is asynchronous (httpx) rather than PyJWKClient's blocking urllib call, which would stall the event
loop of a service under load.

Roles come from the claim at ``PARLEY_OIDC_ROLES_CLAIM`` (a dotted path: Keycloak puts realm roles at
``realm_access.roles``), mapped by ``PARLEY_OIDC_ROLE_MAP`` when set (IdP group → Parley role); values
that map to no Parley role are ignored. Clients come from ``PARLEY_OIDC_CLIENTS_CLAIM``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import structlog

from shared.auth.identity import Identity, IdentityKind, Role, Via
from shared.settings import Settings

log = structlog.get_logger(__name__)

JWKS_REFETCH_SECONDS = 2.0
DISCOVERY_PATH = "/.well-known/openid-configuration"


class OidcError(Exception):
    """A JWT or a sign-in answer that does not verify; the message says why (never the token)."""


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass(frozen=True)
class Endpoints:
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None


class OidcProvider:
    """One per service process: the issuer's endpoints and keys, fetched lazily and kept."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer, "OIDC is configured by PARLEY_OIDC_ISSUER"
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self._endpoints: Endpoints | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0

    async def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            discovery: dict[str, Any] = {}
            if not self.settings.oidc_jwks_url or self.settings.oidc_client_id:
                discovery = await self._get_json(self.issuer.rstrip("/") + DISCOVERY_PATH)
            jwks_uri = self.settings.oidc_jwks_url or discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise OidcError("the issuer's discovery document names no jwks_uri")
            self._endpoints = Endpoints(
                jwks_uri=jwks_uri,
                authorization_endpoint=discovery.get("authorization_endpoint"),
                token_endpoint=discovery.get("token_endpoint"),
            )
        return self._endpoints

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"could not fetch {url}: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise OidcError(f"{url} did not answer with a JSON object")
        return body

    async def _refresh_keys(self, *, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._keys and (not force or now - self._fetched_at < JWKS_REFETCH_SECONDS):
                return
            endpoints = await self.endpoints()
            document = await self._get_json(endpoints.jwks_uri)
            try:
                keyset = jwt.PyJWKSet.from_dict(document)
            except jwt.PyJWTError as exc:
                raise OidcError(f"the JWKS could not be read: {exc}") from exc
            self._keys = {k.key_id: k for k in keyset.keys if k.key_id}
            self._fetched_at = now
            self.jwks_fetches += 1
            log.info("oidc.jwks_fetched", keys=sorted(self._keys))

    async def signing_key(self, token: str) -> jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise OidcError("not a readable JWT") from exc
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise OidcError("the JWT names no key (kid)")
        if kid not in self._keys:
            await self._refresh_keys(force=bool(self._keys))
        key = self._keys.get(kid)
        if key is None:
            raise OidcError("the JWT is signed with a key the issuer does not publish")
        return key

    async def decode(self, token: str, *, audience: str | None, nonce: str | None = None) -> dict[str, Any]:
        """Verified claims of ``token``; :class:`OidcError` saying why not."""
        key = await self.signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=self.settings.oidc_algorithms,
                audience=audience,
                issuer=self.issuer,
                leeway=self.settings.oidc_leeway_seconds,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise OidcError("the JWT has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise OidcError("the JWT is not meant for Parley (aud)") from exc
        except jwt.InvalidIssuerError as exc:
            raise OidcError("the JWT comes from another issuer (iss)") from exc
        except jwt.PyJWTError as exc:
            raise OidcError(f"the JWT does not verify: {type(exc).__name__}") from exc
        if nonce is not None and claims.get("nonce") != nonce:
            raise OidcError("the ID token answers another sign-in (nonce)")
        return claims

    async def identity(self, token: str) -> Identity:
        """The identity a bearer JWT proves (audience ``PARLEY_OIDC_AUDIENCE``)."""
        return self.identity_of(await self.decode(token, audience=self.settings.oidc_audience))

    def identity_of(self, claims: dict[str, Any], *, via: Via = Via.oidc) -> Identity:
        settings = self.settings
        subject = claims.get(settings.oidc_subject_claim) or claims["sub"]
        values = _strings(claim_at(claims, settings.oidc_roles_claim))
        mapping = settings.oidc_role_map
        roles = set()
        for value in values:
            mapped = mapping.get(value) if mapping else value
            if mapped is not None and mapped in Role.__members__:
                roles.add(Role(mapped))
        exp = claims.get("exp")
        return Identity(
            kind=IdentityKind.user,
            subject=str(subject),
            name=str(claims.get(settings.oidc_name_claim) or subject),
            roles=frozenset(roles),
            clients=frozenset(_strings(claim_at(claims, settings.oidc_clients_claim))),
            token_id=str(claims.get("jti") or claims.get("sid") or "") or None,
            via=via,
            expires_at=datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None,
        )

    # --- browser sign-in: authorization code with PKCE --------------------------------------------------

    @property
    def browser_sign_in(self) -> bool:
        return bool(self.settings.oidc_client_id and self.settings.oidc_redirect_url)

    async def authorization_url(self, *, state: str, nonce: str, verifier: str) -> str:
        endpoints = await self.endpoints()
        if endpoints.authorization_endpoint is None:
            raise OidcError("the issuer's discovery document names no authorization_endpoint")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": self.settings.oidc_redirect_url,
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
        return f"{endpoints.authorization_endpoint}?{urlencode(query)}"

    async def sign_in(self, *, code: str, verifier: str, nonce: str) -> Identity:
        """Exchange the code, check the ID token, and build the identity.

        Roles and clients are read from the access token when it is a JWT for Parley's audience (where
        Keycloak puts realm roles), else from the ID token.
        """
        endpoints = await self.endpoints()
        if endpoints.token_endpoint is None:
            raise OidcError("the issuer's discovery document names no token_endpoint")
        settings = self.settings
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.oidc_redirect_url or "",
            "client_id": settings.oidc_client_id or "",
            "code_verifier": verifier,
        }
        if settings.oidc_client_secret is not None:
            form["client_secret"] = settings.oidc_client_secret.get_secret_value()
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.post(endpoints.token_endpoint, data=form)
        except httpx.HTTPError as exc:
            raise OidcError(f"the token endpoint could not be reached: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise OidcError(f"the token endpoint refused the code ({response.status_code})")
        tokens = response.json()
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the token endpoint returned no ID token")
        id_claims = await self.decode(id_token, audience=settings.oidc_client_id, nonce=nonce)
        access = tokens.get("access_token")
        if isinstance(access, str) and looks_like_access_jwt(access):
            try:
                claims = await self.decode(access, audience=settings.oidc_audience)
                return self.identity_of({**id_claims, **claims}, via=Via.oidc)
            except OidcError as exc:
                log.info("oidc.access_token_not_for_parley", reason=str(exc))
        return self.identity_of(id_claims, via=Via.oidc)


def looks_like_access_jwt(token: str) -> bool:
    return token.count(".") == 2


def pkce_pair() -> tuple[str, str, str]:
    """``(state, nonce, code verifier)`` for one sign-in."""
    return secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
