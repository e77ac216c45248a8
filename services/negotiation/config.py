"""Negotiation's own settings, with the ``PARLEY_`` prefix of everything else (``PARLEY_NEGOTIATION_*``).

Per-client negotiation rules are not settings: an admin sets them over the API (client_settings.py).
"""

from __future__ import annotations

from pydantic import Field

from shared.settings import Settings


class NegotiationSettings(Settings):
    negotiation_public_url: str | None = Field(
        default=None,
        description="The base URL providers open offer links at (e.g. https://offers.parley.example); "
        "default: the URL the request that issued the link came in on.",
    )
