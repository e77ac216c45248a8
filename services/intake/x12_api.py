"""Intake's HTTP route for X12: a partner submits an 837 interchange, one bill per claim.

The file is read off the event loop (:func:`services.intake.x12.read_837`); its claims are then received
like a JSON batch (:func:`services.intake.bills.receive`), each answered with its problems placed on
their segment and element.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.intake.api import PROBLEM, SUBMIT_ERRORS, idempotency
from services.intake.auth import CurrentPartner, require_client
from services.intake.bills import receive
from services.intake.examples import X12_EXAMPLE
from services.intake.partners import composite_separator
from services.intake.schemas import X12Claim, X12ErrorOut, X12Out
from services.intake.submissions import outcome_counts
from services.intake.x12 import read_837
from services.intake.x12_claims import ParsedClaim, located, submission_of
from services.intake.x12_syntax import X12FileError
from shared.auth import Identity
from shared.contracts import LineOfBusiness
from shared.errors import Unprocessable
from shared.idempotency import IdempotencyKey, fingerprint
from shared.service import TxDep

router = APIRouter(prefix="/v1/bills", tags=["bills"])


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
    require_client(partner, client_id)
    return client_id


def _x12_errors(claim: ParsedClaim, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors from reading are placed already; those from later checks are named by field: place them."""
    placed = [e for e in errors if "segment" in e]
    return placed + [p.as_dict() for p in located(claim, [e for e in errors if "segment" not in e])]
