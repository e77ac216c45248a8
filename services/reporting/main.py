"""Reporting: every event in; KPIs, exports, weekly reports and the dashboard out.

On start-up it starts the loop that folds the consumers' KPI deltas into the pre-aggregated tables and
makes sure the next weekly-report run is scheduled.
"""

from __future__ import annotations

import asyncio
from typing import cast

import structlog

from services.reporting import api, exports, fees_api, pages, reports_api
from services.reporting.config import ReportingSettings
from services.reporting.cubes import fold_pending
from services.reporting.handlers import build_handlers
from services.reporting.models import Base, access, bus
from services.reporting.rebuild import needs_rebuild, rebuild
from services.reporting.weekly import build_jobs, schedule_next_run
from shared.service import Runtime, ServiceDefinition

log = structlog.get_logger(__name__)


async def start(runtime: Runtime) -> None:
    settings = cast(ReportingSettings, runtime.settings)
    async with runtime.sessions() as session, session.begin():
        if settings.weekly_reports_enabled:
            await schedule_next_run(session, settings)
        if await needs_rebuild(session):
            bills = await rebuild(session, settings.zone)
            log.info("kpi.rebuilt", bills=bills)
    runtime.tasks.append(asyncio.create_task(fold_forever(runtime, settings.reporting_fold_seconds)))


FOLD_LIMIT = 20000  # deltas per queue and fold


async def fold_forever(runtime: Runtime, every: float) -> None:
    """Fold queued KPI deltas every ``every`` seconds, and again at once while a fold finds more than its
    limit (a backlog); a failure is logged and retried (the deltas stay queued). Waiting after a fold
    that found deltas too, rather than folding again at once, keeps a steady stream of events from
    folding after every consumer batch: a fold is six statements whatever it carries."""
    while True:
        try:
            async with runtime.sessions() as session, session.begin():
                folded = await fold_pending(session, FOLD_LIMIT)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kpi.fold_failed")
            folded = 0
        if folded < FOLD_LIMIT:
            await asyncio.sleep(every)


DEFINITION = ServiceDefinition(
    name="reporting",
    title="Parley reporting",
    description="KPIs of the negotiation service — volume, savings, fees and net savings, turnaround, "
    "the aging pipeline, acceptance and recurring audit patterns — built from every event the platform "
    "emits; CSV exports, weekly reports per client and the dashboard.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    settings_cls=ReportingSettings,
    routers=[api.router, exports.router, fees_api.router, reports_api.router, pages.router],
    build_handlers=build_handlers,
    build_jobs=build_jobs,
    on_startup=start,
)

create_app = DEFINITION.create_app
