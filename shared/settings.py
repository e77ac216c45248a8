"""Typed configuration, read from ``PARLEY_*`` environment variables.

Every service reads the same names; a service that needs more subclasses :class:`Settings` and adds its
own fields under the same prefix. Nothing here opens a connection: engines and clients are built in the
app's lifespan from a settings instance, so importing a module never touches the network.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PARLEY_"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Settings shared by every service process and by the command line."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    environment: Environment = Environment.development
    service: str = Field(default="parley", description="Name used in logs, metrics and the event source.")

    database_url: str = Field(
        default="postgresql+asyncpg://parley@127.0.0.1:5432/parley",
        description="SQLAlchemy URL of this service's own role (asyncpg driver).",
    )
    db_pool_size: int = Field(default=5, ge=1, le=50)
    db_max_overflow: int = Field(default=5, ge=0, le=50)
    db_pool_pre_ping: bool = Field(
        default=False,
        description="Test each pooled connection before use. With asyncpg this is three round trips "
        "(BEGIN, ping, ROLLBACK) per transaction, a large share of a short request's cost. Off, a "
        "connection lost to a database restart fails one request with 503 (consumers and the relay "
        "retry it) and SQLAlchemy renews the pool.",
    )

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_partitions: int = Field(default=12, ge=1, le=256)
    topic_replication: int = Field(default=1, ge=1, le=5)

    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    outbox_poll_seconds: float = Field(default=1.0, gt=0, description="Fallback poll when no NOTIFY arrives.")
    outbox_retention_days: int = Field(default=7, ge=0, description="Published rows are kept this long.")

    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_backoff_seconds: float = Field(default=0.2, gt=0)
    consumer_backoff_max_seconds: float = Field(default=30.0, gt=0)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    consumer_heartbeat_interval_ms: int = Field(default=2_000, ge=100)
    consumer_max_records: int = Field(default=200, ge=1)
    consumer_batch_size: int = Field(
        default=50, ge=1, le=1000, description="Events of one partition applied in one transaction."
    )

    jobs_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the scheduled-job runner looks for due jobs when idle."
    )
    jobs_max_attempts: int = Field(default=8, ge=1, le=100, description="Failures before a job is failed.")
    jobs_backoff_seconds: float = Field(default=1.0, gt=0)
    jobs_backoff_max_seconds: float = Field(default=300.0, gt=0)

    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Larger request bodies get 413."
    )

    log_level: str = "INFO"
    log_json: bool = True
    log_access: bool = Field(default=False, description="Log every HTTP request (metrics count them anyway).")

    @model_validator(mode="after")
    def _production_needs_real_endpoints(self) -> Self:
        # Defaults point at a developer's loopback; in production they would silently talk to nothing.
        if self.environment is Environment.production:
            for name in ("database_url", "kafka_bootstrap"):
                if name not in self.model_fields_set:
                    raise ValueError(f"PARLEY_{name.upper()} must be set explicitly in production")
        return self
