"""Reference files as CMS, hospitals and payers ship them, loaded through the pricing admin API.

Each test posts a real file (tests/fixtures/pricing/cms, tic; see the README there) or one built here,
then reads back what landed in pricing's tables. Edit sets and sources are ones no pricing test uses
(``dme`` MUEs, the ``hospital`` PTP set unloaded again, GPCI year 2099, observation codes and states the
U&C tests do not price), so the decisions other tests check are untouched.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import httpx
import pytest

from shared.catalog import service
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack, EmbeddedInfrastructure

pytestmark = pytest.mark.e2e

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "pricing"


async def _load(
    http: httpx.AsyncClient, urls: dict[str, str], dataset: str, body: bytes, **params: str | int
) -> httpx.Response:
    return await http.post(f"{urls['pricing']}/v1/reference/{dataset}", content=body, params=params)


async def _loaded(
    http: httpx.AsyncClient, urls: dict[str, str], dataset: str, body: bytes, **params: str | int
) -> dict:
    response = await _load(http, urls, dataset, body, **params)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_cms_layouts_as_shipped_load_with_their_values(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    http = staff["admin"]  # reference data is the admin's
    mue = await _loaded(
        http,
        urls,
        "mue",
        (FIXTURES / "cms" / "MUE_Practitioner_Eff_10-01-2026_excerpt.csv").read_bytes(),
        target="dme",
    )
    assert mue["skipped"] or (mue["rows_loaded"], mue["rows_rejected"]) == (6, 0)
    limits = await db.fetch(
        "SELECT hcpcs, mue_value, adjudication_indicator, rationale FROM pricing.mue_limits "
        "WHERE edit_set = 'dme' ORDER BY hcpcs"
    )
    assert [tuple(r) for r in limits] == [
        ("0001U", 1, "2", "Code Descriptor / CPT Instruction"),
        ("71046", 2, "3", "Clinical: Data"),
        ("99213", 2, "3", "Clinical: Data"),
        ("E0114", 0, "3", "CMS Policy"),
        ("J1885", 8, "3", "Prescribing Information"),
        ("K0001", 0, "3", "CMS Policy"),
    ]

    sample = (FIXTURES / "cms" / "NCCI_PTP_practitioner_layout_sample.txt").read_bytes()
    try:
        ptp = await _loaded(http, urls, "ncci", sample, target="hospital", source="NCCI_PTP.TXT")
        assert (ptp["rows_loaded"], ptp["rows_rejected"]) == (6, 0)
        edits = await db.fetch(
            "SELECT column1, column2, effective_from, deleted_on, modifier_indicator "
            "FROM pricing.ncci_ptp_edits WHERE edit_set = 'hospital' ORDER BY column1, column2"
        )
        assert [tuple(r) for r in edits] == [
            ("20610", "76942", date(2015, 1, 1), None, "1"),
            ("36415", "36410", date(2020, 1, 1), date(2020, 1, 1), "9"),
            ("71046", "71045", date(2015, 1, 1), None, "0"),  # blank deletion date
            ("93000", "93005", date(2000, 1, 1), None, "0"),  # "*" deletion date
            ("97110", "97750", date(2015, 1, 1), date(2024, 1, 1), "1"),
            ("99214", "99213", date(1996, 1, 1), None, "0"),
        ]
    finally:  # nothing else loads hospital edits: empty the set again, on purpose (an unload)
        emptied = await http.delete(
            f"{urls['pricing']}/v1/reference/ncci",
            params={"target": "hospital", "reason": "test: leave it empty"},
        )
    assert (emptied.status_code, emptied.json()["rows_removed"]) == (200, 6), emptied.text
    assert await db.fetchval("SELECT count(*) FROM pricing.ncci_ptp_edits WHERE edit_set = 'hospital'") == 0

    gpci = await _loaded(http, urls, "gpci", (FIXTURES / "cms" / "GPCI2025.xlsx").read_bytes(), year=2099)
    assert gpci["skipped"] or (gpci["rows_loaded"], gpci["rows_rejected"], gpci["notes"]) == (109, 0, [])
    alaska = await db.fetchrow(
        "SELECT mac, locality, work, pe, mp FROM pricing.gpci WHERE year = 2099 AND state = 'AK'"
    )
    assert tuple(alaska) == ("02102", "01", Decimal("1.500"), Decimal("1.081"), Decimal("0.592"))
    # The Excel release holds exactly what the CSV loaded at start-up (year 2025) holds.
    differ = await db.fetchval(
        "SELECT count(*) FROM ((SELECT mac, state, locality, locality_name, work, pe, mp FROM pricing.gpci "
        "WHERE year = 2099 EXCEPT SELECT mac, state, locality, locality_name, work, pe, mp FROM pricing.gpci "
        "WHERE year = 2025) UNION ALL (SELECT mac, state, locality, locality_name, work, pe, mp FROM "
        "pricing.gpci WHERE year = 2025 EXCEPT SELECT mac, state, locality, locality_name, work, pe, mp "
        "FROM pricing.gpci WHERE year = 2099)) d"
    )
    assert differ == 0


OBSERVATIONS = (
    "kind,setting,code,amount,state,note\n"
    "charge,professional,45378,1400.00,VT,screening — diagnostic\n"
    "charge,professional,45378,1600.00,VT,plain\n"
)


async def test_text_in_any_shipped_encoding_loads_and_an_undecodable_file_names_byte_and_line(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    http = staff["admin"]  # reference data is the admin's
    for target, body, note in (
        (
            "enc-cp1252",
            OBSERVATIONS.encode("cp1252"),
            "byte 83 (line 2) is 0x97, not UTF-8: read as Windows-1252",
        ),
        (
            "enc-utf16",
            codecs.BOM_UTF16_LE + OBSERVATIONS.encode("utf-16-le"),
            "read as UTF-16 (little-endian, from its byte-order mark)",
        ),
        ("enc-utf8-bom", codecs.BOM_UTF8 + OBSERVATIONS.encode(), None),
    ):
        loaded = await _loaded(http, urls, "observations", body, target=target, source=f"{target}.csv")
        assert loaded["rows_loaded"] == 2
        assert loaded["notes"] == ([f"{target}.csv: {note}"] if note else [])
        rows = await db.fetch(
            "SELECT kind, setting, code, amount, state FROM pricing.observations WHERE origin_ref = $1 "
            "ORDER BY amount",
            target,
        )
        assert [tuple(r) for r in rows] == [
            ("charge", "professional", "45378", Decimal("1400.00"), "VT"),
            ("charge", "professional", "45378", Decimal("1600.00"), "VT"),
        ]
    record = (
        await http.get(f"{urls['pricing']}/v1/reference/loads", params={"dataset": "observations"})
    ).json()
    by_target = {r["target"]: r for r in record}
    assert by_target["enc-cp1252"]["notes"] == [
        "enc-cp1252.csv: byte 83 (line 2) is 0x97, not UTF-8: read as Windows-1252"
    ]

    undecodable = OBSERVATIONS.encode("cp1252") + b"charge,professional,45378,1500.00,VT,\x81\n"
    before = await db.fetchval("SELECT count(*) FROM pricing.observations WHERE origin_ref = 'enc-bad'")
    refused = await _load(http, urls, "observations", undecodable, target="enc-bad", source="bad.csv")
    assert refused.status_code == 422
    offset = len(OBSERVATIONS.encode("cp1252")) + len("charge,professional,45378,1500.00,VT,")
    assert f"byte {offset} (line 4) is 0x81, undefined in Windows-1252" in refused.json()["detail"]
    assert refused.json()["detail"].startswith("bad.csv: cannot be read as text: byte 83 (line 2) is 0x97")
    assert (
        await db.fetchval("SELECT count(*) FROM pricing.observations WHERE origin_ref = 'enc-bad'")
        == before
        == 0
    )

    # Hospital JSON with a byte-order mark was refused before ("invalid char"): it loads like the plain one.
    bom_json = codecs.BOM_UTF8 + (FIXTURES / "hpt_v3.json").read_bytes()
    hpt = await _loaded(http, urls, "hpt", bom_json, target="west-mercy-bom", source="hpt_bom.json")
    assert hpt["rows_loaded"] > 0
    er = await db.fetch(
        "SELECT kind, sum(weight) AS w FROM pricing.observations WHERE origin_ref = 'west-mercy-bom' "
        "AND code = '99283' GROUP BY kind ORDER BY kind"
    )
    assert [(r["kind"], r["w"]) for r in er] == [("allowed", 299 + 175), ("cash", 1), ("charge", 1)]


def _hpt_csv(rows: list[str]) -> bytes:
    head = (
        "hospital_name,last_updated_on,version,hospital_address,type_2_npi\n"
        'Green Valley Hospital,2026-03-01,3.0.0,"1 Main St, Burlington, VT 05401",1003000126\n'
        "description,code|1,code|1|type,setting,standard_charge|gross,standard_charge|discounted_cash,"
        "payer_name,plan_name,standard_charge|negotiated_dollar,standard_charge|methodology,median_amount,"
        "10th_percentile,90th_percentile,count\n"
    )
    return (head + "".join(r + "\n" for r in rows)).encode()


async def test_hospital_negotiated_dollars_per_payer_and_placeholders_counted(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    http = staff["admin"]  # reference data is the admin's
    body = _hpt_csv(
        [
            "MRI brain,70553,CPT,outpatient,2500,2000,Alpha,PPO,999999999,fee schedule,,,,",
            "MRI brain,70553,CPT,outpatient,2500,2000,Beta,HMO,900,fee schedule,,,,",
            "MRI brain,70553,CPT,outpatient,2500,2000,Gamma,EPO,N/A,other,850,,,lots",
            "MRI brain,70553,CPT,outpatient,2500,2000,Delta,POS,0,fee schedule,,,,",
            "Room and board semi-private,0120,RC,inpatient,3000,2700,Beta,HMO,1800,per diem,,,,",
            "Room and board semi-private,0120,RC,inpatient,3000,2700,Alpha,PPO,-1,per diem,,,,",
            "Colonoscopy,45378,CPT,outpatient,N/A,N/A,Alpha,PPO,N/A,fee schedule,,,,",
        ]
    )
    loaded = await _loaded(http, urls, "hpt", body, target="green-valley", source="green_valley.csv")
    assert loaded["skipped"] or (loaded["rows_loaded"], loaded["rows_rejected"]) == (6, 1)
    if not loaded["skipped"]:
        assert loaded["rejections"] == [
            {
                "row": "10",
                "reason": "no gross charge, cash price, negotiated dollars or allowed-amount percentiles",
            }
        ]
        assert sorted(loaded["notes"]) == [
            "allowed-amount percentiles kept out: count is not a whole number: 1",
            "discounted_cash kept out as a placeholder (text such as N/A): 1",
            "gross kept out as a placeholder (text such as N/A): 1",
            "negotiated_dollar kept out as a placeholder (999999999 or too large for a price): 1",
            "negotiated_dollar kept out as a placeholder (text such as N/A): 2",
            "negotiated_dollar kept out as a placeholder (zero or negative): 2",
        ]
    found = await db.fetch(
        "SELECT code, kind, amount, weight, state, zip3, observed_on FROM pricing.observations "
        "WHERE origin_ref = 'green-valley' ORDER BY code, kind, amount"
    )
    vt = ("VT", "054", date(2026, 3, 1))
    assert [tuple(r) for r in found] == [
        ("70553", "allowed", Decimal("900.00"), 1, *vt),  # Beta HMO; Alpha's 999999999 and Delta's 0 skipped
        ("70553", "cash", Decimal("2000.00"), 1, *vt),  # kept although Gamma's payer fields are bad
        ("70553", "charge", Decimal("2500.00"), 1, *vt),
        ("RC0120", "cash", Decimal("2700.00"), 1, *vt),
        ("RC0120", "charge", Decimal("3000.00"), 1, *vt),
        ("RC0120", "per_diem", Decimal("1800.00"), 1, *vt),  # a daily amount, never compared with dollars
    ]


def _real(name: str) -> bytes:
    """A CMS example file as published."""
    return (FIXTURES / "tic" / name).read_bytes()


def _republished(name: str, last_updated_on: str) -> bytes:
    """The same rates in a file dated later: rates that expired before that date are no longer in force."""
    document = json.loads(_real(name))
    document["last_updated_on"] = last_updated_on
    return json.dumps(document).encode()


async def test_tic_in_network_rates_by_kind_provider_references_resolved_expired_kept_out(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    http = staff["admin"]  # reference data is the admin's
    later = _republished("tic_in_network_mixed_rate_types.json", "2025-02-01")
    refused = await _load(http, urls, "tic", later, target="tic-mixed-expired", source="mixed.json")
    assert refused.status_code == 422  # every rate expired on 2024-12-31: nothing would be loaded
    detail = refused.json()["detail"]
    assert "in-network rates kept out of U&C: expired before the file's date 2025-02-01: 6" in detail
    assert "derived (an internal accounting price, not a payment): 1" in detail
    assert "fee schedule (the member's cost-sharing basis): 1" in detail
    assert (
        await db.fetchval("SELECT count(*) FROM pricing.observations WHERE origin_ref = 'tic-mixed-expired'")
        == 0
    )

    loaded = await _loaded(
        http, urls, "tic", _real("tic_in_network_mixed_rate_types.json"), target="tic-mixed"
    )
    assert loaded["skipped"] or (loaded["rows_loaded"], loaded["rows_rejected"]) == (6, 0)
    if not loaded["skipped"]:
        assert sorted(loaded["notes"]) == [
            "in-network rates kept out of U&C: derived (an internal accounting price, not a payment): 1",
            "in-network rates kept out of U&C: fee schedule (the member's cost-sharing basis): 1",
        ]
    rows = await db.fetch(
        "SELECT kind, setting, code, amount, weight, facility_npi, observed_on FROM pricing.observations "
        "WHERE origin_ref = 'tic-mixed' ORDER BY code, kind, setting, facility_npi"
    )
    on = date(2024, 1, 15)  # the file's last_updated_on
    # Reference 1: TINs 12-3456789 (first NPI 1234567890) and 23-4567890 (4567890123); reference 2: TIN
    # 34-5678901 (5678901234). One observation per contract.
    assert [tuple(r) for r in rows] == [
        ("allowed", "facility", "27447", Decimal("12000.00"), 1, "1234567890", on),  # references 1 and 2
        ("allowed", "facility", "27447", Decimal("12000.00"), 1, "4567890123", on),
        ("allowed", "facility", "27447", Decimal("12000.00"), 1, "5678901234", on),
        (
            "percent_of_billed",
            "professional",
            "97110",
            Decimal("65.00"),
            1,
            "1234567890",
            on,
        ),  # 65% of billed
        ("percent_of_billed", "professional", "97110", Decimal("65.00"), 1, "4567890123", on),
        ("allowed", "professional", "99214", Decimal("150.00"), 1, "1234567890", on),
        ("allowed", "professional", "99214", Decimal("150.00"), 1, "4567890123", on),
        ("allowed", "facility", "99285", Decimal("2500.00"), 1, "5678901234", on),
        ("percent_of_billed", "professional", "99285", Decimal("75.50"), 1, "5678901234", on),
        ("per_diem", "facility", "RC0200", Decimal("5500.00"), 1, "5678901234", on),  # ICU, a day
    ]
    # The U&C cells hold each kind apart: the reviews read only charge or allowed.
    cells = await db.fetch(
        "SELECT kind, amount, n FROM pricing.uc_cells WHERE code = '97110' AND scope = 'US' "
        "AND kind = 'percent_of_billed'"
    )
    assert [tuple(c) for c in cells] == [("percent_of_billed", Decimal("65.00"), 2)]

    # Provider references after the rates that name them (the schema allows any key order): the same rows.
    document = json.loads(_real("tic_in_network_mixed_rate_types.json"))
    reordered = {k: v for k, v in document.items() if k != "provider_references"}
    reordered["provider_references"] = document["provider_references"]
    await _loaded(http, urls, "tic", json.dumps(reordered).encode(), target="tic-mixed-reordered")
    columns = "kind, setting, code, amount, weight, facility_npi"
    same = await db.fetchval(
        f"SELECT count(*) FROM ((SELECT {columns} FROM pricing.observations WHERE origin_ref = 'tic-mixed' "
        f"EXCEPT ALL SELECT {columns} FROM pricing.observations WHERE origin_ref = 'tic-mixed-reordered') "
        f"UNION ALL (SELECT {columns} FROM pricing.observations WHERE origin_ref = 'tic-mixed-reordered' "
        f"EXCEPT ALL SELECT {columns} FROM pricing.observations WHERE origin_ref = 'tic-mixed')) d"
    )
    assert same == 0
    truncated = _real("tic_in_network_mixed_rate_types.json")[:-40]
    broken = await _load(http, urls, "tic", truncated, target="tic-broken", source="broken.json")
    assert broken.status_code == 422
    assert broken.json()["detail"].startswith("broken.json: not valid JSON")
    assert await db.fetchval("SELECT count(*) FROM pricing.observations WHERE origin_ref = 'tic-broken'") == 0

    tin = await _loaded(http, urls, "tic", _real("tic_in_network_tin_only.json"), target="tic-tin")
    assert tin["skipped"] or tin["rows_loaded"] == 1
    only = await db.fetch(
        "SELECT kind, setting, code, amount, weight, facility_npi, state FROM pricing.observations "
        "WHERE origin_ref = 'tic-tin'"
    )
    assert [tuple(r) for r in only] == [("allowed", "facility", "27447", Decimal("123.45"), 1, None, None)]
    assert await db.fetchval("SELECT count(*) FROM pricing.observations WHERE facility_npi = '0'") == 0

    single = await _loaded(
        http, urls, "tic", _real("tic_in_network_ffs_single_plan.json"), target="tic-single"
    )
    assert single["skipped"] or single["rows_loaded"] == 5
    weights = await db.fetch(
        "SELECT setting, code, amount, weight FROM pricing.observations WHERE origin_ref = 'tic-single' "
        "ORDER BY code, setting, amount"
    )
    # Reference 1 names two TINs whose NPI lists are the same: two contracts, one place, weight 2.
    assert [tuple(r) for r in weights] == [
        ("facility", "27447", Decimal("1230.45"), 2),
        ("professional", "27447", Decimal("120.45"), 2),
        ("professional", "27447", Decimal("123.45"), 2),
        ("facility", "27448", Decimal("12.45"), 2),
        ("professional", "27448", Decimal("12003.45"), 2),
    ]
    again = await _load(http, urls, "tic", _real("tic_in_network_ffs_single_plan.json"), target="tic-single")
    assert (again.status_code, again.json()["skipped"]) == (200, True)


async def test_json_nested_past_the_limit_is_refused_at_its_byte_before_memory_grows(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    # 60 KB of nested arrays made pricing use 2.1 GB (ijson keeps each open level's path: memory grows
    # with the square of the depth); 200 KB got it killed. Refused at level 65, before ijson reads it.
    http = staff["admin"]
    loads_before = await db.fetchval("SELECT count(*) FROM pricing.reference_loads")
    cases = [
        ("hpt", b'{"hospital_name": "x", "standard_charge_information": ', {"target": "deep-hpt"}),
        ("tic", b'{"in_network": ', {"target": "deep-tic"}),
        ("fee-schedules", b"", {}),
        ("contracts", b"", {}),
        ("networks", b"", {}),
        ("clients", b"", {}),
    ]
    for dataset, prefix, params in cases:
        body = prefix + b"[" * 200_000 + b"]" * 200_000 + (b"}" if prefix else b"")
        response = await _load(http, urls, dataset, body, **params)
        assert response.status_code == 422, (dataset, response.status_code, response.text)
        # The level too many: the prefix's object is level 1, so it is the 64th "[" (65th without one).
        offset = len(prefix) + 63 if prefix else 64
        assert response.json()["errors"] == [
            {
                "field": f"body:byte {offset}",
                "message": "JSON nested deeper than 64 levels",
                "type": "too_deep",
            }
        ], dataset
        assert f"JSON nested deeper than 64 levels at byte {offset}" in response.json()["detail"]
    assert (await http.get(f"{urls['pricing']}/healthz")).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM pricing.reference_loads") == loads_before
    # 64 levels is still read: a definitions file nested exactly to the limit is judged on its items.
    at_limit = b"[" + b"[" * 63 + b"]" * 63 + b"]"
    response = await _load(http, urls, "networks", at_limit)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body:row 1"


NO_ROWS = [{"field": "body", "message": "no row to load", "type": "no_rows"}]


async def test_a_file_with_no_row_to_load_is_refused_and_changes_nothing(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    # A header-only CLFS answered 201 and took CLFS 2025 from 2,149 rows to 0.
    http = staff["admin"]
    await _loaded(http, urls, "observations", OBSERVATIONS.encode(), target="kept-source")
    await _loaded(http, urls, "tic", _real("tic_in_network_mixed_rate_types.json"), target="kept-tic")
    clfs = (PROJECT_ROOT / "services" / "pricing" / "data" / "cms" / "CLFS_2025_Q4V1.csv").read_bytes()
    counts = {
        "clfs": "SELECT count(*) FROM pricing.clfs_rates WHERE year = 2025",
        "observations": "SELECT count(*) FROM pricing.observations WHERE origin_ref = 'kept-source'",
        "tic": "SELECT count(*) FROM pricing.observations WHERE origin_ref = 'kept-tic'",
        "zip5": "SELECT count(*) FROM pricing.zip_localities WHERE plus4_low = ''",
        "fee-schedules": "SELECT count(*) FROM pricing.fee_schedules",
    }
    before = {name: await db.fetchval(query) for name, query in counts.items()}
    assert before["clfs"] == 2149
    assert all(before.values()), before
    loads_before = await db.fetchval("SELECT count(*) FROM pricing.reference_loads")
    for dataset, body, params in (
        ("clfs", b"\n".join(clfs.split(b"\n")[:5]) + b"\n", {"year": 2025}),  # title, preamble, header
        ("observations", b"kind,setting,code,amount,state,note\n", {"target": "kept-source"}),
        ("tic", b'{"last_updated_on": "2024-01-15", "in_network": []}', {"target": "kept-tic"}),
        ("zip5", b"\n\n", {}),
        ("fee-schedules", b"[]", {}),
    ):
        refused = await _load(http, urls, dataset, body, **params)
        assert refused.status_code == 422, (dataset, refused.status_code, refused.text)
        assert refused.json()["errors"] == NO_ROWS, dataset
        assert "holds no row to load" in refused.json()["detail"]
        assert f"DELETE /v1/reference/{dataset}" in refused.json()["detail"]
    assert {name: await db.fetchval(query) for name, query in counts.items()} == before
    assert await db.fetchval("SELECT count(*) FROM pricing.reference_loads") == loads_before


async def test_an_unload_empties_one_unit_on_purpose_audited_and_the_file_loads_again(
    stack: DevStack, staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    http, base = staff["admin"], f"{urls['pricing']}/v1/reference"
    source = f"unload-{uuid.uuid4().hex[:8]}"
    await _loaded(http, urls, "observations", OBSERVATIONS.encode(), target=source, source="obs.csv")
    count = "SELECT count(*) FROM pricing.observations WHERE origin_ref = $1"
    assert await db.fetchval(count, source) == 2

    # Refused, naming the parameter: what a unit is depends on the dataset.
    for dataset, params, field in (
        ("clfs", {}, "query:year"),
        ("zip5", {"year": 2025}, "query:year"),
        ("observations", {}, "query:target"),
        ("ncci", {"target": "dentists"}, "query:target"),
        ("zip5", {"target": "33"}, "query:target"),
    ):
        answer = await http.delete(f"{base}/{dataset}", params={**params, "reason": "checking"})
        assert answer.status_code == 422, (dataset, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == [field], dataset
    no_reason = await http.delete(f"{base}/observations", params={"target": source})
    assert [e["field"] for e in no_reason.json()["errors"]] == ["query:reason"]
    for role in ("auditor", "negotiator"):
        answer = await staff[role].delete(
            f"{base}/observations", params={"target": source, "reason": "x" * 5}
        )
        assert answer.status_code == 403, role
    missing = await http.delete(f"{base}/clfs", params={"year": 2099, "reason": "typo check"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "nothing is loaded in clfs for year 2099; nothing changed"
    assert (await http.delete(f"{base}/nothing", params={"reason": "typo"})).status_code == 404
    assert await db.fetchval(count, source) == 2

    emptied = await http.delete(
        f"{base}/observations", params={"target": source, "reason": "wrong payer file"}
    )
    assert emptied.status_code == 200, emptied.text
    assert emptied.json() == {
        "dataset": "observations",
        "year": None,
        "target": source,
        "rows_removed": 2,
        "reason": "wrong payer file",
    }
    assert await db.fetchval(count, source) == 0
    record = (await http.get(f"{base}/loads", params={"dataset": "observations", "limit": 1})).json()[0]
    assert (record["target"], record["source"], record["sha256"]) == (source, "(unloaded)", "")
    assert record["notes"] == [
        "unloaded observation source " + repr(source) + ": 2 rows removed",
        "reason: wrong payer file",
    ]
    entries = (
        await http.get(f"{urls['pricing']}/v1/audit", params={"action": "unload:reference", "limit": 20})
    ).json()["items"]
    mine = [e for e in entries if (e["detail"] or {}).get("target") == source]
    assert [(e["actor_kind"], e["object_id"], e["detail"]["rows_removed"]) for e in mine] == [
        ("user", "observations", 2)
    ]
    # The same file loads again (it is no longer "already loaded"), and again it can be unloaded.
    again = await _loaded(http, urls, "observations", OBSERVATIONS.encode(), target=source, source="obs.csv")
    assert (again["skipped"], again["rows_loaded"]) == (False, 2)
    assert (
        await http.delete(f"{base}/observations", params={"target": source, "reason": "second time"})
    ).status_code == 200
    assert (
        await http.delete(f"{base}/observations", params={"target": source, "reason": "third time"})
    ).status_code == 404

    # The commands do the same, as the operator (its OS account in the audit log): on the `make up` stack
    # with --embedded (no PARLEY_DATABASE_URL needed), or on any database with PARLEY_DATABASE_URL.
    assert isinstance(stack.infra, EmbeddedInfrastructure), "--embedded is the embedded stack's option"
    plain = {k: v for k, v in os.environ.items() if k != "PARLEY_DATABASE_URL"} | {"COLUMNS": "200"}
    with_url = plain | {"PARLEY_DATABASE_URL": stack.database_url(service("pricing"))}
    embedded = ["--embedded", "--root", str(stack.root)]

    def parley(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shared.cli", "pricing", *args], env=env, capture_output=True, text=True
        )

    csv_file = stack.root / f"{source}.csv"
    csv_file.write_text(OBSERVATIONS)
    loaded = await asyncio.to_thread(
        parley, plain, "load", "observations", str(csv_file), "--target", source, *embedded
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert await db.fetchval(count, source) == 2
    unload = ["unload", "observations", "--target", source, "--yes"]
    done = await asyncio.to_thread(parley, with_url, *unload, "--reason", "by command")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"observations: observation source '{source}' emptied, 2 rows removed" in done.stdout
    assert await db.fetchval(count, source) == 0
    by_operator = await db.fetchrow(
        "SELECT actor_kind, via, detail FROM pricing.audit_log WHERE action = 'unload:reference' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert (by_operator["actor_kind"], by_operator["via"]) == ("operator", "command")
    again = await asyncio.to_thread(parley, plain, *unload, "--reason", "twice", *embedded)
    assert again.returncode == 1
    assert f"nothing is loaded in observations for observation source '{source}'" in again.stdout
    assert stack.infra.postgres.is_running()  # the command found it running and left it so
    # Another service's role: it connects, then the schema refuses it; one line saying which URL.
    wrong = plain | {"PARLEY_DATABASE_URL": stack.database_url(service("intake"))}
    refused = await asyncio.to_thread(parley, wrong, *unload, "--reason", "wrong role")
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("Cannot use the database postgresql+asyncpg://parley_intake")
    assert "permission denied for schema pricing" in line
    assert line.endswith(
        "(from PARLEY_DATABASE_URL: set it to the service role's URL, or add --embedded for the `make up` "
        "stack)"
    )
