"""Who is calling: the :class:`Identity` every authenticated request resolves to, and the roles.

An identity is a value: frozen, hashable, built once per request by :mod:`shared.auth.authenticator` (a
person or a script) or by intake's partner-key dependency (a partner system). Client scoping lives here
too: ``clients`` holds client ids, or ``"*"`` for every client; repositories filter with
:attr:`Identity.client_scope` (None: no filter) and answer 404 for anything outside it.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

ALL_CLIENTS = "*"


class Role(StrEnum):
    """What a person may do. A user may hold several; each route names the roles it admits.

    - ``negotiator``: works the cases of its clients (responds, offers within authority, notes).
    - ``supervisor``: everything a negotiator may, plus approvals, reassignment and signing.
    - ``auditor``: reads everything of its clients, the audit log included; every write is refused.
    - ``admin``: reference data, client settings, users and partner keys, dead letters and replay.
    - ``viewer``: KPIs and dashboards only.
    """

    negotiator = "negotiator"
    supervisor = "supervisor"
    auditor = "auditor"
    admin = "admin"
    viewer = "viewer"


# Roles that read everything a case worker reads (bills, pricings, cases, agreements) for their clients.
CASE_READERS: tuple[Role, ...] = (Role.negotiator, Role.supervisor, Role.auditor, Role.admin)
# Every role: KPIs, who-am-I.
ANY_ROLE: tuple[Role, ...] = tuple(Role)


class IdentityKind(StrEnum):
    user = "user"  # a person or a script: personal/service token, OIDC JWT, or a browser session
    partner = "partner"  # a partner system with an intake API key
    provider_link = "provider_link"  # a provider on a link page (later issues; own link token)
    operator = "operator"  # someone at the command line with database access (``parley users …``)


class Via(StrEnum):
    """How the identity was proven."""

    token = "token"  # noqa: S105 - a kind of credential, not a credential
    oidc = "oidc"
    session = "session"
    partner_key = "partner_key"
    command = "command"


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    subject: str  # user id (e.g. dana@acme-cc.example) or partner id
    name: str
    roles: frozenset[Role] = frozenset()
    clients: frozenset[str] = frozenset()
    token_id: str | None = (
        None  # the personal token, partner key or OIDC `jti`/`sid`; for audit and revocation
    )
    via: Via = Via.token
    expires_at: datetime | None = None
    # Browser sessions only: the CSRF token every form post must echo back.
    csrf_token: str | None = field(default=None, compare=False, repr=False)

    @property
    def all_clients(self) -> bool:
        return ALL_CLIENTS in self.clients

    @property
    def client_scope(self) -> frozenset[str] | None:
        """The clients this identity may see, or None for all of them (the filter repositories apply)."""
        return None if self.all_clients else self.clients

    def may_see(self, client_id: str | None) -> bool:
        return self.all_clients or (client_id is not None and client_id in self.clients)

    def has(self, *roles: Role) -> bool:
        """Whether the identity holds any of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def read_only(self) -> bool:
        """An auditor and nothing that may write (viewer writes nothing either)."""
        return not (self.roles - {Role.auditor, Role.viewer})


def operator() -> Identity:
    """Whoever runs a ``parley`` command with database access: the audit log names the OS account."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Identity(kind=IdentityKind.operator, subject=f"cli:{who}", name=who, via=Via.command)
