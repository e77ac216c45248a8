"""``requires(...)``: the one way a route says who may call it.

    from shared.auth import CASE_READERS, Identity, Role, requires

    @router.get("/v1/cases/{case_id}")
    async def get_case(case_id: uuid.UUID, user: Annotated[Identity, requires(*CASE_READERS)]) -> CaseOut:
        ...  # query with user.client_scope; another client's case is 404

    @router.post("/v1/cases/{case_id}/responses")
    async def respond(..., user: Annotated[Identity, requires(Role.negotiator, Role.supervisor)]) -> ...:

Rules, in order:

1. No credentials, or bad, expired or revoked ones: 401 with ``WWW-Authenticate: Bearer``. A browser
   asking for a page (GET, ``Accept: text/html``, a route whose response class is HTML) is redirected to
   ``/signin?next=…`` instead.
2. A write (every POST, PUT, PATCH and DELETE, unless ``write=False`` says a POST only reads) ignores the
   ``auditor`` role: an auditor may be listed on a route by mistake and still never change anything.
3. None of the admitted roles: 403. ``requires()`` with no role admits any authenticated user.
4. A write authenticated by the session cookie must carry the session's CSRF token (form field
   ``csrf_token`` or header ``X-CSRF-Token``): 403 otherwise.

The identity is also put on ``request.state.identity`` for pages and the audit log. The admitted roles
are written into the route's OpenAPI operation (``x-parley-roles``, and a line in its description), and
whether it is a write (``x-parley-write``: false for a POST declared ``write=False``), by
:func:`install_openapi_roles`, so the docs show what each route needs and a test can walk them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.authenticator import Authenticator
from shared.auth.identity import Identity, Role
from shared.auth.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE
from shared.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLES_ATTRIBUTE = "__parley_roles__"
WRITE_ATTRIBUTE = "__parley_write__"  # ``write=`` as declared: None means "by the HTTP method"

user_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserToken",
    description="A personal or service token (`prlu_…`, from `parley users create` or `parley users "
    "token`), or an access token (JWT) from the company's identity provider when OIDC is configured.",
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="BrowserSession",
    description="The session cookie set by `/signin`. Writes with it also need the `X-CSRF-Token` header "
    "(or a `csrf_token` form field).",
)


class SignInRequired(Exception):
    """A browser asked for a page without a session: send it to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def authenticator_of(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


async def identify(
    request: Request, bearer: HTTPAuthorizationCredentials | None, cookie: str | None
) -> Identity | None:
    """The request's identity, None without credentials; 401 for bad ones."""
    authenticator = authenticator_of(request)
    if bearer is not None:
        return await authenticator.bearer(bearer.credentials)
    if request.headers.get("authorization"):
        raise Unauthorized("send the token as `Authorization: Bearer <token>`")
    if cookie:
        return await authenticator.session(cookie)
    return None


def _wants_page(request: Request) -> bool:
    if request.method != "GET" or "text/html" not in request.headers.get("accept", ""):
        return False
    response_class = getattr(request.scope.get("route"), "response_class", None)
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)


async def check_csrf(request: Request, identity: Identity) -> None:
    """A cookie-authenticated write must echo the session's CSRF token (header or form field)."""
    expected = identity.csrf_token or ""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        await request.body()  # keep the body for the endpoint: the form is read from this copy
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or sent is None or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "this form or request is missing the session's CSRF token; reload the page and try again",
            errors=[{"field": f"header:{CSRF_HEADER}", "message": "missing or wrong", "type": "csrf"}],
        )


def requires(*roles: Role, write: bool | None = None) -> Any:
    """A dependency resolving the caller's :class:`Identity` and admitting only ``roles``.

    ``write`` defaults to the HTTP method (POST, PUT, PATCH, DELETE are writes). Use as
    ``user: Annotated[Identity, requires(Role.admin)]`` or in ``dependencies=[requires(Role.admin)]``.
    """
    admitted = frozenset(roles)

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(user_bearer)],
        cookie: Annotated[str | None, Depends(session_cookie)],
    ) -> Identity:
        identity = await identify(request, bearer, cookie)
        if identity is None:
            if _wants_page(request):
                raise SignInRequired(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
            raise Unauthorized("sign in, or send a token as `Authorization: Bearer <token>`")
        is_write = write if write is not None else request.method not in SAFE_METHODS
        held = identity.roles - {Role.auditor} if is_write else identity.roles
        if admitted and held.isdisjoint(admitted):
            needed = ", ".join(sorted(admitted - ({Role.auditor} if is_write else set())))
            raise Forbidden(f"this needs one of the roles: {needed}")
        if is_write and bearer is None:
            await check_csrf(request, identity)
        request.state.identity = identity
        return identity

    setattr(dependency, ROLES_ATTRIBUTE, sorted(r.value for r in admitted) or ["any"])
    setattr(dependency, WRITE_ATTRIBUTE, write)
    return Depends(dependency)


async def csrf_protected(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(user_bearer)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> None:
    """For a form post that needs no role but must come from the signed-in page (e.g. sign-out)."""
    if bearer is not None or not cookie:
        return
    identity = await authenticator_of(request).session(cookie)
    if identity is not None:
        await check_csrf(request, identity)


# --- OpenAPI ----------------------------------------------------------------------------------------


def _requires_of(dependant: Dependant) -> Callable[..., Any] | None:
    for sub in dependant.dependencies:
        if getattr(sub.call, ROLES_ATTRIBUTE, None) is not None:
            return sub.call
        found = _requires_of(sub)
        if found is not None:
            return found
    return None


def route_roles(route: Any) -> list[str] | None:
    """The roles a route admits (``["any"]`` for any user), or None if it does not call ``requires``."""
    dependant = getattr(route, "dependant", None)
    found = _requires_of(dependant) if dependant is not None else None
    return list(getattr(found, ROLES_ATTRIBUTE)) if found is not None else None


def route_writes(route: Any, method: str) -> bool:
    """Whether ``method`` on the route is a write: as ``requires(write=…)`` says, else by the method."""
    dependant = getattr(route, "dependant", None)
    found = _requires_of(dependant) if dependant is not None else None
    declared = getattr(found, WRITE_ATTRIBUTE, None) if found is not None else None
    return declared if declared is not None else method not in SAFE_METHODS


def app_routes(app: FastAPI) -> list[Any]:
    """Every route the app serves, routers included, each with ``path_format`` (or ``path``),
    ``methods`` and, for API routes, ``dependant``, ``include_in_schema`` and ``response_class``."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI ≥ 0.16x includes routers lazily
    except ImportError:  # pragma: no cover - older FastAPI keeps a flat list
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def install_openapi_roles(app: FastAPI) -> None:
    """Write each route's admitted roles into the OpenAPI document (``x-parley-roles``)."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = original()
        for route in app_routes(app):
            if not isinstance(getattr(route, "original_route", route), APIRoute):
                continue
            if not route.include_in_schema:
                continue
            roles = route_roles(route)
            if roles is None:
                continue
            for method in route.methods or ():
                operation = document["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                operation["x-parley-roles"] = roles
                write = route_writes(route, method)
                operation["x-parley-write"] = write
                who = "any signed-in user" if roles == ["any"] else ", ".join(roles)
                operation["description"] = (
                    operation.get("description", "").rstrip()
                    + f"\n\n**Roles**: {who}"
                    + (
                        " (an auditor can never write)."
                        if write
                        else "." + (" It changes nothing: a read." if method not in SAFE_METHODS else "")
                    )
                ).lstrip()
                responses = operation.setdefault("responses", {})
                responses.setdefault(
                    "401", {"description": "No credentials, or a bad, expired or revoked token.", **PROBLEM}
                )
                responses.setdefault("403", {"description": "The role this needs is missing.", **PROBLEM})
        _problem_422(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_422(document: dict[str, Any]) -> None:
    """Invalid input is answered as problem+json naming each field (shared/http.py), not FastAPI's
    default body: say so in every operation, and drop the default's unused schemas."""
    for operations in document["paths"].values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422")
            if response is not None and "application/json" in response.get("content", {}):
                operation["responses"]["422"] = {
                    "description": "A parameter or the body is invalid; `errors` names each field and why.",
                    **PROBLEM,
                }
    schemas = document.get("components", {}).get("schemas", {})
    text = str(document["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)


def install_sign_in_redirect(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _redirect(_: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(f"/signin?next={quote(exc.next_url, safe='')}", status_code=303)
