"""Intake's OpenAPI page is what partners read: every endpoint, parameter and field is described."""

from __future__ import annotations

from typing import Any

from services.intake.config import IntakeSettings
from services.intake.main import create_app


def spec() -> dict[str, Any]:
    return create_app(IntakeSettings(service="intake")).openapi()  # nothing connects until it starts


def test_every_intake_endpoint_parameter_and_field_is_described() -> None:
    document = spec()
    missing = []
    for name, schema in document["components"]["schemas"].items():
        for prop, body in schema.get("properties", {}).items():
            if "description" not in body and "$ref" not in body:
                missing.append(f"{name}.{prop}")
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue  # the operations endpoints every service shares
        for method, operation in operations.items():
            if not operation.get("summary") or not operation.get("description"):
                missing.append(f"{method} {path}")
            missing += [
                f"{method} {path} {p['name']}"
                for p in operation.get("parameters", [])
                if not p.get("description")
            ]
    assert missing == []


def test_examples_for_json_and_x12_and_the_partner_key_scheme() -> None:
    document = spec()
    bills = document["paths"]["/v1/bills"]["post"]["requestBody"]["content"]["application/json"]
    assert {"professional", "institutional", "replacement"} <= set(bills["examples"])
    x12 = document["paths"]["/v1/bills/x12"]["post"]["requestBody"]["content"]["application/edi-x12"]
    assert x12["example"].startswith("ISA*")
    assert document["components"]["securitySchemes"]["PartnerKey"]["scheme"] == "bearer"
