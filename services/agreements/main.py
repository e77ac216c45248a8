"""Agreements: settlement & release documents from templates, e-signature by link, sealed executed copies."""

from __future__ import annotations

from pathlib import Path

from services.agreements import api, signing_pages, templates_api
from services.agreements.config import AgreementsSettings
from services.agreements.handlers import build_handlers
from services.agreements.jobs import build_jobs
from services.agreements.lifecycle import desk_for
from services.agreements.models import Base, access, bus
from services.agreements.templates import register_shipped
from shared.service import Runtime, ServiceDefinition


async def on_startup(runtime: Runtime) -> None:
    """Load the sealing certificate (fail fast on a bad one) and register the shipped template."""
    assert isinstance(runtime.settings, AgreementsSettings)
    desk_for(runtime.settings)
    async with runtime.sessions() as session, session.begin():
        await register_shipped(session)


DEFINITION = ServiceDefinition(
    name="agreements",
    title="Parley agreements",
    description="Settlement & release agreements: documents from versioned templates, e-signature by "
    "expiring link (provider, then the payer's countersignature), executed copies sealed with a PAdES "
    "certification signature, certificates of completion, and verification of a PDF.",
    metadata=Base.metadata,
    bus=bus,
    access=access,
    settings_cls=AgreementsSettings,
    # Templates before agreements: /v1/agreements/templates must not be read as an agreement id.
    routers=[templates_api.router, api.router, signing_pages.router],
    build_handlers=build_handlers,
    build_jobs=build_jobs,
    on_startup=on_startup,
    # Page templates (the signing page); ``templates.py`` is the agreement documents' typst templates.
    templates_dir=Path(__file__).parent / "pages",
)

create_app = DEFINITION.create_app
