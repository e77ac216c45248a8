"""Intake's edges against the running service: bad input, idempotency, duplicates, size limit."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest

from tests.helpers import bill, line, submit_bill, unique

pytestmark = pytest.mark.e2e


async def _stored(db: asyncpg.Connection, claim: str) -> tuple[int, int]:
    """Bills stored under this claim number, and outbox events mentioning it."""
    bills = await db.fetchval("SELECT count(*) FROM intake.bills WHERE partner_claim_id = $1", claim)
    events = await db.fetchval("SELECT count(*) FROM intake.outbox WHERE body LIKE '%' || $1 || '%'", claim)
    return int(bills), int(events)


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda b: b["provider"].update(npi="1234567890"), "provider.npi", "check digit"),
        (lambda b: b["provider"].update(tin="12345"), "provider.tin", "9 digits"),
        (lambda b: b["facility"].update(state="ZZ"), "facility.state", "state"),
        (lambda b: b["facility"].update(zip="3311"), "facility.zip", "ZIP"),
        (lambda b: b["lines"][1].update(charge="-5.00"), "lines[1].charge", "greater than or equal to 0"),
        (lambda b: b["lines"][0].update(units=0), "lines[0].units", "greater than 0"),
        (lambda b: b["lines"][0].update(procedure_code="9921"), "lines[0].procedure_code", "CPT"),
        (lambda b: b["lines"][0].update(service_date="2999-01-01"), "lines[0].service_date", "future"),
        (
            lambda b: b["lines"][0].update(modifiers=["25", "59", "LT", "RT", "XS"]),
            "lines[0].modifiers",
            "at most 4",
        ),
        (lambda b: b.update(total_charge="1.00"), "total_charge", "sum of the line charges"),
        (lambda b: b.update(lines=[]), "lines", "at least 1"),
        (lambda b: b.pop("client_id"), "client_id", "required"),
        (lambda b: b.update(unexpected="x"), "unexpected", "not permitted"),
    ],
)
async def test_invalid_bill_gets_422_naming_the_field_and_stores_nothing(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, mutate, field: str, fragment: str
) -> None:
    body = bill()
    mutate(body)
    response = await submit_bill(http, urls, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    named = [e for e in errors if e["field"] == field]
    assert named, f"no error for {field}: {errors}"
    assert any(fragment.lower() in e["message"].lower() for e in named), named
    assert await _stored(db, body.get("partner_claim_id", "")) == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'{"lines": "nope"}', b"\xff\xfe", b"null", json.dumps({"a": 1e400}).encode()],
)
async def test_malformed_bodies_get_422_never_500(
    http: httpx.AsyncClient, urls: dict[str, str], raw: bytes
) -> None:
    response = await http.post(
        f"{urls['intake']}/v1/bills", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text


async def test_every_problem_is_listed_at_once(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    body = bill()
    body["provider"]["npi"] = "123"
    body["lines"][0]["charge"] = "abc"
    body["facility"]["state"] = "XX"
    response = await submit_bill(http, urls, body)
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"provider.npi", "lines[0].charge", "facility.state"} <= fields


async def test_same_idempotency_key_returns_the_first_result(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    body = bill()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await submit_bill(http, urls, body, key)
    second = await submit_bill(http, urls, body, key)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json()
    assert first.headers["Idempotent-Replayed"] == "false"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await _stored(db, body["partner_claim_id"]) == (1, 1)


async def test_concurrent_retries_with_one_key_create_one_bill(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    body = bill()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    responses = await asyncio.gather(*(submit_bill(http, urls, body, key) for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _stored(db, body["partner_claim_id"]) == (1, 1)


async def test_reusing_a_key_for_another_bill_is_refused(
    http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert (await submit_bill(http, urls, bill(), headers=key)).status_code == 201
    other = await submit_bill(http, urls, bill(), headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header:Idempotency-Key"


async def test_same_claim_twice_without_a_key_is_a_conflict(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    body = bill()
    first = await submit_bill(http, urls, body)
    again = await submit_bill(http, urls, body)
    assert again.status_code == 409
    assert first.json()["id"] in again.json()["detail"]
    assert await _stored(db, body["partner_claim_id"]) == (1, 1)


async def test_body_over_the_limit_gets_413(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    body = bill(lines=[line("99213", "1.00", note="x" * 6000) for _ in range(999)])
    response = await submit_bill(http, urls, body)
    assert response.status_code == 413

    async def chunks():
        for _ in range(600):
            yield b"x" * 10_000

    streamed = await http.post(
        f"{urls['intake']}/v1/bills", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_unknown_bill_is_404(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    response = await http.get(f"{urls['intake']}/v1/bills/{uuid.uuid4()}")
    assert response.status_code == 404
    assert (await http.get(f"{urls['intake']}/v1/bills/not-a-uuid")).status_code == 422


async def test_unique_claims_per_client(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    claim = unique("CLM")
    a = await submit_bill(http, urls, bill(claim=claim))
    b = await submit_bill(http, urls, bill(claim=claim))
    assert a.status_code == b.status_code == 201
