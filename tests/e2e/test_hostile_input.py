"""Hostile input found by trying the running stack as an attacker would: each answer is a clear 4xx and
nothing is stored or changed.

U&C target 1,000.00 for 27447 (tests/fixtures/negotiation); billed 2,500.00.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import case_of_bill, negotiable_bill, submit_bill, wait_until

pytestmark = pytest.mark.e2e


async def open_case(
    http: httpx.AsyncClient, urls: dict[str, str], negotiator: httpx.AsyncClient
) -> dict[str, Any]:
    bill_id = (await submit_bill(http, urls, negotiable_bill())).json()["id"]
    return await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="a case")


async def test_a_counter_offer_of_nan_on_the_offer_page_is_refused_and_changes_nothing(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    case = await open_case(http, urls, negotiator)
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    offer = (await negotiator.post(f"{base}/offers", json={})).json()["offers"][-1]
    link = (await negotiator.post(f"{base}/offers/{offer['id']}/link")).json()["url"]
    # "NaN" parsed as a Decimal and then failed the comparison with billed: a 500.
    for amount in ("NaN", "nan", "-NaN", "sNaN", "Infinity"):
        answer = await http.post(
            f"{link}/counter", data={"amount": amount, "note": "x", "name": "Pat"}, follow_redirects=False
        )
        assert answer.status_code == 303, (amount, answer.status_code, answer.text)
        assert "must%20be%20an%20amount%20in%20dollars" in answer.headers["location"]
    after = (await negotiator.get(base)).json()
    assert [(o["party"], o["amount"], o["status"]) for o in after["offers"]] == [
        ("payer", offer["amount"], "open")
    ]


async def test_text_with_a_nul_character_is_refused_naming_the_field_and_nothing_is_stored(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    uc_reference: None,
) -> None:
    # Postgres cannot store U+0000 in text: a JSON "\u0000", a %00 in a query or a form field was a 500.
    negotiator = staff["negotiator"]
    nul = "a\u0000b"

    body = negotiable_bill()
    body["patient"]["first_name"] = nul
    refused = await submit_bill(http, urls, body)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["patient.first_name"]
    assert nul not in refused.text  # never echoed
    listed = await http.get(
        f"{urls['intake']}/v1/bills", params={"partner_claim_id": body["partner_claim_id"]}
    )
    assert listed.json()["items"] == []

    case = await open_case(http, urls, negotiator)
    provider = f"{urls['negotiation']}/v1/providers/{case['provider_tin']}"
    note = await negotiator.post(f"{provider}/notes", json={"text": nul})
    assert note.status_code == 422, note.text
    assert [e["field"] for e in note.json()["errors"]] == ["text"]
    assert (await negotiator.get(provider)).json()["notes"] == []

    search = await negotiator.get(f"{urls['negotiation']}/v1/providers", params={"name": nul})
    assert search.status_code == 422, search.text
    assert [e["field"] for e in search.json()["errors"]] == ["query:name"]

    # A form on the public offer page (a NUL, or a name over 200 characters, answered JSON): the page
    # again with the error, like every other form error; the answer is not recorded.
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    offer = (await negotiator.post(f"{base}/offers", json={})).json()["offers"][-1]
    link = (await negotiator.post(f"{base}/offers/{offer['id']}/link")).json()["url"]
    for action, form, error in (
        ("decline", {"reason": nul, "name": "Pat"}, "a reason contains the NUL character (U+0000)"),
        (
            "accept",
            {"name": "P" * 201},
            "your name (who confirms the terms) is too long: at most 200 characters",
        ),
        ("counter", {"name": "Pat", "amount": "1200", "note": "n" * 2001}, "the note is too long"),
    ):
        answer = await http.post(f"{link}/{action}", data=form, follow_redirects=False)
        assert answer.status_code == 303, (action, answer.status_code, answer.text)
        page = await http.get(f"{urls['negotiation']}{answer.headers['location']}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert error in page.text, action
        assert nul not in page.text
    assert [o["status"] for o in (await negotiator.get(base)).json()["offers"]] == ["open"]


async def test_the_public_offer_page_shows_the_provider_no_sign_in_link(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    uc_reference: None,
) -> None:
    # The provider has no Parley account; the page offered "Sign in" (the signing page never did).
    negotiator = staff["negotiator"]
    case = await open_case(http, urls, negotiator)
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"
    offer = (await negotiator.post(f"{base}/offers", json={})).json()["offers"][-1]
    link = (await negotiator.post(f"{base}/offers/{offer['id']}/link")).json()["url"]
    for url in (link, f"{urls['negotiation']}/offers/{uuid.uuid4().hex}"):
        page = await http.get(url)
        assert page.status_code in (200, 404)
        assert 'href="/signin"' not in page.text, url


async def test_a_queue_with_nothing_in_it_shows_its_dollars_as_money(
    urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    # An empty queue answered "at_stake": "0" where every other amount reads "0.00".
    queues = await staff["negotiator"].get(
        f"{urls['negotiation']}/v1/queues", params={"client_id": f"empty-{uuid.uuid4().hex[:8]}"}
    )
    assert queues.status_code == 200, queues.text
    assert {q["at_stake"] for q in queues.json()["items"]} == {"0.00"}


async def test_a_reference_upload_named_with_folders_is_refused_and_written_nowhere(
    urls: dict[str, str], staff: dict[str, httpx.AsyncClient], tmp_path: Path
) -> None:
    # ?source= named the temporary file the upload is written to: "../x" or "/abs/x" wrote it anywhere.
    body = b"kind,setting,code,amount\ncharge,professional,99214,150.00\n"
    escaped = Path(tempfile.gettempdir()) / f"parley-escape-{uuid.uuid4().hex}.csv"
    for source in (f"../{escaped.name}", str(tmp_path / "absolute.csv"), "..", "a\\b.csv"):
        answer = await staff["admin"].post(
            f"{urls['pricing']}/v1/reference/observations",
            params={"target": "escape-test", "source": source},
            content=body,
        )
        assert answer.status_code == 422, (source, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == ["query:source"]
    assert not escaped.exists()
    assert not (tmp_path / "absolute.csv").exists()


async def test_offsets_cursors_and_versions_past_the_database_integers_are_refused(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    # These reached Postgres as numbers past bigint (or int for a version) and came back as 500s; a
    # cursor of "²" (a digit to str.isdigit, not to int) was a bare 500 page.
    huge = "99999999999999999999"
    admin = staff["admin"]
    calls = [
        (admin, f"{urls['negotiation']}/v1/cases", {"offset": "9223372036854775808"}, "query:offset"),
        (admin, f"{urls['negotiation']}/v1/queues/negotiate", {"offset": huge}, "query:offset"),
        (admin, f"{urls['negotiation']}/v1/approvals", {"offset": huge}, "query:offset"),
        (admin, f"{urls['negotiation']}/v1/providers", {"offset": huge}, "query:offset"),
        (admin, f"{urls['agreements']}/v1/agreements", {"offset": huge}, "query:offset"),
        (
            admin,
            f"{urls['agreements']}/v1/agreements/templates/parley/versions/2147483648",
            {},
            "path:version",
        ),
        (admin, f"{urls['reporting']}/v1/audit", {"cursor": huge}, "query:cursor"),
        (admin, f"{urls['intake']}/v1/audit", {"cursor": "²"}, "query:cursor"),
        (http, f"{urls['intake']}/v1/webhook/deliveries", {"cursor": huge}, "query:cursor"),
    ]
    for client, url, params, field in calls:
        answer = await client.get(url, params=params)
        assert answer.status_code == 422, (url, params, answer.status_code, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == [field], (url, answer.text)


async def test_json_bodies_nested_past_the_parser_are_refused_naming_why(
    http: httpx.AsyncClient, urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    # Python's parser stops near 1,000 levels before it has built much (memory stays small); that came
    # back as a bare 400 "error parsing the body" from FastAPI, and a 500 from the batch (parsed by hand).
    deep = b'{"bills": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    headers = {"content-type": "application/json"}
    calls = [
        (http, f"{urls['intake']}/v1/bills"),
        (http, f"{urls['intake']}/v1/bills/batch"),
        (staff["admin"], f"{urls['negotiation']}/v1/clients/deep-client/settings"),
        (staff["admin"], f"{urls['intake']}/v1/admin/dlq/replay"),
    ]
    for client, url in calls:
        method = "PUT" if url.endswith("/settings") else "POST"
        answer = await client.request(method, url, content=deep, headers=headers)
        assert answer.status_code == 422, (url, answer.status_code, answer.text)
        assert answer.json()["errors"] == [
            {
                "field": "body",
                "message": "the JSON is nested too deeply to read (more than about 1,000 levels)",
                "type": "json_too_deep",
            }
        ], url
    listed = await http.get(f"{urls['intake']}/v1/bills")
    assert listed.status_code == 200


async def test_slow_uploads_to_a_public_signing_link_do_not_take_the_service_from_everyone(
    urls: dict[str, str], staff: dict[str, httpx.AsyncClient]
) -> None:
    """Found by trying it: a request took its turn for the database before its body had arrived, so a
    dozen clients trickling bodies to ``POST /sign/{token}`` (public, any token) held every turn and the
    service answered 503 to everyone for as long as they kept sending."""
    url = httpx.URL(urls["agreements"])
    host, port = url.host, url.port or 80
    slow = []
    try:
        for n in range(12):  # more than the service's turns (PARLEY_HTTP_DB_SLOTS, the pool less two)
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                (
                    f"POST /sign/not-a-token-{n} HTTP/1.1\r\nHost: {host}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nc"
                ).encode()
            )
            await writer.drain()
            slow.append((reader, writer))
        answer = await staff["auditor"].get(f"{urls['agreements']}/v1/agreements")
        assert answer.status_code == 200, answer.text
    finally:
        for _, writer in slow:
            writer.close()
