"""Reporting from events, worked by hand: hand-built events published onto the real broker, figures read
back from the API, the CSV exports and the weekly report.

Eight bills of one client in March 2025 (all times UTC, the reporting time zone in tests):

- B1, billed 3,500.00: U&C; the provider counters; an approval is asked and granted; agreed 2,500.00 on
  3/5 with quick pay; executed and settled 3/6. Savings 1,000.00, fee 250.00 (seed 003's example).
- B2, billed 20,000.00 (provider B): agreed 14,000.00 on 3/4, settled 3/5. Savings 6,000.00; 25 % is
  1,500.00, so the fee is the cap, 1,000.00.
- B3, billed 180.00: fee schedule at billed, repriced 3/4. No savings, no fee.
- B4, billed 1,000.00: the first offer of 600.00 accepted 3/10, settled 3/11. Savings 400.00, fee
  100.00, then 150.00 flat once terms changing on 3/10 are added.
- B5, 900.00 (B): audit route, closed disputed 3/7. B6, 700.00: a version 1 case still negotiating, an
  approval denied 3/8. B7, 250.00: voided 3/8. B8, 5,000.00 (B): escalated 3/8.

The services also react to these events (pricing prices each bill, negotiation opens and routes its own
case): reporting keeps the highest pricing revision (ours is 9) and the first case opened (ours, in
2025), and their events fall on today's date, outside March 2025.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from playwright.async_api import Page
from pypdf import PdfReader

from shared.settings import Settings
from shared.stack.devstack import DevStack
from tests.browser import screenshot, sign_in
from tests.helpers import EventStory, UserMaker, auth_header, publish, unique, wait_until

pytestmark = pytest.mark.e2e

D = Decimal
A = ("1912301953", "Ben Kildare Service")
B = ("1234567893", "Harbor Surgical Group")


def at(day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=UTC)


def _stories(client: str) -> dict[str, EventStory]:
    b1 = EventStory(client, "3500.00", at(3))
    b1.priced(at(3, 9, 0, 30), "usual_and_customary", "2300.00", [("modifier_59", "97140", ["59"], "85.00")])
    b1.opened(at(3, 9, 1), "negotiate", target="2300.00")
    b1.offer(at(3, 9, 1), "payer", "2300.00", quick_pay=True)
    b1.offer(at(4), "provider", "2700.00")
    b1.approval(at(4, 10), at(4, 12), approved=True)
    b1.agreed(at(5, 15), "2500.00", first_offer=False, quick_pay=True)
    b1.executed(at(6, 15), "2500.00")
    b1.closed(at(6, 15, 0, 1), "settled", "2500.00")

    b2 = EventStory(client, "20000.00", at(3, 10), npi=B[0], provider_name=B[1])
    b2.priced(at(3, 10, 2), "usual_and_customary", "13000.00", [("ncci_ptp", "29881", [], "1200.00")])
    b2.opened(at(3, 10, 3), "negotiate", target="13000.00")
    b2.offer(at(3, 10, 3), "payer", "13000.00")
    b2.offer(at(3, 16), "provider", "14000.00")
    b2.agreed(at(4, 10), "14000.00", first_offer=False)
    b2.executed(at(5, 10), "14000.00")
    b2.closed(at(5, 10, 0, 1), "settled", "14000.00")

    b3 = EventStory(client, "180.00", at(4, 8))
    b3.priced(at(4, 8, 0, 10), "fee_schedule", "180.00")
    b3.opened(at(4, 8, 0, 11), "repriced", method="fee_schedule", target="180.00")
    b3.closed(at(4, 8, 0, 12), "repriced", "180.00")

    b4 = EventStory(client, "1000.00", at(5))
    b4.priced(at(5, 9, 0, 20), "usual_and_customary", "600.00", [("modifier_59", "97140", ["59"], "85.00")])
    b4.opened(at(5, 9, 1), "negotiate", target="600.00")
    b4.offer(at(5, 9, 1), "payer", "600.00", quick_pay=True)
    b4.agreed(at(10), "600.00", first_offer=True)
    b4.executed(at(11), "600.00")
    b4.closed(at(11, 9, 0, 1), "settled", "600.00")

    b5 = EventStory(client, "900.00", at(6, 11), npi=B[0], provider_name=B[1])
    b5.priced(at(6, 11, 0, 40), "usual_and_customary", "500.00", [("ncci_ptp", "29881", [], "300.00")])
    b5.opened(at(6, 11, 1), "audit", target="500.00")
    b5.closed(at(7, 11), "disputed")

    b6 = EventStory(client, "700.00", at(6, 12))
    b6.priced(at(6, 12, 0, 50), "usual_and_customary", "450.00")
    b6.opened(at(6, 12, 1), "negotiate", target="450.00", v1=True)
    b6.offer(at(6, 12, 1), "payer", "450.00", v1=True)
    b6.approval(at(7), at(8), approved=False)

    b7 = EventStory(client, "250.00", at(7, 8))
    b7.priced(at(7, 8, 0, 15), "usual_and_customary", "200.00")
    b7.voided(at(8))

    b8 = EventStory(client, "5000.00", at(7, 13), npi=B[0], provider_name=B[1])
    b8.priced(at(7, 13, 1), "usual_and_customary", "3000.00")
    b8.opened(at(7, 13, 2), "negotiate", target="3000.00")
    b8.closed(at(8, 13), "escalated")
    return {"B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b5, "B6": b6, "B7": b7, "B8": b8}


async def _get(http: httpx.AsyncClient, url: str, **params: str) -> dict:
    response = await http.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_kpis_fees_pipeline_patterns_exports_and_weekly_report_from_hand_built_events(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], settings: Settings, make_user: UserMaker
) -> None:
    base = urls["reporting"]
    client = unique("rpt")
    http = staff["viewer"]
    admin = staff["admin"]
    assert (await http.get(f"{base}/v1/clients/{client}/fee-terms")).status_code == 403  # viewer
    refused = await staff["supervisor"].post(
        f"{base}/v1/clients/{client}/fee-terms",
        json={"kind": "flat", "flat": "1.00", "effective_from": "2025-01-01"},
    )
    assert refused.status_code == 403  # terms are an admin's
    terms = await admin.post(
        f"{base}/v1/clients/{client}/fee-terms",
        json={"kind": "contingency", "percent": "25", "cap": "1000.00", "effective_from": "2025-01-01"},
        headers={"Idempotency-Key": f"{client}-terms-1"},
    )
    assert terms.status_code == 201, terms.text
    assert terms.json()["bills_reworked"] == 0

    stories = _stories(client)
    envelopes = [e for story in stories.values() for e in story.envelopes()]
    # Every event twice: the inbox makes the second delivery change nothing.
    await publish(settings, envelopes + envelopes)

    both_weeks = {"client_id": client, "from": "2025-03-03", "to": "2025-03-16"}

    async def all_resolved() -> dict | None:
        body = await _get(http, f"{base}/v1/kpis", **both_weeks)
        c = body["current"]
        done = (c["resolved"], c["disputed"], c["escalated"], c["voided"], c["approvals_denied"]) == (
            4,
            1,
            1,
            1,
            1,
        )
        return body if done and c["received"] == 8 and c["priced"] == 8 else None

    await wait_until(all_resolved, what="reporting to fold every hand-built event")

    week1 = await _get(
        http, f"{base}/v1/kpis", client_id=client, **{"from": "2025-03-03", "to": "2025-03-09"}
    )
    assert week1["previous_period"] == {"since": "2025-02-24", "until": "2025-03-02"}
    assert week1["previous"]["received"] == 0
    c = week1["current"]
    assert c["received"] == 8
    assert D(c["received_billed"]) == D("31530.00")  # 3500+20000+180+1000+900+700+250+5000
    assert (c["settled"], c["repriced"], c["resolved"]) == (2, 1, 3)
    assert D(c["resolved_billed"]) == D("23680.00")  # B1 + B2 + B3
    assert D(c["resolved_amount"]) == D("16680.00")  # 2500 + 14000 + 180
    assert D(c["savings"]) == D("7000.00")
    assert D(c["savings_percent"]) == D("29.56")  # 7000 / 23680
    assert D(c["fees"]) == D("1250.00")  # 250 + 1000 (cap) + 0 (no savings)
    assert D(c["net_savings"]) == D("5750.00")
    assert (c["disputed"], c["escalated"], c["voided"], c["closed_unresolved"]) == (1, 1, 1, 0)
    assert (c["agreed"], c["first_offer_accepted"]) == (2, 0)  # B1 (3/5) and B2 (3/4)
    assert D(c["first_offer_acceptance_percent"]) == D("0.00")
    assert (c["quick_pay_offered"], c["quick_pay_agreed"]) == (1, 1)  # B1 only
    assert D(c["quick_pay_uptake_percent"]) == D("100.00")
    assert (c["approvals_requested"], c["approvals_denied"]) == (2, 1)  # B1 (granted), B6 (denied 3/8)
    assert D(c["median_accepted_share_percent"]) == D("70.00")  # 70.00 % (B2), 71.43 % (B1): rank 1 of 2
    # received → priced: 10, 15, 20, 30, 40, 50, 60, 120 s → median rank 4 = 30 s, p90 rank 8 = 120 s,
    # kept within 1 %: 100 s and more live in 2 % buckets shown by their middle, 120 s → 121 s (measures.py).
    assert c["turnaround"]["received_to_priced"] == {"bills": 8, "median_seconds": 30, "p90_seconds": 121}
    # received → agreed: B2 one day (86,400 s, kept as 86,489), B1 2 days 6 h (194,400 s, kept as 194,790).
    assert c["turnaround"]["received_to_agreed"] == {
        "bills": 2,
        "median_seconds": 86489,
        "p90_seconds": 194790,
    }
    assert c["turnaround"]["agreed_to_executed"] == {
        "bills": 2,
        "median_seconds": 86489,
        "p90_seconds": 86489,
    }

    week2 = await _get(
        http, f"{base}/v1/kpis", client_id=client, **{"from": "2025-03-10", "to": "2025-03-16"}
    )
    c2 = week2["current"]
    assert (c2["received"], c2["agreed"], c2["first_offer_accepted"], c2["settled"]) == (0, 1, 1, 1)
    assert D(c2["first_offer_acceptance_percent"]) == D("100.00")
    assert (D(c2["savings"]), D(c2["fees"]), D(c2["net_savings"])) == (D("400.00"), D("100.00"), D("300.00"))
    assert week2["previous"]["settled"] == 2  # week 1 is week 2's previous period

    # A change of terms from 3/10: B4 (settled 3/11) is re-worked, the bills settled before keep theirs.
    changed = await admin.post(
        f"{base}/v1/clients/{client}/fee-terms",
        json={"kind": "flat", "flat": "150.00", "effective_from": "2025-03-10"},
        headers={"Idempotency-Key": f"{client}-terms-2"},
    )
    assert changed.status_code == 201, changed.text
    assert changed.json()["bills_reworked"] == 1

    async def reworked() -> dict | None:
        body = await _get(http, f"{base}/v1/kpis", **both_weeks)
        return body if D(body["current"]["fees"]) == D("1400.00") else None

    await wait_until(reworked, what="the new terms to reach the KPIs")
    week2 = await _get(
        http, f"{base}/v1/kpis", client_id=client, **{"from": "2025-03-10", "to": "2025-03-16"}
    )
    assert (D(week2["current"]["fees"]), D(week2["current"]["net_savings"])) == (D("150.00"), D("250.00"))
    week1 = await _get(
        http, f"{base}/v1/kpis", client_id=client, **{"from": "2025-03-03", "to": "2025-03-09"}
    )
    assert D(week1["current"]["fees"]) == D("1250.00")
    history = (await _get(staff["auditor"], f"{base}/v1/clients/{client}/fee-terms"))["items"]
    assert [(t["kind"], t["effective_from"]) for t in history] == [
        ("contingency", "2025-01-01"),
        ("flat", "2025-03-10"),
    ]

    # Breakdown by provider: volume, savings and the median accepted share per provider.
    by_provider = await _get(http, f"{base}/v1/kpis/breakdown", by="provider", **both_weeks)
    assert by_provider["total"] == 2
    rows = {r["key"]: r for r in by_provider["items"]}
    assert rows[A[0]]["label"] == A[1]
    assert (rows[A[0]]["received"], rows[B[0]]["received"]) == (5, 3)
    assert D(rows[A[0]]["savings"]) == D("1400.00")  # B1 1000 + B3 0 + B4 400
    assert D(rows[B[0]]["savings"]) == D("6000.00")
    assert D(rows[A[0]]["median_accepted_share_percent"]) == D("60.00")  # B4 60.00 %, B1 71.43 %
    assert D(rows[B[0]]["median_accepted_share_percent"]) == D("70.00")

    by_method = await _get(http, f"{base}/v1/kpis/breakdown", by="method", **both_weeks)
    methods = {r["key"]: r for r in by_method["items"]}
    assert (methods["fee_schedule"]["received"], methods["fee_schedule"]["repriced"]) == (1, 1)
    assert methods["usual_and_customary"]["received"] == 7

    by_week = await _get(http, f"{base}/v1/kpis/breakdown", by="week", **both_weeks)
    assert [(r["key"], r["received"], r["net_savings"]) for r in by_week["items"]] == [
        ("2025-03-03", 8, "5750.00"),
        ("2025-03-10", 0, "250.00"),
    ]
    paged = await _get(
        http,
        f"{base}/v1/kpis/breakdown",
        by="week",
        sort="-net_savings",
        page_size="1",
        page="2",
        **both_weeks,
    )
    assert (paged["total"], [r["key"] for r in paged["items"]]) == (2, ["2025-03-10"])

    # Pipeline: only B6 is still open, negotiating since 2025-03-06 (over 90 days ago).
    pipeline = await _get(http, f"{base}/v1/kpis/pipeline", client_id=client)
    assert pipeline["items"] == [{"queue": "negotiate", "age": "90+", "bills": 1, "billed": "700.00"}]

    # Patterns: one row per provider × code × modifier × rule, most dollars first.
    found = await _get(http, f"{base}/v1/kpis/patterns", **both_weeks)
    assert found["total"] == 2
    assert [
        (
            p["provider_npi"],
            p["code"],
            p["modifiers"],
            p["rule"],
            p["findings"],
            p["at_stake"],
            p["disputed"],
            p["disputed_amount"],
        )
        for p in found["items"]
    ] == [
        (B[0], "29881", None, "ncci_ptp", 2, "1500.00", 1, "300.00"),
        (A[0], "97140", "59", "modifier_59", 2, "170.00", 0, "0.00"),
    ]

    # CSV: the same figures as the JSON, raw numbers and ISO dates.
    weekly_csv = await http.get(f"{base}/v1/exports/kpis.csv", params={"by": "week", **both_weeks})
    assert weekly_csv.status_code == 200
    assert weekly_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(weekly_csv.text)))
    assert [
        (r["key"], r["received"], r["savings"], r["fees"], r["received_to_priced_median_seconds"])
        for r in lines
    ] == [("2025-03-03", "8", "7000.00", "1250.00", "30"), ("2025-03-10", "0", "400.00", "150.00", "")]
    # Per-bill facts are not a viewer's; an auditor's read of them is in the audit log.
    assert (await http.get(f"{base}/v1/exports/facts.csv", params=both_weeks)).status_code == 403
    assert (await http.get(f"{base}/v1/facts", params=both_weeks)).status_code == 403
    facts_csv = await staff["auditor"].get(f"{base}/v1/exports/facts.csv", params=both_weeks)
    assert facts_csv.status_code == 200
    facts = {r["bill_id"]: r for r in csv.DictReader(io.StringIO(facts_csv.text))}
    assert len(facts) == 8
    b1 = facts[str(stories["B1"].bill_id)]
    assert (b1["billed"], b1["resolved_amount"], b1["savings"], b1["fee"], b1["net_savings"]) == (
        "3500.00",
        "2500.00",
        "1000.00",
        "250.00",
        "750.00",
    )
    assert b1["received_at"] == "2025-03-03T09:00:00+00:00"
    assert b1["first_offer_accepted"] == "false"
    assert facts[str(stories["B4"].bill_id)]["fee"] == "150.00"

    # The weekly report: made on request, stored, fetched again as PDF and HTML from one template.
    refused = await http.post(f"{base}/v1/reports/weekly", json={"client_id": client, "week": "2025-W10"})
    assert refused.status_code == 403  # a viewer reads reports, a supervisor makes them
    made = await staff["supervisor"].post(
        f"{base}/v1/reports/weekly", json={"client_id": client, "week": "2025-W10"}
    )
    assert made.status_code == 201, made.text
    pdf = await http.get(f"{base}{made.json()['pdf_url']}")
    assert pdf.status_code == 200
    assert pdf.headers["x-content-sha256"] == made.json()["pdf_sha256"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for figure in ("$7,000.00", "$1,250.00", "$5,750.00", "29.6 %", "2025-W10", "Ben Kildare Service"):
        assert figure in text, figure
    html = (await http.get(f"{base}{made.json()['html_url']}")).text
    assert "<table>" in html
    for figure in ("$7,000.00", "$1,250.00", "$5,750.00", "ncci_ptp"):
        assert figure in html, figure
    listed = await _get(http, f"{base}/v1/reports/weekly", client_id=client)
    assert [(r["week"], r["made_by"]) for r in listed["items"]] == [("2025-W10", "supervisor@staff.test")]
    audited = await _get(staff["auditor"], f"{base}/v1/audit", client_id=client)
    actions = {e["action"] for e in audited["items"]}
    assert {"create:fee_terms", "read:bill_facts", "create:weekly_report"} <= actions

    # A user of this client alone sees this client's figures only; another client is not found.
    token = await make_user(["viewer"], [client])
    async with httpx.AsyncClient(timeout=30.0, headers=auth_header(token)) as mine:
        own = await _get(mine, f"{base}/v1/kpis", **{"from": "2025-03-03", "to": "2025-03-16"})
        assert own["current"]["received"] == 8
        other = await mine.get(f"{base}/v1/kpis", params={"client_id": "someone-else"})
        assert other.status_code == 404
        assert (await mine.get(f"{base}/v1/reports/weekly/someone-else/2025-W10.pdf")).status_code == 404
        assert [r["client_id"] for r in (await _get(mine, f"{base}/v1/reports/weekly"))["items"]] == [client]


async def test_bad_requests_name_the_field(staff: dict[str, httpx.AsyncClient], urls: dict[str, str]) -> None:
    base = urls["reporting"]
    http = staff["admin"]
    backwards = await http.get(f"{base}/v1/kpis", params={"from": "2025-03-10", "to": "2025-03-01"})
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "to"
    no_percent = await http.post(
        f"{base}/v1/clients/x/fee-terms", json={"kind": "contingency", "effective_from": "2025-01-01"}
    )
    assert no_percent.status_code == 422
    assert "percent" in no_percent.text
    bad_week = await http.post(f"{base}/v1/reports/weekly", json={"client_id": "x", "week": "2025-W60"})
    assert bad_week.status_code == 422
    missing = await http.get(f"{base}/v1/reports/weekly/x/2025-W10.pdf")
    assert missing.status_code == 404


async def test_the_dashboard_draws_its_charts_and_its_tiles_say_what_the_api_says(
    page: Page,
    staff: dict[str, httpx.AsyncClient],
    staff_tokens: dict[str, str],
    urls: dict[str, str],
    settings: Settings,
    stack: DevStack,
) -> None:
    base = urls["reporting"]
    client = unique("dash")
    stories = _stories(client)
    await publish(settings, [e for story in stories.values() for e in story.envelopes()])
    period = {"client_id": client, "from": "2025-03-03", "to": "2025-03-16"}

    async def folded() -> dict | None:
        body = await _get(staff["viewer"], f"{base}/v1/kpis", **period)
        return body if body["current"]["resolved"] == 4 and body["current"]["priced"] == 8 else None

    api = (await wait_until(folded, what="the client's figures"))["current"]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    await sign_in(page, base, staff_tokens["viewer"], next_path="/dashboard")
    await page.goto(f"{base}/dashboard?client_id={client}&from=2025-03-03&to=2025-03-16")
    for chart in ("savings", "turnaround", "pipeline", "acceptance"):
        canvas = page.locator(f"#chart-{chart}")
        await canvas.wait_for()
        assert await canvas.get_attribute("data-rendered") == "true", chart
        assert int(await canvas.get_attribute("data-points") or 0) > 0, chart
        box = await canvas.bounding_box()
        assert box is not None, chart
        assert box["width"] > 100, chart
        assert box["height"] > 50, chart
    tiles = {
        key: await page.get_attribute(f"[data-testid=tile-{key}]", "data-value")
        for key in (
            "received",
            "savings",
            "net_savings",
            "fees",
            "savings_percent",
            "first_offer_acceptance_percent",
        )
    }
    assert tiles == {
        "received": str(api["received"]),
        "savings": api["savings"],
        "net_savings": api["net_savings"],
        "fees": api["fees"],
        "savings_percent": api["savings_percent"],
        "first_offer_acceptance_percent": api["first_offer_acceptance_percent"],
    }
    assert await page.inner_text("[data-testid=tile-savings] .tile-value") == "$7,400.00"
    median = await page.get_attribute("[data-testid=tile-received_to_agreed_median]", "data-value")
    assert median == str(api["turnaround"]["received_to_agreed"]["median_seconds"])
    assert await page.get_attribute("[data-testid=tile-open_bills]", "data-value") == "1"
    patterns = await page.inner_text("[data-testid=patterns]")
    assert "ncci_ptp" in patterns
    assert "Harbor Surgical Group" in patterns
    links = await page.eval_on_selector_all("[data-testid=downloads] a", "els => els.map(e => e.href)")
    assert any("/v1/exports/kpis.csv?by=week" in link for link in links)
    assert not any("facts.csv" in link for link in links)  # not a viewer's
    csv_link = next(link for link in links if "kpis.csv?by=week" in link)
    download = await page.request.get(csv_link)
    assert download.status == 200
    assert "2025-03-03" in await download.text()
    await screenshot(page, stack, "dashboard")
    assert errors == []
