"""Agreements: settlement agreements drafted from agreed terms, sent, and signed."""

from __future__ import annotations

from services.agreements import api
from services.agreements.handlers import build_handlers
from services.agreements.models import Base, access, bus
from shared.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="agreements",
    title="Parley agreements",
    description="Settlement & release agreements: drafted from the terms both sides accepted, sent to the "
    "provider, signed.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    routers=[api.router],
    build_handlers=build_handlers,
)

create_app = DEFINITION.create_app
