"""Browser sign-in, mounted on every service: ``/signin``, ``/signin/oidc``, ``/signin/callback``,
``/signout`` and ``/account``.

- ``GET /signin`` shows a form taking a personal token, and "Sign in with …" when OIDC browser sign-in is
  configured (``PARLEY_OIDC_CLIENT_ID`` and ``PARLEY_OIDC_REDIRECT_URL``).
- ``POST /signin`` checks the token like a bearer token and opens a session (:mod:`shared.auth.sessions`).
  The form carries its own CSRF token (a short-lived signed cookie holds the expected value), so another
  site cannot sign a browser in under someone else's token.
- ``GET /signin/oidc`` starts the authorization-code flow with PKCE, ``state`` and ``nonce`` (kept in the
  same short-lived signed cookie); ``GET /signin/callback`` finishes it.
- ``POST /signout`` ends the session (CSRF-checked).
- ``GET /account`` shows who is signed in: the landing page after sign-in.

``next`` is followed only when it is a path on this host, never another site.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.auth.dependency import authenticator_of, csrf_protected, requires
from shared.auth.identity import Identity, Via
from shared.auth.oidc import OidcError, pkce_pair
from shared.auth.sessions import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    SIGNIN_MINUTES,
    cookie_options,
    read_session,
    read_signin_cookie,
    session_cookie,
    signin_cookie,
)
from shared.errors import NotFound, Unauthorized
from shared.web import render

router = APIRouter(tags=["sign-in"], include_in_schema=False)
DEFAULT_NEXT = "/account"


def safe_next(value: str | None) -> str:
    """A path on this host, or the default: never a redirect to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_NEXT
    return value


def _signed_in(request: Request, identity: Identity, next_url: str) -> RedirectResponse:
    settings = authenticator_of(request).settings
    value, _ = session_cookie(settings, identity)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    response.set_cookie(SESSION_COOKIE, value, **cookie_options(settings, settings.session_minutes * 60))
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


def _form(request: Request, next_url: str, *, error: str | None = None, status_code: int = 200) -> Response:
    authenticator = authenticator_of(request)
    settings = authenticator.settings
    csrf = secrets.token_urlsafe(24)
    oidc = authenticator.oidc
    response = render(
        request,
        "signin.html",
        status_code=status_code,
        next=safe_next(next_url),
        error=error,
        oidc_name=settings.oidc_display_name if oidc is not None and oidc.browser_sign_in else None,
        csrf_token=csrf,
    )
    response.set_cookie(
        SIGNIN_COOKIE, signin_cookie(settings, csrf=csrf), **cookie_options(settings, SIGNIN_MINUTES * 60)
    )
    return response


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and await authenticator_of(request).session(cookie) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, safe_next(next))


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    token: Annotated[str, Form(max_length=4096)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = DEFAULT_NEXT,
) -> Response:
    authenticator = authenticator_of(request)
    expected = read_signin_cookie(authenticator.settings, request.cookies.get(SIGNIN_COOKIE)).get("csrf")
    if not expected or not secrets.compare_digest(str(expected), csrf_token):
        return _form(request, next, error="The sign-in form expired; try again.", status_code=403)
    try:
        identity = await authenticator.bearer(token.strip())
    except Unauthorized as exc:
        return _form(request, next, error=f"Not signed in: {exc.detail}.", status_code=401)
    return _signed_in(request, identity, next)


@router.get("/signin/oidc")
async def signin_oidc(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    authenticator = authenticator_of(request)
    oidc = authenticator.oidc
    if oidc is None or not oidc.browser_sign_in:
        raise NotFound("single sign-on is not configured on this service")
    state, nonce, verifier = pkce_pair()
    try:
        url = await oidc.authorization_url(state=state, nonce=nonce, verifier=verifier)
    except OidcError as exc:
        return _form(
            request, safe_next(next), error=f"Single sign-on is unavailable: {exc}.", status_code=502
        )
    response = RedirectResponse(url, status_code=303)
    flow = signin_cookie(
        authenticator.settings, state=state, nonce=nonce, verifier=verifier, next=safe_next(next)
    )
    response.set_cookie(SIGNIN_COOKIE, flow, **cookie_options(authenticator.settings, SIGNIN_MINUTES * 60))
    return response


@router.get("/signin/callback")
async def signin_callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    authenticator = authenticator_of(request)
    oidc = authenticator.oidc
    if oidc is None or not oidc.browser_sign_in:
        raise NotFound("single sign-on is not configured on this service")
    flow = read_signin_cookie(authenticator.settings, request.cookies.get(SIGNIN_COOKIE))
    next_url = str(flow.get("next") or DEFAULT_NEXT)
    if error is not None:
        return _form(request, next_url, error=f"The identity provider refused: {error}.", status_code=401)
    if (
        not code
        or not state
        or not flow.get("state")
        or not secrets.compare_digest(state, str(flow["state"]))
    ):
        return _form(
            request,
            next_url,
            error="The sign-in expired or was not started here; try again.",
            status_code=403,
        )
    try:
        identity = await oidc.sign_in(code=code, verifier=str(flow["verifier"]), nonce=str(flow["nonce"]))
    except OidcError as exc:
        return _form(request, next_url, error=f"Not signed in: {exc}.", status_code=401)
    return _signed_in(request, identity, next_url)


@router.post("/signout", dependencies=[Depends(csrf_protected)])
async def signout() -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, user: Annotated[Identity, requires()]) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    session = read_session(authenticator_of(request).settings, cookie) if cookie else None
    by_sso = user.via is Via.oidc or (session is not None and session.via is Via.oidc)
    return render(
        request,
        "account.html",
        signed_in_with="single sign-on" if by_sso else f"personal token {user.token_id}",
        session_ends=session.expires_at.isoformat(timespec="minutes") if session else "with the credential",
    )
