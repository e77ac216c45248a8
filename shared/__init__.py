"""What Parley's services share: settings, event contracts, the bus, database and HTTP helpers.

Import from the modules named here; anything else is an implementation detail.
"""

__all__ = [
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
]
