"""The weekly reports' schedule on the running service: the tick for a week makes each active client's
report and schedules the next week; a SIGKILL and restart neither loses nor doubles a run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from services.reporting.weekly import week_of, week_start
from shared.settings import Settings
from shared.stack.devstack import DevStack
from tests.helpers import EventStory, publish, unique, wait_until

pytestmark = pytest.mark.e2e


async def test_the_weekly_tick_makes_each_active_clients_report_once_across_a_restart(
    stack: DevStack,
    staff: dict[str, httpx.AsyncClient],
    urls: dict[str, str],
    settings: Settings,
    db: asyncpg.Connection,
) -> None:
    base = urls["reporting"]
    http = staff["viewer"]
    now = datetime.now(UTC)
    last_week = week_of((now - timedelta(days=7)).date())
    this_week = week_of(now.date())
    client = unique("sched")
    story = EventStory(client, "1200.00", datetime.combine(week_start(last_week), datetime.min.time(), UTC))
    story.priced(
        story_time := datetime.combine(week_start(last_week), datetime.min.time(), UTC)
        + timedelta(minutes=1),
        "usual_and_customary",
        "800.00",
    )
    await publish(settings, story.envelopes())

    async def reported() -> bool:
        body = (await http.get(f"{base}/v1/kpis", params={"client_id": client})).json()
        return body["current"]["priced"] == 1

    await wait_until(reported, what="the client's bill in the KPIs")
    assert story_time < now
    # The tick for last week was due on Monday at 06:00; the service scheduled only the next one at start.
    await db.execute(
        "INSERT INTO reporting.scheduled_jobs (kind, key, due_at, payload) "
        "VALUES ('weekly.tick', $1, now(), $2) ON CONFLICT DO NOTHING",
        last_week,
        json.dumps({"week": last_week}),
    )

    async def made() -> asyncpg.Record | None:
        return await db.fetchrow(
            "SELECT made_by, made_at, pdf_sha256 FROM reporting.weekly_reports "
            "WHERE client_id = $1 AND week = $2",
            client,
            last_week,
        )

    report = await wait_until(made, what="the scheduled weekly report")
    assert report["made_by"] == "schedule"
    jobs = await db.fetch(
        "SELECT kind, key, status FROM reporting.scheduled_jobs "
        "WHERE key = ANY($1::text[]) ORDER BY kind, key",
        [last_week, this_week, f"{client}:{last_week}"],
    )
    assert [(j["kind"], j["key"], j["status"]) for j in jobs] == [
        ("weekly.report", f"{client}:{last_week}", "done"),
        ("weekly.tick", last_week, "done"),
        ("weekly.tick", this_week, "pending"),
    ]

    stack.stop_service("reporting", kill=True)
    stack.start_service("reporting")
    await stack.wait_ready(["reporting"])
    after = await db.fetch(
        "SELECT kind, key, status FROM reporting.scheduled_jobs "
        "WHERE kind = 'weekly.tick' AND key = ANY($1::text[]) ORDER BY key",
        [last_week, this_week],
    )
    assert [(j["key"], j["status"]) for j in after] == [(last_week, "done"), (this_week, "pending")]
    again = await made()
    assert again is not None
    assert (again["made_at"], again["pdf_sha256"]) == (report["made_at"], report["pdf_sha256"])
    listed = (await http.get(f"{base}/v1/reports/weekly", params={"client_id": client})).json()
    assert [(r["week"], r["made_by"]) for r in listed["items"]] == [(last_week, "schedule")]
