"""Weekly reports per client: list, fetch (JSON, HTML, PDF), and make one now.

Roles: reading — every internal role (viewer included); making one — supervisor, admin (audited). Only
the caller's clients: another client's report is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.reporting.api import SettingsDep
from services.reporting.models import WeeklyReport, idempotency_keys
from services.reporting.repository import get_report, list_reports
from services.reporting.schemas import WeeklyReportDetail, WeeklyReportIn, WeeklyReportList, WeeklyReportOut
from services.reporting.weekly import make_report, week_start
from shared.auth import ANY_ROLE, Identity, Role, audit, requires
from shared.errors import NotFound, Unprocessable
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/reports/weekly", tags=["weekly reports"])
idempotency = Idempotency(idempotency_keys)
ClientId = Annotated[str, Path(min_length=1, max_length=200)]
Week = Annotated[str, Path(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W48.")]
Reader = Annotated[Identity, requires(*ANY_ROLE)]
Maker = Annotated[Identity, requires(Role.supervisor, Role.admin)]


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


async def _find(session: SessionDep, client_id: str, week: str, user: Identity) -> WeeklyReport:
    report = await get_report(session, client_id, week, clients=user.client_scope)
    if report is None:
        raise NotFound(f"no weekly report of {client_id} for {week}")
    return report


@router.get("", response_model=WeeklyReportList, summary="Weekly reports made")
async def list_weekly(
    session: SessionDep,
    user: Reader,
    client_id: Annotated[str | None, Query(description="Only this client's.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> WeeklyReportList:
    """Reports made (by the schedule, the command or on request), newest week first. Roles: every
    internal role — only their clients' reports."""
    rows, total = await list_reports(session, user.client_scope, client_id, limit, offset)
    return WeeklyReportList(total=total, items=[WeeklyReportOut.model_validate(_out(r)) for r in rows])


@router.get("/{client_id}/{week}.html", response_class=HTMLResponse, summary="The weekly report as HTML")
async def get_weekly_html(client_id: ClientId, week: Week, session: SessionDep, user: Reader) -> HTMLResponse:
    """The stored HTML page, rendered from the same template as the PDF. Roles: every internal role."""
    report = await _find(session, client_id, week, user)
    return HTMLResponse(report.html, headers={"Cache-Control": "no-store"})


@router.get(
    "/{client_id}/{week}.pdf",
    response_class=Response,
    summary="The weekly report as PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def get_weekly_pdf(client_id: ClientId, week: Week, session: SessionDep, user: Reader) -> Response:
    """The stored PDF/A; ``X-Content-SHA256`` is its SHA-256. Roles: every internal role."""
    report = await _find(session, client_id, week, user)
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
async def get_weekly(
    client_id: ClientId, week: Week, session: SessionDep, user: Reader
) -> WeeklyReportDetail:
    """The report's figures as rendered (formatted text plus the raw numbers under ``raw``). Roles: every
    internal role — only their clients (another client's report is 404)."""
    report = await _find(session, client_id, week, user)
    return WeeklyReportDetail.model_validate({**_out(report), "data": report.data})


@router.post("", status_code=201, response_model=WeeklyReportOut, summary="Make a weekly report now")
async def post_weekly(
    body: WeeklyReportIn,
    request: Request,
    tx: TxDep,
    settings: SettingsDep,
    user: Maker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Make (or make again) the client's report for the ISO week, as the schedule would, and store it.
    Roles: supervisor, admin — only their clients."""
    if not user.may_see(body.client_id):
        raise NotFound(f"no client {body.client_id} among yours")
    try:
        week_start(body.week)
    except ValueError as exc:
        raise Unprocessable(
            str(exc), errors=[{"field": "week", "message": str(exc), "type": "value_error"}]
        ) from None

    async def apply() -> tuple[int, WeeklyReportOut]:
        report = await make_report(tx.session, settings, body.client_id, body.week, made_by=user.subject)
        await audit(tx, request, user, "create:weekly_report", "weekly_report", report.id, body.client_id)
        return 201, WeeklyReportOut.model_validate(_out(report))

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope="POST /v1/reports/weekly",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
