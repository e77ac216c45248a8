"""Typed configuration, read from ``PARLEY_*`` environment variables.

Every service reads the same names; a service that needs more subclasses :class:`Settings` and adds its
own fields under the same prefix. Nothing here opens a connection: engines and clients are built in the
app's lifespan from a settings instance, so importing a module never touches the network.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
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

    db_pool_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a task waits for a pooled connection before failing. An HTTP request that "
        "still fails this way is answered 503 with Retry-After; requests first queue on "
        "`http_db_slots` (below), which answers them sooner.",
    )
    http_db_slots: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="HTTP requests holding a database transaction at once; more wait their turn in "
        "order. Default: the pool (`db_pool_size` + `db_max_overflow`) less two for the relay, the "
        "consumer and other background loops.",
    )
    http_queue_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a request waits for its turn (`http_db_slots`) before it is answered "
        "503 Service Unavailable with `Retry-After` (overload: nothing was done, retry later).",
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
        default=50,
        ge=1,
        le=1000,
        description="Events of one poll (all partitions) applied in one transaction.",
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

    # --- access (shared/auth): tokens, OIDC, browser sessions ---------------------------------------
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified personal/service token or OIDC JWT is remembered in-process; a "
        "revoked token stops working within this time (plus the second its event takes to arrive).",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs browser session cookies; the same value on every service (one sign-in serves "
        "them all). Required in production; development and test derive a fixed default.",
    )
    session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60, description="Browser session lifetime.")
    oidc_issuer: str | None = Field(
        default=None, description="The identity provider's issuer URL; OIDC is off while unset."
    )
    oidc_audience: str | None = Field(
        default=None, description="The `aud` a bearer JWT must carry (e.g. the Keycloak client id `parley`)."
    )
    oidc_jwks_url: str | None = Field(
        default=None, description="Default: `jwks_uri` of the issuer's /.well-known/openid-configuration."
    )
    oidc_roles_claim: str = Field(
        default="roles", description="Dotted path of the roles claim; Keycloak: `realm_access.roles`."
    )
    oidc_clients_claim: str = Field(
        default="parley_clients",
        description="Dotted path of the claim listing the user's clients (`*`: all).",
    )
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description='IdP role or group → Parley role, JSON: `{"cc-negotiators": "negotiator"}`. Unset: '
        "claim values that name a Parley role are taken as they are.",
    )
    oidc_name_claim: str = Field(default="name", description="Claim shown as the user's name.")
    oidc_subject_claim: str = Field(
        default="preferred_username",
        description="Claim used as the user id in the audit log (falls back to `sub`).",
    )
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=600, description="Clock skew allowed on exp/nbf/iat."
    )
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    oidc_client_id: str | None = Field(default=None, description="Browser sign-in: the OIDC client id.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Browser sign-in: a confidential client's secret (unset: public + PKCE)."
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="Browser sign-in: this service's `/signin/callback` as registered at the IdP.",
    )
    oidc_display_name: str = Field(default="company sign-on", description="Shown on the sign-in button.")

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
            if self.session_secret is None or len(self.session_secret.get_secret_value()) < 32:
                raise ValueError("PARLEY_SESSION_SECRET (32 characters or more) must be set in production")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` everywhere but on a developer's or the tests' plain-http loopback."""
        return self.environment is Environment.production

    def session_key(self) -> bytes:
        """The key that signs session cookies: the configured secret, or outside production a fixed
        derivation every process of a dev or test stack agrees on without any plumbing (it is public:
        production refuses to start without a secret of its own)."""
        if self.session_secret is not None:
            return self.session_secret.get_secret_value().encode()
        return hashlib.sha256(b"parley-development-session-key").digest()
