"""A partner's webhook registration and the log of deliveries to it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="https URL Parley posts status changes to.")
    rotate_secret: bool = Field(
        default=False, description="Issue a new signing secret (the old one stops at once)."
    )


class WebhookOut(BaseModel):
    url: str = Field(description="Where Parley posts status changes.")
    updated_at: datetime = Field(description="When the registration last changed.")
    secret: str | None = Field(
        default=None,
        description="The signing secret. Shown only when it is issued (first registration or rotation): "
        "keep it; Parley will not show it again.",
    )


class AttemptOut(BaseModel):
    attempt: int = Field(description="1 for the first attempt.")
    at: datetime = Field(description="When the attempt started.")
    url: str = Field(description="The URL posted to.")
    status_code: int | None = Field(description="Your endpoint's HTTP status; null if none was received.")
    error: str | None = Field(description="Why the attempt failed (status, timeout, connection error).")
    duration_ms: int = Field(description="How long the attempt took.")


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="The event id (Parley-Event-Id): the same on every attempt.")
    bill_id: uuid.UUID = Field(description="The bill whose status changed.")
    event_type: str = Field(description="bill.status_changed")
    status: Literal["pending", "delivered", "failed"] = Field(description="Where the delivery stands.")
    attempts: int = Field(description="Attempts made so far.")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only).")
    last_status_code: int | None = Field(description="Your endpoint's status on the last attempt.")
    last_error: str | None = Field(description="Why the last attempt failed.")
    created_at: datetime = Field(description="When the status change was queued.")
    delivered_at: datetime | None = Field(description="When your endpoint accepted it.")
    body: dict[str, Any] = Field(description="The JSON document posted.")
    attempt_log: list[AttemptOut] | None = Field(
        default=None, description="Every attempt; on the single-delivery read only."
    )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut] = Field(description="Deliveries, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
