"""Access: who may call what, for every service. The one way to authenticate and authorize.

A route declares the roles it admits with :func:`requires`, and gets the caller's :class:`Identity`::

    from typing import Annotated
    from shared.auth import CASE_READERS, Identity, Role, audit, requires

    @router.get("/v1/cases/{case_id}")
    async def get_case(case_id: uuid.UUID, tx: TxDep, request: Request,
                       user: Annotated[Identity, requires(*CASE_READERS)]) -> CaseOut:
        case = await CaseRepository(tx.session).get(case_id, clients=user.client_scope)
        if case is None:
            raise NotFound(f"no case {case_id}")          # another client's case: 404, never 403
        await audit(tx, request, user, "read:case", "case", case.id, case.client_id)
        return CaseOut.model_validate(case)

- Every route of every service needs an identity unless it is in :data:`PUBLIC_PATHS` (health, metrics,
  OpenAPI and docs, sign-in pages, static files). No credentials or bad ones: 401 with
  ``WWW-Authenticate: Bearer``; a role missing: 403; another client's object: 404 (the repository filters
  by ``user.client_scope``). Writes never admit an auditor-only identity.
- Credentials: a personal/service token (``prlu_…``, ``parley users …``), an OIDC JWT from the company's
  identity provider (``PARLEY_OIDC_*``), or the browser session cookie from ``/signin`` (writes with it
  need the CSRF token: ``{{ csrf_input() }}`` in forms). Partner keys (``prly_…``) open only intake's
  partner routes, through intake's own dependency, which yields ``Identity(kind=partner)``.
- Every read of patient data and every change by a person calls :func:`audit` in the same transaction.
- Pages extend ``base.html`` and are rendered with :func:`shared.web.render`.

:mod:`shared.service` wires the rest into every app: the token replica tables' consumer
(``identity.events``), the authenticator, ``/v1/me``, ``/v1/audit``, ``/v1/admin/dlq``, the sign-in pages
and the roles in OpenAPI. A service only declares its tables (:func:`add_access_tables`) and its routes.
"""

from shared.auth.audit import AuditFilter, audit, search_audit, write_audit
from shared.auth.dependency import SignInRequired, csrf_protected, requires, route_roles
from shared.auth.identity import (
    ALL_CLIENTS,
    ANY_ROLE,
    CASE_READERS,
    Identity,
    IdentityKind,
    Role,
    Via,
    operator,
)
from shared.auth.tables import AccessTables, add_access_tables, add_audit_table, add_identity_tables

# Pages a provider opens from a link: they need no identity because each is authenticated by its own
# link token (unknown: 404, expired: 410): negotiation's offer pages, agreements' signing pages.
LINK_PAGE_PREFIXES: tuple[str, ...] = ("/offers/", "/sign/")

# Paths that need no identity (besides the link pages above).
PUBLIC_PATHS: frozenset[str] = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/signin",
        "/signin/oidc",
        "/signin/callback",
        "/signout",
        "/static",
    }
)

__all__ = [
    "ALL_CLIENTS",
    "ANY_ROLE",
    "CASE_READERS",
    "LINK_PAGE_PREFIXES",
    "PUBLIC_PATHS",
    "AccessTables",
    "AuditFilter",
    "Identity",
    "IdentityKind",
    "Role",
    "SignInRequired",
    "Via",
    "add_access_tables",
    "add_audit_table",
    "add_identity_tables",
    "audit",
    "csrf_protected",
    "operator",
    "requires",
    "route_roles",
    "search_audit",
    "write_audit",
]
