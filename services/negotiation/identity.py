"""Who is acting on a negotiation route.

TEMPORARY stand-in until ``shared.auth`` (issue 7, branch ``auth``) lands on main: it reads the acting
user from ``X-Parley-User`` / ``X-Parley-Roles`` / ``X-Parley-Clients`` headers and trusts them, which
is only acceptable in development and tests. It mirrors ``shared.auth.Identity`` (``subject``,
``roles``, ``has``, ``may_see``, ``client_scope``) so that replacing :func:`acting` with
``requires(...)`` on each route is mechanical. Each route's docstring names the roles it will require.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from shared.errors import ProblemError


class Unauthenticated(ProblemError):
    status_code = 401
    title = "Unauthenticated"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ProblemError):
    status_code = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Actor:
    subject: str
    roles: frozenset[str]
    clients: frozenset[str]

    def has(self, role: str) -> bool:
        return role in self.roles

    def may_see(self, client_id: str) -> bool:
        return "*" in self.clients or client_id in self.clients

    @property
    def client_scope(self) -> frozenset[str] | None:
        return None if "*" in self.clients else self.clients


def _split(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


async def acting(
    user: Annotated[str | None, Header(alias="X-Parley-User", include_in_schema=False)] = None,
    roles: Annotated[str | None, Header(alias="X-Parley-Roles", include_in_schema=False)] = None,
    clients: Annotated[str | None, Header(alias="X-Parley-Clients", include_in_schema=False)] = None,
) -> Actor:
    if not user:
        raise Unauthenticated("sign in: this route needs a user")
    return Actor(subject=user, roles=_split(roles), clients=_split(clients) or frozenset({"*"}))


def needs(actor: Actor, *roles: str) -> None:
    """403 unless the actor has one of ``roles`` (what ``requires(*roles)`` will do at the route)."""
    if not any(actor.has(role) for role in roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")


ActorDep = Annotated[Actor, Depends(acting)]
