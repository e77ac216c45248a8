"""Intake's HTTP API for bills: partners submit them as JSON, one or a batch at a time.

Every partner endpoint needs a partner API key (``Authorization: Bearer prly_…``). A partner sees and
changes only its own bills, for the clients its key is scoped to; anything else is 404, as if it did not
exist. The partner's other routes share this module's error answers and idempotency: X12 files
(:mod:`services.intake.x12_api`), following bills (:mod:`services.intake.status_api`) and webhooks
(:mod:`services.intake.webhooks_api`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.intake.auth import CurrentPartner, Forbidden
from services.intake.bills import receive
from services.intake.examples import BILL_EXAMPLE, INSTITUTIONAL_EXAMPLE
from services.intake.models import idempotency_keys
from services.intake.schemas import BatchItem, BatchOut, BillIn, BillSummary
from services.intake.submissions import Received, Submission, outcome_counts
from shared.auth import Identity
from shared.bus.outbox import Tx
from shared.contracts import ClaimFrequency
from shared.errors import Conflict, ProblemError, Unprocessable
from shared.http import JSON_TOO_DEEP, JSON_TOO_DEEP_ERROR, validation_errors
from shared.idempotency import Idempotency, IdempotencyKey, KeyClaim, fingerprint, response
from shared.service import TxDep

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


def _raise_for(result: Received) -> NoReturn:
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

    scope = f"{partner.subject}:POST /v1/bills"
    request_hash = fingerprint(body.model_dump_json())
    if body.frequency is ClaimFrequency.original:
        return await _submit_original(tx, partner, body, idempotency_key, scope, request_hash)

    async def create() -> tuple[int, BillSummary]:
        (result,) = await receive(tx, partner, [Submission(0, body)], source="json")
        if result.bill is None:
            _raise_for(result)
        assert result.bill is not None
        return result.status, result.bill

    return await idempotency.run(
        tx.session, key=idempotency_key, scope=scope, request_hash=request_hash, action=create
    )


async def _submit_original(
    tx: Tx, partner: Identity, body: BillIn, key: str | None, scope: str, request_hash: str
) -> JSONResponse:
    """An original is stored by one statement (bill, lines, history and its ``bill.received`` event,
    and the Idempotency-Key with the answer it replays: BillRepository.insert_new). Without a key that
    statement is atomic by itself and runs without BEGIN and COMMIT: one round trip instead of three.
    With a key it runs in the transaction, which a refused claim (409) rolls back with the key."""
    if key is None:
        await tx.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    claim = KeyClaim(scope, key, request_hash) if key is not None else None
    (result,) = await receive(tx, partner, [Submission(0, body)], source="json", key=claim)
    if result.bill is not None:
        content = result.bill.model_dump(mode="json")
        if claim is None:
            return JSONResponse(content, status_code=result.status)
        return response(result.status, content, replayed=False)
    if claim is not None and not claim.claimed:
        # The key was used before (or this request was refused before claiming it): a key that was
        # used answers as it did the first time, whatever this request would have been answered.
        replayed = await idempotency.replay(tx.session, claim)
        if replayed is not None:
            return replayed
    _raise_for(result)


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
    except RecursionError as exc:  # nested past the parser's depth: it stopped before using much memory
        raise Unprocessable(JSON_TOO_DEEP, errors=[JSON_TOO_DEEP_ERROR]) from exc
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
