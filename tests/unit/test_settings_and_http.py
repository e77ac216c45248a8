"""Settings validation and the shape of error bodies."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from services.pricing.config import PricingSettings
from shared.http import field_path, install_error_handlers, is_cursor
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


class _Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/notes")
    async def add_note(note: _Note) -> dict[str, str]:
        return {"text": note.text}

    return app


async def test_a_body_that_is_not_json_is_refused_naming_the_body_and_the_character() -> None:
    # It used to name the field "[6]": the character offset read as a list index.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        answer = await client.post("/notes", content=b'{"a": ', headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "1 problem(s) with: body"
    (error,) = answer.json()["errors"]
    assert (error["field"], error["type"]) == ("body", "json_invalid")
    assert error["message"].startswith("not valid JSON at character 6")


async def test_the_frameworks_own_refusals_are_problem_json_too() -> None:
    # Unknown route, wrong method and a body nested too deeply to parse answered {"detail": …} as JSON.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        missing = await client.get("/nothing-here")
        method = await client.get("/notes")
        deep = await client.post(
            "/notes", content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"}
        )
    got = [(a.status_code, a.headers["content-type"], a.json()["title"]) for a in (missing, method, deep)]
    assert got == [
        (404, "application/problem+json", "Not Found"),
        (405, "application/problem+json", "Method Not Allowed"),
        (422, "application/problem+json", "Invalid request"),
    ]
    assert method.headers["allow"] == "POST"
    # Too deep for the parser is the body's fault and says so (it was a bare 400 "error parsing the body").
    assert [(e["field"], e["type"]) for e in deep.json()["errors"]] == [("body", "json_too_deep")]


def test_a_cursor_is_ascii_digits_that_fit_a_bigint() -> None:
    assert is_cursor("123")
    assert is_cursor("9" * 18)
    assert not any(is_cursor(c) for c in ("9" * 19, "²", "١٢", "-1", "", "1e3", " 1"))
