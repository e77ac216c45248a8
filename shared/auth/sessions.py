"""Browser sessions: a signed, time-limited cookie, and the CSRF token that every form post echoes.

The cookie ``parley_session`` is a JWT signed with HS256 under ``PARLEY_SESSION_SECRET`` (the same on
every service, so one sign-in on a host serves every service on it: cookies are per host, not per port).
It is HttpOnly, SameSite=Lax, and Secure in production. It carries how the person signed in:

- with a personal token: the user id and the token id. Each request re-reads that token in the service's
  replica (cached like a bearer token), so revoking the token or disabling the user ends the session at
  the next request, and a change of roles shows at once;
- with OIDC: the identity the IdP's tokens proved, valid until the session expires.

Each session has its own random CSRF token (claim ``csrf``). Pages render it into forms
(``{{ csrf_input() }}``) and scripts send it as ``X-CSRF-Token``; :func:`shared.auth.requires` refuses
any POST/PUT/PATCH/DELETE authenticated by the cookie without it (403). Requests with a bearer header
carry no ambient credential and need none.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from shared.auth.identity import Identity, IdentityKind, Role, Via
from shared.settings import Settings

SESSION_COOKIE = "parley_session"
SIGNIN_COOKIE = "parley_signin"  # the sign-in form's own CSRF token, and the OIDC flow's state
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SIGNIN_MINUTES = 10
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Session:
    subject: str
    via: Via  # token or oidc: how the person signed in
    csrf: str
    expires_at: datetime
    token_id: str | None
    identity: Identity | None  # OIDC sessions carry the identity; token sessions re-read the token


def _encode(settings: Settings, claims: dict[str, Any], minutes: int, audience: str) -> str:
    now = int(time.time())
    body = {**claims, "iat": now, "exp": now + minutes * 60, "aud": audience}
    return jwt.encode(body, settings.session_key(), algorithm=_ALGORITHM)


def _decode(settings: Settings, value: str, audience: str) -> dict[str, Any] | None:
    try:
        claims: dict[str, Any] = jwt.decode(
            value, settings.session_key(), algorithms=[_ALGORITHM], audience=audience
        )
    except jwt.PyJWTError:
        return None
    return claims


def session_cookie(settings: Settings, identity: Identity) -> tuple[str, str]:
    """``(cookie value, csrf token)`` of a new session for ``identity``."""
    csrf = secrets.token_urlsafe(24)
    claims: dict[str, Any] = {"sub": identity.subject, "via": identity.via.value, "csrf": csrf}
    if identity.via is Via.token:
        claims["tid"] = identity.token_id
    else:
        claims.update(
            name=identity.name,
            roles=sorted(identity.roles),
            clients=sorted(identity.clients),
            tid=identity.token_id,
        )
    minutes = settings.session_minutes
    if identity.expires_at is not None:
        # A session never outlives the credential it was opened with.
        left = int((identity.expires_at - datetime.now(UTC)).total_seconds() // 60)
        minutes = max(1, min(minutes, left))
    return _encode(settings, claims, minutes, "parley-session"), csrf


def read_session(settings: Settings, value: str) -> Session | None:
    claims = _decode(settings, value, "parley-session")
    if claims is None or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("csrf"), str):
        return None
    try:
        via = Via(str(claims.get("via")))
    except ValueError:
        return None
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    identity = None
    if via is Via.oidc:
        identity = Identity(
            kind=IdentityKind.user,
            subject=claims["sub"],
            name=str(claims.get("name") or claims["sub"]),
            roles=frozenset(Role(r) for r in claims.get("roles", []) if r in Role.__members__),
            clients=frozenset(str(c) for c in claims.get("clients", [])),
            token_id=claims.get("tid"),
            via=Via.session,
            expires_at=expires_at,
            csrf_token=claims["csrf"],
        )
    return Session(
        subject=claims["sub"],
        via=via,
        csrf=claims["csrf"],
        expires_at=expires_at,
        token_id=claims.get("tid"),
        identity=identity,
    )


def signin_cookie(settings: Settings, **state: str) -> str:
    """A short-lived signed cookie for the sign-in form (its CSRF token) or an OIDC flow in progress."""
    return _encode(settings, state, SIGNIN_MINUTES, "parley-signin")


def read_signin_cookie(settings: Settings, value: str | None) -> dict[str, Any]:
    return (_decode(settings, value, "parley-signin") if value else None) or {}


def cookie_options(settings: Settings, max_age: int) -> dict[str, Any]:
    return {
        "max_age": max_age,
        "httponly": True,
        "secure": settings.secure_cookies,
        "samesite": "lax",
        "path": "/",
    }
