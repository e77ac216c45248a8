"""Pricing: ``bill.received`` in, ``bill.priced`` out — fee schedule, contract, or three U&C reviews.

On start-up it loads the bundled Medicare files and the configured reference manifest (each skipped when
that content is already loaded) and starts the loop that folds new in-house observations into the U&C
cells.
"""

from __future__ import annotations

import asyncio
from typing import cast

import structlog

from services.pricing import admin_api, api
from services.pricing.config import PricingSettings
from services.pricing.handlers import build_handlers
from services.pricing.importers import load_cms, load_manifest
from services.pricing.models import Base, access, bus
from services.pricing.observations import fold_pending
from shared.service import Runtime, ServiceDefinition

log = structlog.get_logger(__name__)


async def load_reference_data(runtime: Runtime) -> None:
    settings = cast(PricingSettings, runtime.settings)
    async with runtime.sessions() as session, session.begin():
        summaries = await load_cms(session, settings.cms_dir, settings.cms_year)
        if settings.reference_manifest is not None:
            summaries += await load_manifest(session, settings.reference_manifest)
    for summary in summaries:
        log.info(
            "reference.ready",
            dataset=summary.dataset,
            target=summary.target,
            skipped=summary.skipped,
            loaded=summary.rows_loaded,
            rejected=summary.rows_rejected,
        )
    runtime.tasks.append(asyncio.create_task(fold_forever(runtime, settings.uc_fold_seconds)))


async def fold_forever(runtime: Runtime, every: float) -> None:
    """Fold new in-house observations into the U&C cells; a failure is logged and retried."""
    while True:
        try:
            async with runtime.sessions() as session, session.begin():
                folded = await fold_pending(session)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("uc.fold_failed")
            folded = 0
        if folded == 0:
            await asyncio.sleep(every)


DEFINITION = ServiceDefinition(
    name="pricing",
    title="Parley pricing",
    description="Prices every received bill — jurisdiction fee schedule, PPO contract or direct "
    "agreement, or the median of three usual-and-customary reviews — with its audit findings and the "
    "evidence for each line; loads the reference data it prices with.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    settings_cls=PricingSettings,
    routers=[api.router, admin_api.router],
    build_handlers=build_handlers,
    on_startup=load_reference_data,
)

create_app = DEFINITION.create_app
