"""The dashboard page: server-rendered on the shared layout, charts drawn by the vendored Chart.js.

Role: every internal role (viewer included), over the caller's clients. A browser without a session is
sent to ``/signin`` first. The figures come from the same queries as ``GET /v1/kpis``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.reporting.api import SettingsDep, scoped
from services.reporting.dashboard import dashboard_data, default_period
from services.reporting.kpis import Filters, clients_with_activity
from shared.auth import ANY_ROLE, CASE_READERS, Identity, requires
from shared.contracts import PricingMethod
from shared.errors import Unprocessable
from shared.service import SessionDep
from shared.web import render

router = APIRouter(tags=["pages"])


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Annotated[Identity, requires(*ANY_ROLE)],
    client_id: Annotated[str | None, Query()] = None,
    since: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
    method: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """KPI tiles with their change against the previous period, charts of savings and net savings,
    turnaround, the aging pipeline and acceptance by week, the pattern table and CSV links."""
    today = datetime.now(settings.zone).date()
    first, last = default_period(today)
    since, until = since or first, until or last
    if until < since:
        raise Unprocessable(
            "the period ends before it starts", errors=[{"field": "to", "message": "before 'from'"}]
        )
    methods = [m.value for m in PricingMethod]
    filters = scoped(
        Filters(
            since=since,
            until=until,
            client_id=client_id or None,
            method=method if method in methods else None,
        ),
        user,
    )
    previous = filters.previous()
    assert previous is not None
    clients = [
        c for c in await clients_with_activity(session, today - timedelta(days=400), today) if user.may_see(c)
    ]
    query = urlencode(
        {
            k: v
            for k, v in {
                "from": since.isoformat(),
                "to": until.isoformat(),
                "client_id": filters.client_id or "",
                "method": filters.method or "",
            }.items()
            if v
        }
    )
    return render(
        request,
        "dashboard.html",
        data=await dashboard_data(session, filters, today),
        filters=filters,
        previous=previous,
        clients=clients,
        methods=methods,
        query=query,
        time_zone=settings.reporting_timezone,
        can_read_facts=user.has(*CASE_READERS),
    )
