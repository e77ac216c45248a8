"""Logs and metrics, configured the same way in every service.

Logs are JSON lines (structlog) carrying the service name and, while an event is handled, its event id
and bill id. Protected health information is never logged: log identifiers, never bill contents.
Credentials never reach a log either: :func:`redact_credentials` runs on every record (ours and the
libraries'), blanking fields named like credentials and any token, key, webhook secret, bearer header or
JWT found in a value. Metrics use prometheus-client's default registry and are served at ``/metrics``.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

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


REDACTED = "[redacted]"
_CREDENTIAL_FIELDS = {
    "authorization",
    "cookie",
    "set-cookie",
    "token",
    "secret",
    "password",
    "api_key",
    "session",
    "client_secret",
    "webhook_secret",
    "id_token",
    "access_token",
    "code_verifier",
}
_CREDENTIAL_VALUES = re.compile(
    r"(prl[uy]_[0-9a-f]{12}_[A-Za-z0-9_\-]+"  # personal tokens and partner keys
    r"|whsec_[A-Za-z0-9_\-]+"  # webhook secrets
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]+=*"  # an Authorization header's value
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)"  # a JWT (session cookie, OIDC token)
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _CREDENTIAL_VALUES.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in _CREDENTIAL_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact_credentials(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Blank credential fields and credential-shaped values anywhere in a log record."""
    for key in list(event):
        if key.lower() in _CREDENTIAL_FIELDS:
            event[key] = REDACTED
        else:
            event[key] = _scrub(event[key])
    return event


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
        redact_credentials,
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
