"""The platform's fixed facts: which services exist, their ports, roles and consumer groups.

Services are named here as strings only; ``shared`` never imports a service package.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int

    @property
    def role(self) -> str:
        """The Postgres role that owns this service's schema (and nothing else)."""
        return f"parley_{self.name}"

    @property
    def schema(self) -> str:
        return self.name

    @property
    def app_factory(self) -> str:
        return f"services.{self.name}.main:create_app"

    @property
    def package(self) -> str:
        return f"services.{self.name}"


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("intake", 8001),
    ServiceInfo("pricing", 8002),
    ServiceInfo("negotiation", 8003),
    ServiceInfo("agreements", 8004),
    ServiceInfo("reporting", 8005),
)

SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)


def service(name: str) -> ServiceInfo:
    for info in SERVICES:
        if info.name == name:
            return info
    raise KeyError(f"unknown service {name!r}; expected one of {', '.join(SERVICE_NAMES)}")
