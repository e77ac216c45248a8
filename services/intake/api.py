"""Intake's HTTP API for bills: partners submit them (JSON, JSON batches, X12 837) and follow them.

Every endpoint needs a partner API key (``Authorization: Bearer prly_…``). A partner sees and changes
only its own bills, for the clients its key is scoped to; anything else is 404, as if it did not exist.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.intake.auth import CurrentPartner, Forbidden
from services.intake.bill_reads import bill_out
from services.intake.bills import receive
from services.intake.examples import BILL_EXAMPLE, INSTITUTIONAL_EXAMPLE, X12_EXAMPLE
from services.intake.models import idempotency_keys
from services.intake.partners import composite_separator
from services.intake.repository import BillFilter, BillRepository, decode_cursor, encode_cursor
from services.intake.schemas import (
    BatchItem,
    BatchOut,
    BillIn,
    BillOut,
    BillPage,
    BillSummary,
    X12Claim,
    X12ErrorOut,
    X12Out,
)
from services.intake.status import BillStatus
from services.intake.submissions import Received, Submission, outcome_counts
from services.intake.x12 import read_837
from services.intake.x12_claims import ParsedClaim, located, submission_of
from services.intake.x12_syntax import X12FileError
from shared.auth import Identity, audit
from shared.contracts import LineOfBusiness
from shared.errors import Conflict, NotFound, ProblemError, Unprocessable
from shared.http import validation_errors
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/bills", tags=["bills"])
idempotency = Idempotency(idempotency_keys)

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or one that is malformed, unknown or revoked.", **PROBLEM},
    403: {"description": "The key is not scoped to the bill's client.", **PROBLEM},
    422: {"description": "A parameter is invalid; `errors` names it.", **PROBLEM},
}
SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    413: {"description": "The body is larger than the configured limit (5 MB by default).", **PROBLEM},
    422: {"description": "Invalid; `errors` names each wrong field and why. Nothing was stored.", **PROBLEM},
}
MAX_BATCH = 1000


def _raise_for(result: Received) -> None:
    kind: type[ProblemError] = {403: Forbidden, 409: Conflict}.get(result.status, Unprocessable)
    raise kind(result.detail or "the bill was not accepted", errors=result.errors)


@router.post(
    "",
    status_code=201,
    response_model=BillSummary,
    summary="Submit a bill (original, replacement or void)",
    responses={
        200: {"description": "A replacement or void was applied to the existing bill.", "model": BillSummary},
        409: {
            "description": "An original whose claim number was already received, or a replacement/void "
            "of a bill that is already agreed or voided.",
            **PROBLEM,
        },
        **SUBMIT_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "examples": {
                        "professional": {"summary": "Professional (CMS-1500)", "value": BILL_EXAMPLE},
                        "institutional": {"summary": "Institutional (UB-04)", "value": INSTITUTIONAL_EXAMPLE},
                        "replacement": {
                            "summary": "Replacement of the same claim",
                            "value": {**BILL_EXAMPLE, "frequency": "replacement"},
                        },
                    }
                }
            }
        }
    },
)
async def submit_bill(
    body: BillIn, tx: TxDep, partner: CurrentPartner, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Store a bill and start its workflow (pricing, then negotiation where it saves money).

    - `frequency: original` creates the bill (201). Its claim number must be new for the client (else 409).
    - `frequency: replacement` replaces the bill with the same claim number (200): same Parley bill id,
      the next `revision`, priced again. Refused (409) once provider and payer agreed, or after a void.
    - `frequency: void` cancels it (200, status `voided`); negotiation stops.

    The bill is validated as a whole before anything is stored: a 422 lists every problem and nothing
    is kept. Send an `Idempotency-Key` header to make retries safe: the same key with the same body
    returns the first answer (with `Idempotent-Replayed: true`) instead of acting twice.
    """

    async def create() -> tuple[int, BillSummary]:
        (result,) = await receive(tx, partner, [Submission(0, body)], source="json")
        if result.bill is None:
            _raise_for(result)
        assert result.bill is not None
        return result.status, result.bill

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"{partner.subject}:POST /v1/bills",
        request_hash=fingerprint(body.model_dump_json()),
        action=create,
    )


@router.post(
    "/batch",
    response_model=BatchOut,
    summary="Submit several bills at once",
    responses={**SUBMIT_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["bills"],
                        "properties": {
                            "bills": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": MAX_BATCH,
                                "items": {"$ref": "#/components/schemas/BillIn"},
                            }
                        },
                    },
                    "example": {"bills": [BILL_EXAMPLE, INSTITUTIONAL_EXAMPLE]},
                }
            },
        }
    },
)
async def submit_batch(
    request: Request, tx: TxDep, partner: CurrentPartner, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Up to 1000 bills in one request, each answered on its own (`items`, in request order).

    A bill with a problem is rejected with its errors (and `status` as it would have had alone: 422,
    409 or 403) while the others are stored; nothing of a rejected bill is kept. The response is 200
    whenever the request itself was readable.
    """
    raw = await request.body()
    submissions = _batch(raw)

    async def create() -> tuple[int, BatchOut]:
        results = await receive(tx, partner, submissions, source="json")
        items = [
            BatchItem(
                index=r.index,
                partner_claim_id=r.partner_claim_id,
                outcome=r.outcome,
                status=r.status,
                bill=r.bill,
                errors=r.errors,
            )
            for r in results
        ]
        return 200, BatchOut(**outcome_counts(results), items=items)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"{partner.subject}:POST /v1/bills/batch",
        request_hash=fingerprint(raw),
        action=create,
    )


def _batch(raw: bytes) -> list[Submission]:
    try:
        document = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable(
            "the body is not valid JSON",
            errors=[{"field": "body", "message": "not valid JSON", "type": "json_invalid"}],
        ) from exc
    bills = document.get("bills") if isinstance(document, dict) else None
    if not isinstance(bills, list) or not 1 <= len(bills) <= MAX_BATCH or len(document) != 1:
        raise Unprocessable(
            'a batch is {"bills": [...]} with 1 to 1000 bills',
            errors=[{"field": "bills", "message": "1 to 1000 bills expected", "type": "batch_shape"}],
        )
    submissions = []
    for index, item in enumerate(bills):
        try:
            submissions.append(Submission(index, BillIn.model_validate(item)))
        except ValidationError as exc:
            claim_id = item.get("partner_claim_id") if isinstance(item, dict) else None
            submissions.append(
                Submission(
                    index,
                    None,
                    validation_errors(exc.errors()),
                    claim_id if isinstance(claim_id, str) else None,
                )
            )
    return submissions


@router.post(
    "/x12",
    response_model=X12Out,
    summary="Submit an X12 837 interchange (837P or 837I, 5010)",
    responses={
        **SUBMIT_ERRORS,
        422: {
            "description": "The file cannot be read at all (no ISA, an envelope error, no claim); `errors` "
            "name the segment and element. Nothing was stored.",
            **PROBLEM,
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/edi-x12": {"schema": {"type": "string"}, "example": X12_EXAMPLE},
                "text/plain": {"schema": {"type": "string"}, "example": X12_EXAMPLE},
            },
        }
    },
)
async def submit_x12(
    request: Request,
    tx: TxDep,
    partner: CurrentPartner,
    client_id: Annotated[
        str | None,
        Query(description="The client the file's claims are for; optional when the key has one client."),
    ] = None,
    line_of_business: Annotated[
        LineOfBusiness | None,
        Query(description="For every claim of the file; otherwise taken from SBR09 (WC, AM, CI…)."),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """One bill per claim (CLM), any number of claims and transaction sets.

    The delimiters are read from the ISA segment. Every claim is answered on its own in `claims`: a
    claim with a problem is rejected with errors naming the **segment** (with its position in the
    transaction set, as a 999 counts it) and the **element**, and nothing of it is stored, while the
    good claims of the same file are. CLM05-3 says original (1), replacement (7) or void (8).

    Numbering style does not refuse a claim: HL ids that do not start at 1 or continue from the previous
    transaction set, LX numbers that skip, wrong GE/IEA counts or control numbers are `warnings`. A
    claim is refused for its hierarchy only when its HL's parent is missing or ambiguous, and a
    transaction set's claims when its SE count or control number is wrong.

    A defect in an element Parley does not need to price or negotiate (a diagnosis pointer written
    `1.00`, a 9-digit service-facility NPI) leaves that element out and is named in the claim's
    `warnings`; defects in charges, codes, units, dates and the billing provider are errors.

    A composite written with another separator than ISA16 declares (e.g. `HC>98940` under `ISA16 = :`)
    is rejected at that element: Parley does not guess separators. If Parley operations recorded that
    your system writes composites with that character, they are read with it and each claim says so
    in its `warnings`.
    """
    client = _client_for(partner, client_id)
    raw = await request.body()
    text = _decode(raw)
    separator = await composite_separator(tx.session, partner.subject)
    try:
        interchange = await asyncio.to_thread(
            read_837,
            text,
            client_id=client,
            line_of_business=line_of_business,
            composite_separator=separator,
        )
    except X12FileError as exc:
        raise Unprocessable(
            "the file cannot be read as an X12 837 interchange; nothing was stored",
            errors=[p.as_dict() for p in exc.problems],
        ) from exc
    parsed = interchange.claims
    submissions = [submission_of(i, claim) for i, claim in enumerate(parsed)]

    async def create() -> tuple[int, X12Out]:
        results = await receive(tx, partner, submissions, source="x12")
        claims = [
            X12Claim(
                index=r.index,
                transaction=parsed[r.index].transaction,
                position=parsed[r.index].location.position,
                partner_claim_id=r.partner_claim_id,
                claim_type=parsed[r.index].claim_type,
                outcome=r.outcome,
                status=r.status,
                bill=r.bill,
                errors=[X12ErrorOut.model_validate(e) for e in _x12_errors(parsed[r.index], r.errors)],
                warnings=[X12ErrorOut.model_validate(w) for w in r.warnings],
            )
            for r in results
        ]
        return 200, X12Out(
            interchange_control_number=interchange.control_number,
            sender_id=interchange.sender,
            receiver_id=interchange.receiver,
            **outcome_counts(results),
            claims=claims,
            warnings=[X12ErrorOut.model_validate(w.as_dict()) for w in interchange.warnings],
        )

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"{partner.subject}:POST /v1/bills/x12",
        request_hash=fingerprint(raw, client, str(line_of_business)),
        action=create,
    )


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # X12's extended character set predates UTF-8


def _client_for(partner: Identity, client_id: str | None) -> str:
    if client_id is None:
        if partner.all_clients or len(partner.clients) != 1:
            raise Unprocessable(
                "this key serves several clients: say which one the file is for",
                errors=[{"field": "query:client_id", "message": "required for this key", "type": "missing"}],
            )
        (only,) = partner.clients
        return only
    if not partner.may_see(client_id):
        raise Forbidden(
            "this API key is not scoped to that client",
            errors=[
                {"field": "query:client_id", "message": "not one of this key's clients", "type": "scope"}
            ],
        )
    return client_id


def _x12_errors(claim: ParsedClaim, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors from reading are placed already; those from later checks are named by field: place them."""
    placed = [e for e in errors if "segment" in e]
    return placed + [p.as_dict() for p in located(claim, [e for e in errors if "segment" not in e])]


@router.get(
    "",
    response_model=BillPage,
    summary="List your bills and where each stands",
    responses={**AUTH_ERRORS},
)
async def list_bills(
    session: SessionDep,
    partner: CurrentPartner,
    status: Annotated[list[BillStatus] | None, Query(description="Any of these statuses.")] = None,
    client_id: Annotated[str | None, Query(description="One of your key's clients.")] = None,
    partner_claim_id: Annotated[str | None, Query(description="Your claim number.")] = None,
    received_from: Annotated[date | None, Query(description="Received on or after this day (UTC).")] = None,
    received_to: Annotated[date | None, Query(description="Received on or before this day (UTC).")] = None,
    updated_since: Annotated[
        datetime | None, Query(description="Changed at or after this instant: poll with it.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Bills per page.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> BillPage:
    """Newest first, without lines or patient data (read one bill for those). Page with `next_cursor`."""
    if client_id is not None and not partner.may_see(client_id):
        raise Forbidden(
            "this API key is not scoped to that client",
            errors=[
                {"field": "query:client_id", "message": "not one of this key's clients", "type": "scope"}
            ],
        )
    where = BillFilter(
        statuses=[s.value for s in status or []],
        client_id=client_id,
        partner_claim_id=partner_claim_id,
        received_from=received_from,
        received_to=received_to,
        updated_since=updated_since,
    )
    bills = await BillRepository(session).search(
        partner.subject,
        partner.client_scope,
        where,
        limit=limit + 1,
        after=decode_cursor(cursor) if cursor else None,
    )
    page = bills[:limit]
    more = len(bills) > limit
    return BillPage(
        items=[BillSummary.model_validate(b) for b in page],
        next_cursor=encode_cursor(page[-1].received_at, page[-1].id) if more else None,
    )


@router.get(
    "/{bill_id}",
    response_model=BillOut,
    summary="Read a bill, its status and its history",
    responses={**AUTH_ERRORS, 404: {"description": "No such bill among yours.", **PROBLEM}},
)
async def get_bill(
    request: Request,
    bill_id: Annotated[uuid.UUID, Path(description="Parley's bill id.")],
    tx: TxDep,
    partner: CurrentPartner,
) -> BillOut:
    """The bill as received (latest revision), its current status with the reason, every status change
    in the order it happened, and every revision. This read is written to the audit log (who, which
    bill, when), because it carries patient data."""
    repository = BillRepository(tx.session)
    bill = await repository.get_for_partner(bill_id, partner.subject, partner.client_scope)
    if bill is None:
        raise NotFound(f"no bill {bill_id}")
    await audit(tx, request, partner, "read:bill", "bill", bill.id, bill.client_id)
    return bill_out(bill)
