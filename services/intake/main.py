"""Intake: bills from partners in, ``bill.received`` out; the partner-facing status of every bill."""

from __future__ import annotations

from services.intake import api
from services.intake.handlers import build_handlers
from services.intake.models import Base, bus
from shared.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="intake",
    title="Parley intake",
    description="Partners submit medical bills here and follow each bill's status through pricing, "
    "negotiation and settlement.",
    metadata=Base.metadata,
    bus=bus,
    routers=[api.router],
    build_handlers=build_handlers,
)

create_app = DEFINITION.create_app
