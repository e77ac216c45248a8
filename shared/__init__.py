"""What Parley's services share: settings, event contracts, the bus, database and HTTP helpers, access
(identities, roles, the audit log: :mod:`shared.auth`), pages (:mod:`shared.web`), scheduled jobs kept in
Postgres (:mod:`shared.jobs`), business-day arithmetic (:mod:`shared.business_days`), documents rendered
to PDF/A and HTML (:mod:`shared.documents`) and the operator commands' common parts
(:mod:`shared.commands`).

Import from the modules named here; anything else is an implementation detail.
"""

__all__ = [
    "auth",
    "bus",
    "business_days",
    "catalog",
    "codes",
    "commands",
    "contracts",
    "db",
    "documents",
    "errors",
    "http",
    "idempotency",
    "jobs",
    "migrations",
    "observability",
    "service",
    "settings",
    "web",
]
