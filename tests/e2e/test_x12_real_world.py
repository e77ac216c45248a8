"""Real-world 837 files through the intake endpoint, the partner setting for composites, and the facts
pricing needs (MS-DRG, discharge status, unit of measure) kept on the bill and carried in bill.received."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from shared.catalog import service
from shared.stack.devstack import DevStack
from tests.helpers import (
    STAY_LINES,
    KeyMaker,
    auth_header,
    bill,
    inpatient_stay_837i,
    line,
    submit_bill,
    unique,
    x12_claim,
    x12_continued_hl,
    x12_fixture,
    x12_interchange,
)

pytestmark = pytest.mark.e2e


async def post_x12(
    http: httpx.AsyncClient, urls: dict[str, str], text: str, client: str, key: str | None = None
) -> dict[str, Any]:
    response = await http.post(
        f"{urls['intake']}/v1/bills/x12",
        params={"client_id": client},
        content=text.encode(),
        headers={"content-type": "application/edi-x12", **(auth_header(key) if key else {})},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def received_event(db: asyncpg.Connection, bill_id: str) -> dict[str, Any]:
    body = await db.fetchval(
        "SELECT body FROM intake.outbox WHERE key = $1 AND event_type = 'parley.bill.received'", bill_id
    )
    return dict(json.loads(body)["data"])


async def test_a_clearinghouse_file_with_continued_hl_numbers_ingests_all_five_claims(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client, prefix = unique("client"), unique("H") + "-"
    result = await post_x12(http, urls, x12_continued_hl(prefix), client)
    assert (result["created"], result["rejected"]) == (5, 0)
    claims = result["claims"]
    assert [(c["partner_claim_id"], c["bill"]["total_charge"]) for c in claims] == [
        (prefix + "CH-1", "20.00"),
        (prefix + "CH-2", "50.10"),
        (prefix + "CH-3", "11.64"),
        (prefix + "CH-4", "234.00"),
        (prefix + "CH-5", "20.00"),
    ]
    assert [[w["type"] for w in c["warnings"]] for c in claims] == [[]] + [["hl_numbering"]] * 4
    full = (await http.get(f"{urls['intake']}/v1/bills/{claims[3]['bill']['id']}")).json()
    assert [(x["procedure_code"], Decimal(x["units"]), x["charge"]) for x in full["lines"]] == [
        ("90853", Decimal("120"), "234.00")
    ]
    assert len(full["warnings"]) == 1
    assert full["warnings"][0].startswith("X12 HL01 (segment HL at position 5): HL numbering starts at 75")


async def test_the_inpatient_stay_keeps_its_drg_and_bill_received_carries_it(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    result = await post_x12(http, urls, inpatient_stay_837i(unique("STAY")), client)
    (claim,) = result["claims"]
    assert claim["outcome"] == "created", claim["errors"]
    bill_id = claim["bill"]["id"]
    full = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
    assert (full["drg"], full["discharge_status"], full["type_of_bill"], full["total_charge"]) == (
        "885",
        "01",
        "0111",
        "17166.70",
    )
    assert [(x["revenue_code"], Decimal(x["units"]), x["unit_of_measure"]) for x in full["lines"]] == [
        (revenue, Decimal(units), "units") for revenue, _, units in STAY_LINES
    ]
    data = await received_event(db, bill_id)
    assert (data["drg"], data["discharge_status"], data["total_charge"]) == ("885", "01", "17166.70")
    assert {x["unit_of_measure"] for x in data["lines"]} == {"units"}


async def test_an_anesthesia_line_keeps_its_minutes_from_x12_and_json(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection
) -> None:
    client = unique("client")
    segments = [
        s.replace("*UN*61", "*MJ*61") for s in x12_claim(unique("ANES"), [("HC:00142:QK", "1200", "61")])
    ]
    (claim,) = (await post_x12(http, urls, x12_interchange(segments), client))["claims"]
    assert claim["outcome"] == "created", claim["errors"]
    json_bill = bill(client_id=client, lines=[line("00142", "1200.00", modifiers=["QK"], units=61)])
    json_bill["lines"][0]["unit_of_measure"] = "minutes"
    created = await submit_bill(http, urls, json_bill)
    assert created.status_code == 201, created.text
    for bill_id in (claim["bill"]["id"], created.json()["id"]):
        full = (await http.get(f"{urls['intake']}/v1/bills/{bill_id}")).json()
        (anesthesia,) = full["lines"]
        assert (anesthesia["procedure_code"], anesthesia["modifiers"]) == ("00142", ["QK"])
        assert (Decimal(anesthesia["units"]), anesthesia["unit_of_measure"]) == (Decimal("61"), "minutes")
        (event_line,) = (await received_event(db, bill_id))["lines"]
        assert (Decimal(event_line["units"]), event_line["unit_of_measure"]) == (Decimal("61"), "minutes")


async def test_identifiers_with_x12_characters_are_taken_and_found(
    http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    client = unique("client")
    number = f"R{unique('')[1:9]} #01"
    created = await submit_bill(http, urls, bill(client_id=client, claim=f"  {number} "))
    assert created.status_code == 201, created.text
    assert created.json()["partner_claim_id"] == number
    listed = await http.get(
        f"{urls['intake']}/v1/bills", params={"client_id": client, "partner_claim_id": number}
    )
    assert [b["id"] for b in listed.json()["items"]] == [created.json()["id"]]
    (claim,) = (await post_x12(http, urls, x12_interchange(x12_claim(f"X{number}")), client))["claims"]
    assert (claim["outcome"], claim["partner_claim_id"]) == ("created", f"X{number}")


async def test_a_defect_parley_does_not_need_is_a_warning_kept_with_the_bill(
    http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    segments = x12_claim(unique("PTR"))
    segments = [s.replace("***1", "***1.00", 1) if s.startswith("SV1*HC:99214") else s for s in segments]
    (claim,) = (await post_x12(http, urls, x12_interchange(segments), unique("client")))["claims"]
    assert claim["outcome"] == "created", claim["errors"]
    assert [(w["segment"], w["element"], w["type"]) for w in claim["warnings"]] == [
        ("SV1", "SV107", "diagnosis_pointer")
    ]
    full = (await http.get(f"{urls['intake']}/v1/bills/{claim['bill']['id']}")).json()
    assert [x["diagnosis_pointers"] for x in full["lines"]] == [[], [1]]
    assert len(full["warnings"]) == 1
    assert full["warnings"][0].startswith("X12 SV107 (segment SV1 at position 19): diagnosis pointers")


async def test_a_partners_composite_separator_is_refused_until_an_operator_records_it(
    http: httpx.AsyncClient, urls: dict[str, str], make_key: KeyMaker, stack: DevStack
) -> None:
    partner, client = unique("sep"), unique("client")
    key = await make_key(partner, [client])
    env = {**os.environ, "PARLEY_DATABASE_URL": stack.database_url(service("intake"))}

    def parley(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "shared.cli", "intake", "partners", *args],
            env=env,
            capture_output=True,
            text=True,
        )
        assert (done.returncode == 0) is ok, done.stdout + done.stderr
        return done

    example6 = x12_fixture("demo.example6.837")
    (refused,) = (await post_x12(http, urls, example6, client, key))["claims"]
    assert refused["outcome"] == "rejected"
    assert {e["type"] for e in refused["errors"]} == {"component_separator"}

    await asyncio.to_thread(parley, "set", partner, "--composite-separator", ">")
    listed = (await asyncio.to_thread(parley, "list")).stdout
    assert any(partner in row and ">" in row for row in listed.splitlines())
    (taken,) = (await post_x12(http, urls, example6, client, key))["claims"]
    assert taken["outcome"] == "created", taken["errors"]
    assert "component_separator_setting" in {w["type"] for w in taken["warnings"]}
    full = (
        await http.get(f"{urls['intake']}/v1/bills/{taken['bill']['id']}", headers=auth_header(key))
    ).json()
    assert [(x["procedure_code"], x["charge"]) for x in full["lines"]] == [("98940", "145.50")]
    assert any("read with '>' as this partner's setting says" in w for w in full["warnings"])
    # Another partner sending the same file is still refused: the setting is per partner.
    (other,) = (await post_x12(http, urls, example6, unique("client")))["claims"]
    assert other["outcome"] == "rejected"

    await asyncio.to_thread(parley, "set", partner, "--composite-separator", "none")
    replacement = example6.replace(">B>1*", ">B>7*")
    (cleared,) = (await post_x12(http, urls, replacement, client, key))["claims"]
    assert cleared["outcome"] == "rejected"
    bad = await asyncio.to_thread(parley, "set", partner, "--composite-separator", "A", ok=False)
    assert "composite separator" in bad.stderr
    await asyncio.to_thread(parley, "set", unique("nobody"), "--composite-separator", ">", ok=False)
