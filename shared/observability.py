"""Logs and metrics, configured the same way in every service.

Logs are JSON lines (structlog) carrying the service name and, while an event is handled, its event id
and bill id. Protected health information is never logged: log identifiers, never bill contents.
Metrics use prometheus-client's default registry and are served at ``/metrics``.
"""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import Counter, Gauge, Histogram

from shared.settings import Settings

EVENTS = Counter(
    "parley_events_total",
    "Consumed events by outcome (processed, duplicate, skipped, retried, dead_lettered).",
    ["service", "group", "event_type", "outcome"],
)
EVENT_SECONDS = Histogram(
    "parley_event_handle_seconds",
    "Time to handle one event, transaction included.",
    ["service", "event_type"],
)
OUTBOX_PUBLISHED = Counter("parley_outbox_published_total", "Outbox rows published to Kafka.", ["service"])
OUTBOX_PENDING = Gauge("parley_outbox_pending", "Outbox rows not yet published.", ["service"])
HTTP_REQUESTS = Counter(
    "parley_http_requests_total",
    "HTTP requests by route and status.",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "parley_http_request_seconds", "HTTP request latency.", ["service", "method", "route"]
)


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library (uvicorn, aiokafka, sqlalchemy) through one JSON renderer."""
    service = settings.service

    def add_service(
        _logger: object, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        event.setdefault("service", service)
        return event

    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # aiokafka logs every rebalance step and retry at INFO; keep its warnings.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    if not settings.log_access:
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
