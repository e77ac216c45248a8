"""The CloudEvents 1.0 envelope every message travels in, and the registry of payload contracts."""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.contracts import agreements, bills, identity, negotiation, supervision
from shared.contracts.common import Payload

# --- registry and envelope -----------------------------------------------------------------------


def _contracts(*modules: ModuleType) -> dict[tuple[str, int], type[Payload]]:
    """Every payload class defined in ``modules``, by (type, version): one registry, never a list to keep."""
    found: dict[tuple[str, int], type[Payload]] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Payload) and value.__module__ == module.__name__:
                key = (value.event_type, value.version)
                if key in found:
                    raise RuntimeError(f"two contracts for {key}: {found[key]} and {value}")
                found[key] = value
    return found


PAYLOADS: dict[tuple[str, int], type[Payload]] = _contracts(
    bills, negotiation, supervision, agreements, identity
)

EVENT_TYPE_PREFIX = "parley."

P = TypeVar("P", bound=Payload)


class UnknownEventError(ValueError):
    """The envelope names a (type, version) this build has no contract for."""


class Envelope(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls, payload: Payload, *, source: str, subject: str, event_id: uuid.UUID | None = None
    ) -> Envelope:
        return cls(
            id=event_id or uuid.uuid4(),
            source=source,
            type=EVENT_TYPE_PREFIX + payload.event_type,
            subject=subject,
            time=datetime.now(UTC),
            dataschema=payload.schema_urn(),
            data=payload.model_dump(mode="json"),
        )

    @property
    def event_type(self) -> str:
        return self.type.removeprefix(EVENT_TYPE_PREFIX)

    @property
    def version(self) -> int:
        _, _, tail = self.dataschema.rpartition(":v")
        try:
            return int(tail)
        except ValueError as exc:
            raise UnknownEventError(f"dataschema {self.dataschema!r} carries no version") from exc

    def payload_class(self) -> builtins.type[Payload]:
        try:
            return PAYLOADS[(self.event_type, self.version)]
        except KeyError as exc:
            raise UnknownEventError(f"no contract for {self.type} v{self.version}") from exc

    def payload(self, cls: builtins.type[P]) -> P:
        return cls.model_validate(self.data)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
