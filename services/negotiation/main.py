"""Negotiation: a case per priced bill that can save money, offers until both sides agree, then settled."""

from __future__ import annotations

from services.negotiation import api
from services.negotiation.handlers import build_handlers
from services.negotiation.models import Base, access, bus
from shared.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="negotiation",
    title="Parley negotiation",
    description="Negotiation cases with providers: offers, counter-offers and agreement on terms.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    routers=[api.router],
    build_handlers=build_handlers,
)

create_app = DEFINITION.create_app
