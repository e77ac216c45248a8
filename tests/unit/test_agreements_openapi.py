"""Agreements' OpenAPI page: every endpoint, parameter and field is described."""

from __future__ import annotations

from typing import Any

from services.agreements.config import AgreementsSettings
from services.agreements.main import create_app


def spec() -> dict[str, Any]:
    return create_app(AgreementsSettings(service="agreements")).openapi()  # nothing connects until it starts


def test_every_agreements_endpoint_parameter_and_field_is_described() -> None:
    document = spec()
    missing = []
    for name, schema in document["components"]["schemas"].items():
        if name in ("HTTPValidationError", "ValidationError"):
            continue  # FastAPI's own
        for prop, body in schema.get("properties", {}).items():
            if "description" not in body and "$ref" not in body:
                missing.append(f"{name}.{prop}")
    for path, operations in document["paths"].items():
        if not path.startswith(("/v1/", "/sign/")):
            continue  # the operations endpoints every service shares
        for method, operation in operations.items():
            if not operation.get("summary") or not operation.get("description"):
                missing.append(f"{method} {path}")
            missing += [
                f"{method} {path} {p['name']}"
                for p in operation.get("parameters", [])
                if not p.get("description") and p["name"] != "Idempotency-Key"
            ]
    assert missing == []


def test_the_signature_endpoint_anyone_could_post_to_is_gone() -> None:
    paths = spec()["paths"]
    assert not [p for p in paths if p.endswith("/signature")]
    assert "/v1/agreements/{agreement_id}/recipients/{role}/link" in paths
