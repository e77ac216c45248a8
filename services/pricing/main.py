"""Pricing: ``bill.received`` in, ``bill.priced`` out: the Medicare fee schedule × a jurisdiction factor."""

from __future__ import annotations

from typing import cast

import structlog

from services.pricing import api
from services.pricing.config import PricingSettings
from services.pricing.handlers import build_handlers
from services.pricing.models import Base, bus
from services.pricing.reference import load_cms
from shared.service import Runtime, ServiceDefinition

log = structlog.get_logger(__name__)


async def load_reference_data(runtime: Runtime) -> None:
    """Load the configured CMS files unless this exact content is already loaded."""
    settings = cast(PricingSettings, runtime.settings)
    async with runtime.sessions() as session, session.begin():
        for summary in await load_cms(session, settings.cms_dir, settings.cms_year):
            log.info(
                "reference.ready",
                dataset=summary.dataset,
                skipped=summary.skipped,
                loaded=summary.rows_loaded,
                rejected=summary.rows_rejected,
            )


DEFINITION = ServiceDefinition(
    name="pricing",
    title="Parley pricing",
    description="Prices every received bill against the fee schedule of its jurisdiction and shows the "
    "evidence for each line.",
    metadata=Base.metadata,
    bus=bus,
    settings_cls=PricingSettings,
    routers=[api.router],
    build_handlers=build_handlers,
    on_startup=load_reference_data,
)

create_app = DEFINITION.create_app
