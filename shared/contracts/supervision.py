"""``negotiation.events`` about a case's supervision and time: approvals beyond settlement authority,
follow-ups due and case clocks (the No Surprises Act's open negotiation period).

The case and offer events themselves are in :mod:`shared.contracts.negotiation`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.contracts.common import CaseEvent, Money


class ApprovalRequestedV1(CaseEvent):
    """An amount beyond the negotiator's settlement authority waits for a supervisor."""

    event_type: ClassVar[str] = "case.approval_requested"
    version: ClassVar[int] = 1

    approval_id: uuid.UUID
    action: str = Field(description="'offer' (send this amount) or 'accept' (accept the provider's).")
    amount: Money
    limit: Money = Field(description="The most the requester may offer or accept alone.")
    rule: str = Field(description="Which authority rule the amount exceeds, in words.")
    reason: str
    requested_by: str
    requested_at: datetime


class ApprovalDecidedV1(CaseEvent):
    event_type: ClassVar[str] = "case.approval_decided"
    version: ClassVar[int] = 1

    approval_id: uuid.UUID
    approved: bool
    reason: str
    decided_by: str
    decided_at: datetime


class FollowUpDueV1(CaseEvent):
    """A payer offer is still unanswered after the client's follow-up interval: call the provider."""

    event_type: ClassVar[str] = "case.follow_up_due"
    version: ClassVar[int] = 1

    offer_id: uuid.UUID
    business_days: int = Field(description="Business days since the offer was made.")
    due_at: datetime


class ClockState(StrEnum):
    started = "started"
    lapsed = "lapsed"  # the period ended without agreement (NSA: the IDR initiation window opens)
    window_closed = "window_closed"  # NSA: the 4 business days to initiate IDR ended too
    met = "met"  # the case agreed within the period
    stopped = "stopped"  # the case ended otherwise


class CaseClockV1(CaseEvent):
    """A case clock (the No Surprises Act's open negotiation period) started, lapsed or ended."""

    event_type: ClassVar[str] = "case.clock"
    version: ClassVar[int] = 1

    clock_id: uuid.UUID
    kind: str = Field(description="'nsa_open_negotiation'.")
    state: ClockState
    started_on: date
    due_on: date = Field(description="Last business day of the period.")
    follow_on_due: date | None = Field(description="NSA: last business day to initiate IDR.")
    at: datetime
