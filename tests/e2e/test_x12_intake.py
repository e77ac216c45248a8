"""X12 837 files through the intake endpoint: one bill per claim, answers per claim, nothing half-written."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import asyncpg
import httpx
import pytest

from tests.helpers import (
    KeyMaker,
    auth_header,
    bill,
    submit_bill,
    unique,
    x12_claim,
    x12_fixture,
    x12_interchange,
)

pytestmark = pytest.mark.e2e


async def post_x12(
    http: httpx.AsyncClient, urls: dict[str, str], text: str, client: str, **headers: str
) -> httpx.Response:
    return await http.post(
        f"{urls['intake']}/v1/bills/x12",
        params={"client_id": client},
        content=text.encode(),
        headers={"content-type": "application/edi-x12", **headers},
    )


async def count(db: asyncpg.Connection, client: str) -> int:
    return int(await db.fetchval("SELECT count(*) FROM intake.bills WHERE client_id = $1", client))


async def test_a_sample_file_becomes_a_bill_with_the_files_charges_codes_and_units(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    response = await post_x12(http, urls, x12_fixture("demo.837"), client)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["rejected"], result["interchange_control_number"]) == (
        1,
        0,
        "000000907",
    )
    (claim,) = result["claims"]
    assert (claim["partner_claim_id"], claim["outcome"], claim["position"]) == ("26463774", "created", 26)
    bill_id = claim["bill"]["id"]
    full = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
    assert [(x["procedure_code"], Decimal(x["charge"]), Decimal(x["units"])) for x in full["lines"]] == [
        ("99213", Decimal("40"), Decimal("1")),
        ("87070", Decimal("15"), Decimal("1")),
        ("99214", Decimal("35"), Decimal("1")),
        ("86663", Decimal("10"), Decimal("1")),
    ]
    assert (full["diagnosis_code_set"], full["diagnoses"]) == ("icd9", ["0340", "V7389"])
    event = await db.fetchval(
        "SELECT body FROM intake.outbox WHERE key = $1 AND event_type = 'parley.bill.received'", bill_id
    )
    data = json.loads(event)["data"]
    assert [(x["procedure_code"], x["charge"], x["place_of_service"]) for x in data["lines"]] == [
        ("99213", "40.00", "11"),
        ("87070", "15.00", "11"),
        ("99214", "35.00", "11"),
        ("86663", "10.00", "11"),
    ]
    assert (data["diagnoses"], data["diagnoses_icd9"], data["partner_id"]) == (
        [],
        ["0340", "V7389"],
        "test-partner",
    )


@pytest.mark.parametrize(
    ("name", "claims"),
    [
        ("demo.837", 1),
        ("demo.example1.837", 1),
        ("demo.example2.837", 1),
        ("demo.837i", 1),
        ("institutional-claim.837i", 1),
        ("two-claims-single-provider.837i", 2),
    ],
)
async def test_every_well_formed_sample_file_ingests(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, name: str, claims: int
) -> None:
    client = unique("client")
    response = await post_x12(http, urls, x12_fixture(name), client)
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["rejected"]) == (claims, 0)
    assert await count(db, client) == claims


async def test_an_837_npi_with_a_wrong_check_digit_is_kept_and_named_a_json_one_is_refused(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    response = await post_x12(http, urls, x12_fixture("two-claims-single-provider.837i"), client)
    claims = response.json()["claims"]
    assert [(c["partner_claim_id"], c["outcome"], c["status"]) for c in claims] == [
        ("756048Q", "created", 201),
        ("756049Q", "created", 201),
    ]
    for claim in claims:
        assert claim["errors"] == []
        assert [(w["segment"], w["position"], w["element"], w["type"]) for w in claim["warnings"]] == [
            ("NM1", 8, "NM109", "npi_check_digit")
        ]
    second = claims[1]["bill"]["id"]
    full = (await http.get(f"{urls['intake']}/v1/bills/{second}")).json()
    assert (full["claim_type"], full["type_of_bill"], full["total_charge"]) == (
        "institutional",
        "0131",
        "50.00",
    )
    assert [(x["revenue_code"], x["procedure_code"]) for x in full["lines"]] == [("0300", "85087")]
    assert full["provider"]["npi"] == "1234567890"
    assert len(full["warnings"]) == 2  # the billing NPI names the facility too
    assert all("1234567890 fails its check digit" in w for w in full["warnings"])

    body = bill(client_id=client)
    body["provider"]["npi"] = "1234567890"
    refused = await submit_bill(http, urls, body)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["provider.npi"]
    assert await count(db, client) == 2


async def test_good_claims_of_a_file_are_kept_beside_bad_ones(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    good, bad = (
        x12_claim(unique("G")),
        x12_claim(unique("B"), [("HC:99214", "210", "0"), ("HC:99213", "5", "1")]),
    )
    text = x12_interchange(good, bad)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await post_x12(http, urls, text, client, **key)
    assert [c["outcome"] for c in first.json()["claims"]] == ["created", "rejected"]
    assert first.json()["claims"][1]["errors"][0]["element"] == "SV104"
    assert await count(db, client) == 1
    replay = await post_x12(http, urls, text, client, **key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    again = await post_x12(http, urls, text, client)
    assert [c["status"] for c in again.json()["claims"]] == [409, 422]
    assert await count(db, client) == 1


async def test_example6_is_refused_at_its_composites(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    response = await post_x12(http, urls, x12_fixture("demo.example6.837"), client)
    (claim,) = response.json()["claims"]
    assert claim["outcome"] == "rejected"
    assert ("SV1", "SV101") in {(e["segment"], e["element"]) for e in claim["errors"]}
    assert await count(db, client) == 0


async def test_replacement_and_void_by_claim_frequency(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    client, claim_id = unique("client"), unique("C")
    created = await post_x12(http, urls, x12_interchange(x12_claim(claim_id)), client)
    bill_id = created.json()["claims"][0]["bill"]["id"]
    replacement = x12_interchange(x12_claim(claim_id, [("HC:99213", "90", "1")], frequency="7"))
    replaced = (await post_x12(http, urls, replacement, client)).json()["claims"][0]
    assert (replaced["outcome"], replaced["bill"]["id"], replaced["bill"]["revision"]) == (
        "replaced",
        bill_id,
        2,
    )
    voided = (await post_x12(http, urls, x12_interchange(x12_claim(claim_id, frequency="8")), client)).json()
    assert (voided["claims"][0]["outcome"], voided["claims"][0]["bill"]["status"]) == ("voided", "voided")


@pytest.mark.parametrize(
    ("body", "segment"),
    [
        (b"", "ISA"),
        (b"\x00\xff\xfe garbage", "ISA"),
        (b"ISA*00*" + b"x" * 200, "ISA"),
        (x12_interchange(x12_claim("X")).replace("LX*1~", "~LX*1~").encode(), "ISA"),  # an empty segment
    ],
)
async def test_an_unreadable_file_is_422_and_stores_nothing(
    http: httpx.AsyncClient, urls: dict[str, str], body: bytes, segment: str
) -> None:
    response = await http.post(
        f"{urls['intake']}/v1/bills/x12", params={"client_id": unique("c")}, content=body
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["segment"] == segment


async def test_the_client_comes_from_the_key_or_the_query(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker
) -> None:
    only, other = unique("client"), unique("client")
    single = await make_key(unique("partner"), [only])
    text = x12_interchange(x12_claim(unique("K")))
    implied = await http.post(f"{urls['intake']}/v1/bills/x12", content=text, headers=auth_header(single))
    assert implied.json()["claims"][0]["bill"]["client_id"] == only
    outside = await http.post(
        f"{urls['intake']}/v1/bills/x12",
        params={"client_id": other},
        content=text,
        headers=auth_header(single),
    )
    assert outside.status_code == 403
    several = await http.post(f"{urls['intake']}/v1/bills/x12", content=text)  # the suite's key: all clients
    assert several.status_code == 422
    assert several.json()["errors"][0]["field"] == "query:client_id"


async def test_a_file_over_the_size_limit_is_413(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    text = x12_interchange(x12_claim("BIG"))
    response = await post_x12(http, urls, text + " " * (5 * 1024 * 1024), unique("c"))
    assert response.status_code == 413
