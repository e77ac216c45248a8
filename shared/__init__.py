"""What Parley's services share: settings, event contracts, the bus, database and HTTP helpers, access
(identities, roles, the audit log: :mod:`shared.auth`) and pages (:mod:`shared.web`).

Import from the modules named here; anything else is an implementation detail.
"""

__all__ = [
    "auth",
    "bus",
    "catalog",
    "codes",
    "contracts",
    "db",
    "errors",
    "http",
    "idempotency",
    "migrations",
    "observability",
    "service",
    "settings",
    "web",
]
