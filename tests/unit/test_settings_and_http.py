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
    endpoints = {"database_url": "postgresql+asyncpg://u@db/parley", "kafka_bootstrap": "k:9092"}
    with pytest.raises(ValidationError, match="PARLEY_SESSION_SECRET"):
        Settings(environment="production", **endpoints)
    with pytest.raises(ValidationError, match="PARLEY_SESSION_SECRET"):
        Settings(environment="production", session_secret="too short", **endpoints)
    Settings(environment="production", session_secret="s" * 32, **endpoints)


def test_pricing_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_UC_PERCENTILE", "75")
    monkeypatch.setenv("PARLEY_UC_BASIS", "allowed")
    monkeypatch.setenv("PARLEY_REFERENCE_MANIFEST", "/data/manifest.json")
    settings = PricingSettings()
    assert (settings.uc_percentile, settings.uc_basis) == (75, "allowed")
    assert str(settings.reference_manifest) == "/data/manifest.json"
    assert settings.uc_far_above_factor == Decimal("2.0")


@pytest.mark.parametrize(
    ("name", "bad"),
    [("PARLEY_UC_PERCENTILE", "100"), ("PARLEY_UC_BASIS", "median"), ("PARLEY_UC_FAR_ABOVE_FACTOR", "1")],
)
def test_bad_pricing_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, bad: str) -> None:
    monkeypatch.setenv(name, bad)
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
