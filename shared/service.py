"""One way to build a service: a definition in, a FastAPI app out.

The app's lifespan builds everything that talks to the outside (engine, producer), starts the outbox
relay and the event consumer as supervised tasks, and stops them in reverse order. Nothing is built at
import time, so tests and tools can import any module freely.

Access is wired here for every service alike (:mod:`shared.auth`): the consumer also applies
``identity.events`` to the service's token replica, the authenticator is built in the lifespan, and
every app serves ``/v1/me``, ``/v1/audit``, ``/v1/admin/dlq``, the sign-in pages and ``/static``, with
each route's roles written into its OpenAPI operation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import AccessTables
from shared.auth import pages as sign_in_pages
from shared.auth import routes as access_routes
from shared.auth.authenticator import Authenticator
from shared.auth.dependency import install_openapi_roles, install_sign_in_redirect
from shared.auth.replica import add_identity_handlers
from shared.bus.consumer import EventConsumer, Handlers
from shared.bus.kafka import make_producer
from shared.bus.outbox import Outbox, Tx
from shared.bus.relay import OutboxRelay
from shared.bus.tables import BusTables
from shared.db import create_engine, session_factory
from shared.http import (
    BodyLimitMiddleware,
    RequestMiddleware,
    RequestSlots,
    health_router,
    install_error_handlers,
)
from shared.jobs import JobHandlers, JobRunner
from shared.observability import configure_logging
from shared.settings import Settings
from shared.web import install_pages

log = structlog.get_logger(__name__)

BROKER_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    description: str
    metadata: MetaData
    bus: BusTables
    access: AccessTables
    settings_cls: type[Settings] = Settings
    routers: Sequence[APIRouter] = ()
    build_handlers: Callable[[Any], Handlers] | None = None
    # Scheduled jobs (timers, expiries, recurring reports): see shared/jobs.py.
    build_jobs: Callable[[Any], JobHandlers] | None = None
    # Runs after the engine and producer exist and before consumers start (e.g. loading reference data).
    on_startup: Callable[[Runtime], Awaitable[None]] | None = None
    version: str = "0.1.0"
    # Its page templates (they extend shared/web/templates/base.html); default services/<name>/templates.
    templates_dir: Path | None = None

    def create_app(self, settings: Settings | None = None) -> FastAPI:
        """The app factory uvicorn calls (``services.<name>.main:create_app``)."""
        return create_app(self, settings)

    def handlers(self, settings: Settings) -> Handlers:
        """The service's own handlers plus the token replica's (``identity.events``), for every service."""
        handlers = self.build_handlers(settings) if self.build_handlers is not None else Handlers()
        add_identity_handlers(handlers, self.access.tokens)
        return handlers


@dataclass
class Runtime:
    """What a running service holds: one of each, built in the lifespan, shared by requests and tasks."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer
    outbox: Outbox
    relay: OutboxRelay
    authenticator: Authenticator
    slots: RequestSlots
    consumer: EventConsumer | None = None
    jobs: JobRunner | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def _start_producer(producer: AIOKafkaProducer) -> None:
    """Wait for the broker rather than crash: in a compose or Kubernetes start-up it may come up later."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BROKER_WAIT_SECONDS
    delay = 0.5
    while True:
        try:
            await producer.start()
            return
        except KafkaConnectionError as exc:
            if loop.time() > deadline:
                raise
            log.warning("broker.unreachable", error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background loop alive: a crash is logged and the loop restarted after a pause."""
    delay = 1.0
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("task.crashed", task=name, restart_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def create_app(definition: ServiceDefinition, settings: Settings | None = None) -> FastAPI:
    settings = settings or definition.settings_cls(service=definition.name)
    configure_logging(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        producer = make_producer(settings)
        await _start_producer(producer)
        outbox = Outbox(definition.bus, source=f"/parley/{definition.name}")
        runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            producer=producer,
            outbox=outbox,
            relay=OutboxRelay(settings, engine, definition.bus, producer),
            authenticator=Authenticator(settings, engine, definition.access.tokens),
            slots=RequestSlots(http_slots(settings), settings.http_queue_seconds),
        )
        app.state.authenticator = runtime.authenticator
        if definition.on_startup is not None:
            await definition.on_startup(runtime)
        runtime.tasks.append(asyncio.create_task(_supervise("outbox-relay", runtime.relay.run)))
        runtime.consumer = EventConsumer(
            settings, definition.name, definition.handlers(settings), runtime.sessions, outbox, producer
        )
        runtime.tasks.append(asyncio.create_task(_supervise("consumer", runtime.consumer.run)))
        if definition.build_jobs is not None:
            runtime.jobs = JobRunner(settings, definition.build_jobs(settings), runtime.sessions, outbox)
            runtime.tasks.append(asyncio.create_task(_supervise("jobs", runtime.jobs.run)))
        app.state.runtime = runtime
        log.info("service.started", service=definition.name)
        try:
            yield
        finally:
            for task in runtime.tasks:
                task.cancel()
            for task in runtime.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await producer.stop()
            await engine.dispose()
            log.info("service.stopped", service=definition.name)

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
    )
    app.state.access = definition.access
    install_error_handlers(app)
    install_sign_in_redirect(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(RequestMiddleware, service=definition.name)
    app.include_router(health_router())
    for router in definition.routers:
        app.include_router(router)
    app.include_router(access_routes.router)
    app.include_router(sign_in_pages.router)
    templates = (
        definition.templates_dir
        or Path(__file__).resolve().parents[1] / "services" / definition.name / "templates"
    )
    install_pages(app, definition.name, definition.title, templates)
    install_openapi_roles(app)
    return app


def http_slots(settings: Settings) -> int:
    """Requests holding a transaction at once: the setting, else the pool less two connections kept
    for the relay, the consumer and the other background loops."""
    if settings.http_db_slots is not None:
        return settings.http_db_slots
    return max(1, settings.db_pool_size + settings.db_max_overflow - 2)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def transaction(request: Request) -> AsyncIterator[Tx]:
    """One transaction per request, committed when the endpoint returns and before the response is sent.

    Under overload the request waits its turn (:class:`shared.http.RequestSlots`) and is answered 503
    with ``Retry-After`` if it does not come soon enough. The body is received before the turn is taken
    (:func:`_received`)."""
    runtime = runtime_of(request)
    await _received(request)
    async with runtime.slots.turn(), runtime.sessions() as session, session.begin():
        yield Tx(session, runtime.outbox)


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for reads, taken like :func:`transaction`'s (the body first, then a turn)."""
    runtime = runtime_of(request)
    await _received(request)
    async with runtime.slots.turn(), runtime.sessions() as session:
        yield session


async def _received(request: Request) -> None:
    """Receive the whole request body before the request takes one of the shared slots, so a client that
    sends its body slowly holds only its own connection, never a slot every other request waits for
    (found by trying it: a dozen slow uploads, some to public signing links, made a service answer 503
    to everyone). Starlette keeps the body on the request for the endpoint (``body()``, ``form()`` and
    ``stream()`` all replay it); it is at most ``max_body_bytes`` (``shared.http.BodyLimitMiddleware``)."""
    # "Stream consumed": FastAPI parsed it already (form fields), so it has all arrived.
    with contextlib.suppress(RuntimeError):
        await request.body()


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
# scope="function": the commit happens before the response leaves, so a 201 means it is stored.
TxDep = Annotated[Tx, Depends(transaction, scope="function")]
SessionDep = Annotated[AsyncSession, Depends(read_session, scope="function")]
