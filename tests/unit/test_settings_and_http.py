"""Settings validation and the shape of error bodies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.pricing.config import PricingSettings
from shared.http import field_path
from shared.settings import Settings


def test_production_refuses_default_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("PARLEY_KAFKA_BOOTSTRAP", raising=False)
    with pytest.raises(ValidationError, match="PARLEY_DATABASE_URL must be set"):
        Settings(environment="production")
    Settings(
        environment="production", database_url="postgresql+asyncpg://u@db/parley", kafka_bootstrap="k:9092"
    )


def test_fee_schedule_multipliers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_FEE_SCHEDULE_MULTIPLIERS", '{"fl": "1.40", "TX": 2}')
    settings = PricingSettings()
    assert settings.multiplier_for("FL") == (Decimal("1.40"), "FL fee schedule")
    assert settings.multiplier_for("GA") is None
    assert PricingSettings(default_fee_schedule_multiplier=Decimal("1.1")).multiplier_for("GA") == (
        Decimal("1.1"),
        "default fee schedule",
    )


@pytest.mark.parametrize("bad", ['{"ZZ": "1.2"}', '{"FL": "0"}'])
def test_bad_multipliers_are_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("PARLEY_FEE_SCHEDULE_MULTIPLIERS", bad)
    with pytest.raises(ValidationError):
        PricingSettings()


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "lines", 2, "charge"), "lines[2].charge"),
        (("body", "provider", "npi"), "provider.npi"),
        (("body",), "body"),
        (("query", "limit"), "query:limit"),
        (("header", "Idempotency-Key"), "header:Idempotency-Key"),
    ],
)
def test_error_fields_read_like_paths(loc: tuple, path: str) -> None:
    assert field_path(loc) == path
