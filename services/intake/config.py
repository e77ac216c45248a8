"""Intake's own settings, under the same ``PARLEY_`` prefix as everything else (``PARLEY_INTAKE_*``)."""

from __future__ import annotations

from functools import cached_property
from typing import Self

from pydantic import Field, SecretStr, model_validator

from services.intake.secrets import SecretBox, parse_keys
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

    secrets_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys encrypting webhook secrets at rest: the first encrypts, "
        "all decrypt (rotation). Required in production; development and test derive one.",
    )

    @model_validator(mode="after")
    def _keys_are_usable(self) -> Self:
        parse_keys(self.secrets_keys, self.environment)
        return self

    @cached_property
    def secret_box(self) -> SecretBox:
        return SecretBox(parse_keys(self.secrets_keys, self.environment))

    @property
    def webhooks_may_be_private(self) -> bool:
        if self.intake_webhook_allow_private is not None:
            return self.intake_webhook_allow_private
        return self.environment is not Environment.production
