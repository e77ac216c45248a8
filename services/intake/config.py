"""Intake's own settings, under the same ``PARLEY_`` prefix as everything else (``PARLEY_INTAKE_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import Environment, Settings


class IntakeSettings(Settings):
    intake_auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key is remembered in-process; a revoked key stops working "
        "within this time. 0 checks the database on every request.",
    )
    intake_webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Per delivery attempt.")
    intake_webhook_max_attempts: int = Field(
        default=15, ge=1, le=100, description="Attempts before a delivery is marked failed."
    )
    intake_webhook_backoff_seconds: float = Field(
        default=30.0, gt=0, description="Wait after the first failed attempt; doubles each attempt."
    )
    intake_webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    intake_webhook_batch_size: int = Field(default=20, ge=1, le=500, description="Deliveries in flight.")
    intake_webhook_lease_seconds: float = Field(
        default=120.0, gt=0, description="A claimed delivery is re-tried by anyone after this long."
    )
    intake_webhook_poll_seconds: float = Field(default=1.0, gt=0)
    intake_webhook_allow_private: bool | None = Field(
        default=None,
        description="Allow webhook URLs on loopback/private addresses and plain http. Default: allowed "
        "in development and test, refused in production.",
    )

    @property
    def webhooks_may_be_private(self) -> bool:
        if self.intake_webhook_allow_private is not None:
            return self.intake_webhook_allow_private
        return self.environment is not Environment.production
