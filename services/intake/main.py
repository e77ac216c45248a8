"""Intake: bills from partners in, ``bill.received``/``bill.voided`` out; status and webhooks back out."""

from __future__ import annotations

import asyncio

from services.intake import api, staff_api, status_api, webhooks_api, x12_api
from services.intake.config import IntakeSettings
from services.intake.dispatcher import Dispatcher
from services.intake.handlers import build_handlers
from services.intake.models import Base, access, bus
from shared.service import Runtime, ServiceDefinition


async def start_webhooks(runtime: Runtime) -> None:
    """The webhook dispatcher runs beside the relay and the consumer, and stops with them."""
    assert isinstance(runtime.settings, IntakeSettings)
    dispatcher = Dispatcher(runtime.settings, runtime.engine)
    runtime.tasks.append(asyncio.create_task(dispatcher.run(), name="webhook-dispatcher"))


DEFINITION = ServiceDefinition(
    name="intake",
    title="Parley intake",
    description=(
        "Partners submit medical bills here (JSON or X12 837) and follow each bill's status through "
        "pricing, negotiation and settlement, by polling or by signed webhook.\n\n"
        "**Authentication**: every partner call carries `Authorization: Bearer prly_…`, a key Parley "
        "operations issue per partner and scope to the partner's clients. A partner sees only its own "
        "bills. Staff routes (`/v1/internal/…`, `/v1/audit`, `/v1/me`) take a user token instead, and "
        "each says the roles it admits.\n\n"
        "**Errors** are `application/problem+json` with `errors: [{field, message, type}]` (for X12 also "
        "`segment`, `position`, `element`). Input values are never echoed back.\n\n"
        "**Retries**: send `Idempotency-Key` on POSTs; a retry with the same key returns the first answer."
    ),
    metadata=Base.metadata,
    bus=bus,
    access=access,
    settings_cls=IntakeSettings,
    # In the order the OpenAPI page lists them: a partner submits (JSON, X12), then follows its bills.
    routers=[api.router, x12_api.router, status_api.router, webhooks_api.router, staff_api.router],
    build_handlers=build_handlers,
    on_startup=start_webhooks,
)

create_app = DEFINITION.create_app
