"""Negotiation: cases routed from pricing, work queues, the provider database, evidence-backed offers,
settlement authority, both sides confirming, deadlines, and the provider's offer page."""

from __future__ import annotations

from services.negotiation import (
    api,
    approvals_api,
    clients_api,
    offer_page,
    offers_api,
    providers_api,
    queues_api,
)
from services.negotiation.config import NegotiationSettings
from services.negotiation.handlers import build_handlers
from services.negotiation.models import Base, access, bus
from services.negotiation.timers import build_jobs
from shared.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="negotiation",
    title="Parley negotiation",
    description="The negotiation workbench: cases routed by what blocks payment (repriced, audit, negotiate, "
    "review), work queues by priority, the provider database by TIN, evidence-backed offers with an "
    "explained opening strategy and quick-pay, settlement authority with supervisors' approvals, both "
    "sides confirming the terms, deadlines in business days, and provider offer links.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    settings_cls=NegotiationSettings,
    routers=[
        api.router,
        offers_api.router,
        approvals_api.router,
        queues_api.router,
        providers_api.router,
        clients_api.router,
        offer_page.router,
    ],
    build_handlers=build_handlers,
    build_jobs=build_jobs,
)

create_app = DEFINITION.create_app
