"""``identity.events``: internal users' tokens issued, revoked, changed.

Intake holds internal users and their tokens (``parley users …``); every service keeps a replica of the
token hashes from these events and checks a token by a local lookup. The secret never travels. These
events are keyed by the user id (not a bill id), so one user's changes keep their order.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts.common import Payload, Topic


class UserTokenIssuedV1(Payload):
    """A personal or service token was issued. Carries the SHA-256 of the secret, never the secret."""

    event_type: ClassVar[str] = "user.token_issued"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    token_id: str
    secret_sha256: str = Field(description="Hex SHA-256 of the token's secret part.")
    user_id: str
    name: str
    roles: list[str]
    clients: list[str] = Field(description="Client ids, or ['*'] for every client.")
    expires_at: datetime | None
    issued_at: datetime


class UserTokenRevokedV1(Payload):
    event_type: ClassVar[str] = "user.token_revoked"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    token_id: str
    user_id: str
    revoked_at: datetime


class UserUpdatedV1(Payload):
    """A user's name, roles or clients changed: every token of the user carries the new ones."""

    event_type: ClassVar[str] = "user.updated"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    user_id: str
    name: str
    roles: list[str]
    clients: list[str]
    updated_at: datetime


class UserDisabledV1(Payload):
    """The user may no longer sign in: every token of the user stops working."""

    event_type: ClassVar[str] = "user.disabled"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    user_id: str
    disabled_at: datetime
