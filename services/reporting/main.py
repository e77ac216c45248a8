"""Reporting: every event in, KPIs out."""

from __future__ import annotations

from services.reporting import api
from services.reporting.handlers import build_handlers
from services.reporting.models import Base, access, bus
from shared.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="reporting",
    title="Parley reporting",
    description="Volume and savings KPIs, built from every event the platform emits.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    routers=[api.router],
    build_handlers=build_handlers,
)

create_app = DEFINITION.create_app
