"""Weekly reports per client: list, fetch (JSON, HTML, PDF), and make one now.

Roles (enforced once internal access lands): reading — viewer, negotiator, supervisor, auditor, admin;
making one — supervisor, admin. Only the caller's clients.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.reporting.api import SettingsDep
from services.reporting.models import WeeklyReport, idempotency_keys
from services.reporting.repository import get_report, list_reports
from services.reporting.schemas import WeeklyReportDetail, WeeklyReportIn, WeeklyReportList, WeeklyReportOut
from services.reporting.weekly import make_report, week_start
from shared.errors import NotFound, Unprocessable
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/reports/weekly", tags=["weekly reports"])
idempotency = Idempotency(idempotency_keys)
ClientId = Annotated[str, Path(min_length=1, max_length=200)]
Week = Annotated[str, Path(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W48.")]


def _out(report: WeeklyReport) -> dict[str, object]:
    base = f"/v1/reports/weekly/{report.client_id}/{report.week}"
    return {
        "client_id": report.client_id,
        "week": report.week,
        "week_start": report.week_start,
        "made_by": report.made_by,
        "made_at": report.made_at,
        "pdf_sha256": report.pdf_sha256,
        "html_url": f"{base}.html",
        "pdf_url": f"{base}.pdf",
    }


async def _find(session: SessionDep, client_id: str, week: str) -> WeeklyReport:
    report = await get_report(session, client_id, week, clients=None)
    if report is None:
        raise NotFound(f"no weekly report of {client_id} for {week}")
    return report


@router.get("", response_model=WeeklyReportList, summary="Weekly reports made")
async def list_weekly(
    session: SessionDep,
    client_id: Annotated[str | None, Query(description="Only this client's.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> WeeklyReportList:
    """Reports made (by the schedule, the command or on request), newest week first."""
    rows, total = await list_reports(session, None, client_id, limit, offset)
    return WeeklyReportList(total=total, items=[WeeklyReportOut.model_validate(_out(r)) for r in rows])


@router.get("/{client_id}/{week}.html", response_class=HTMLResponse, summary="The weekly report as HTML")
async def get_weekly_html(client_id: ClientId, week: Week, session: SessionDep) -> HTMLResponse:
    """The stored HTML page, rendered from the same template as the PDF."""
    report = await _find(session, client_id, week)
    return HTMLResponse(report.html, headers={"Cache-Control": "no-store"})


@router.get(
    "/{client_id}/{week}.pdf",
    response_class=Response,
    summary="The weekly report as PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def get_weekly_pdf(client_id: ClientId, week: Week, session: SessionDep) -> Response:
    """The stored PDF/A; ``X-Content-SHA256`` is its SHA-256."""
    report = await _find(session, client_id, week)
    return Response(
        report.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="weekly-{client_id}-{week}.pdf"',
            "X-Content-SHA256": report.pdf_sha256,
            "Cache-Control": "no-store",
        },
    )


@router.get("/{client_id}/{week}", response_model=WeeklyReportDetail, summary="One weekly report's figures")
async def get_weekly(client_id: ClientId, week: Week, session: SessionDep) -> WeeklyReportDetail:
    """The report's figures as rendered (formatted text plus the raw numbers under ``raw``)."""
    report = await _find(session, client_id, week)
    return WeeklyReportDetail.model_validate({**_out(report), "data": report.data})


@router.post("", status_code=201, response_model=WeeklyReportOut, summary="Make a weekly report now")
async def post_weekly(
    body: WeeklyReportIn, tx: TxDep, settings: SettingsDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Make (or make again) the client's report for the ISO week, as the schedule would, and store it.
    Roles: supervisor, admin."""
    try:
        week_start(body.week)
    except ValueError as exc:
        raise Unprocessable(
            str(exc), errors=[{"field": "week", "message": str(exc), "type": "value_error"}]
        ) from None

    async def apply() -> tuple[int, WeeklyReportOut]:
        report = await make_report(tx.session, settings, body.client_id, body.week, made_by="api")
        return 201, WeeklyReportOut.model_validate(_out(report))

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope="POST /v1/reports/weekly",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
