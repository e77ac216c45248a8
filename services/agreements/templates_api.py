"""Document templates over HTTP: list and read (admin, supervisor, auditor), upload a client's form (admin,
audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.agreements import templates
from services.agreements.models import idempotency_keys
from services.agreements.schemas import TemplateList, TemplateOut
from shared.auth import Identity, Role, audit, requires
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep, runtime_of

router = APIRouter(prefix="/v1/agreements/templates", tags=["agreement templates"])
idempotency = Idempotency(idempotency_keys)
Readers = Annotated[Identity, requires(Role.admin, Role.supervisor, Role.auditor)]

ClientId = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The client whose form this is; its agreements use the newest version.",
    ),
]


@router.get("", response_model=TemplateList, summary="List agreement templates")
async def list_templates(
    session: SessionDep,
    user: Readers,
    client_id: Annotated[str | None, Query(description="Only this client's templates.")] = None,
) -> TemplateList:
    """Every version of Parley's shipped template (``parley``) and of each client's form
    (``client:<client id>``); ``client_id`` keeps one client's. Only your clients' forms (and Parley's)."""
    rows = await templates.list_templates(session, client_id, clients=user.client_scope)
    return TemplateList(items=[TemplateOut.model_validate(r) for r in rows])


@router.post(
    "",
    response_model=TemplateOut,
    status_code=201,
    summary="Upload a client's agreement template",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
    responses={
        422: {"description": "The template does not compile or lacks required content (line, column)."}
    },
)
async def upload_template(
    request: Request,
    tx: TxDep,
    user: Annotated[Identity, requires(Role.admin)],
    client_id: ClientId,
    note: Annotated[
        str | None, Query(max_length=500, description="What changed, for the version list.")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The body is a typst template (UTF-8 text) reading ``#let data = json(bytes(sys.inputs.data))``;
    see the README for the data it receives. It becomes the next version of ``client:<client_id>`` and is
    used for that client's agreements from now on. It is compiled at once with sample data (complete and
    minimal, as sent and executed) and refused with 422 naming the line and column and why, or if the
    document does not show the agreed amount, the claim number and the signers' names once signed; it
    can read no file. Admins, for a client they serve (403 otherwise); audited."""
    if not user.may_see(client_id):
        raise Forbidden(f"you do not serve client {client_id}")
    source = await request.body()
    if not source.strip():
        raise Unprocessable(
            "send the template as the request body",
            errors=[{"field": "body", "message": "empty", "type": "missing"}],
        )
    limit = runtime_of(request).settings.agreements_max_document_bytes  # type: ignore[attr-defined]

    async def apply() -> tuple[int, TemplateOut]:
        row = await templates.upload(
            tx.session,
            client_id=client_id,
            source=source,
            note=note,
            uploaded_by=user.subject,
            max_bytes=limit,
        )
        await audit(
            tx,
            request,
            user,
            "create:agreement_template",
            "agreement_template",
            f"{row.template_id}@{row.version}",
            client_id,
            {"sha256": row.sha256},
        )
        return 201, TemplateOut.model_validate(row)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope="POST /v1/agreements/templates",
        request_hash=fingerprint(client_id, note or "", source),
        action=apply,
    )


@router.get(
    "/{template_id}/versions/{version}",
    summary="A template version's source",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 404: {"description": "No such version."}},
)
async def template_source(
    template_id: Annotated[str, Path(description="parley, or client:<client id>.")],
    version: Annotated[int, Path(ge=1, le=2_147_483_647, description="The version number (1 is the first).")],
    session: SessionDep,
    user: Readers,
) -> Response:
    """The typst source of one version (``parley`` or ``client:<client id>``), with ``X-Template-SHA256``."""
    row = await templates.get_version(session, template_id, version)
    if row is None or (row.client_id is not None and not user.may_see(row.client_id)):
        raise NotFound(f"no version {version} of template {template_id}")
    return Response(
        row.source, media_type="text/plain; charset=utf-8", headers={"X-Template-SHA256": row.sha256}
    )
