"""Event envelopes and payload versions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.contracts import PAYLOADS, AgreementSignedV1, Envelope, Topic, UnknownEventError


def _signed() -> AgreementSignedV1:
    return AgreementSignedV1(
        agreement_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        bill_id=uuid.uuid4(),
        agreed_amount=Decimal("1234.50"),
        signer_name="Dana",
        signed_at=datetime.now(UTC),
    )


def test_envelope_is_cloudevents_with_the_version_in_dataschema() -> None:
    payload = _signed()
    envelope = Envelope.wrap(payload, source="/parley/agreements", subject=str(payload.bill_id))
    wire = json.loads(envelope.to_bytes())
    assert wire["specversion"] == "1.0"
    assert wire["type"] == "parley.agreement.signed"
    assert wire["dataschema"] == "urn:parley:event:agreement.signed:v1"
    assert wire["subject"] == str(payload.bill_id)
    assert wire["data"]["agreed_amount"] == "1234.50"  # money travels as a string, never a float


def test_round_trip_gives_the_same_payload() -> None:
    payload = _signed()
    envelope = Envelope.from_bytes(Envelope.wrap(payload, source="/t", subject="s").to_bytes())
    assert envelope.payload_class() is AgreementSignedV1
    assert envelope.payload(AgreementSignedV1) == payload


def test_an_unknown_version_is_named() -> None:
    envelope = Envelope.wrap(_signed(), source="/t", subject="s").model_copy(
        update={"dataschema": "urn:parley:event:agreement.signed:v9"}
    )
    with pytest.raises(UnknownEventError, match="v9"):
        envelope.payload_class()


def test_every_payload_is_registered_once_on_a_known_topic() -> None:
    assert len(PAYLOADS) == len({cls for cls in PAYLOADS.values()})
    assert all(cls.topic in Topic for cls in PAYLOADS.values())
