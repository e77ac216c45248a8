"""Receiving claims: originals create bills here; replacements and voids change them
(:mod:`services.intake.claim_changes`).

One function serves the single JSON endpoint, the JSON batch and X12 files. Within a request every claim
stands alone: a claim with a problem is answered with its problems and writes nothing, while the good
claims beside it are stored. All writes of a request share its transaction, so a crash stores all of
them or none, and each state change commits together with its ``bill.received``/``bill.voided`` event
and any webhook delivery it causes.

Several claims are written with one statement per table (not one per claim): that is what keeps a
thousand-claim X12 file quick.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from services.intake.bill_rows import claim_columns, kept_warnings, line_rows, patient_rows, revision_row
from services.intake.claim_changes import change
from services.intake.claims import problems
from services.intake.events import received_event
from services.intake.repository import BillRepository, ClaimKey
from services.intake.schemas import BillIn, BillSummary
from services.intake.status import BillStatus
from services.intake.submissions import Received, Source, Submission, claim_key, rejected
from services.intake.webhooks import EVENT_TYPE, StatusChanged, body_of, enqueue
from shared.auth import Identity
from shared.bus.outbox import Tx
from shared.contracts import ClaimFrequency
from shared.idempotency import KeyClaim


async def receive(
    tx: Tx,
    principal: Identity,
    submissions: Sequence[Submission],
    *,
    source: Source,
    key: KeyClaim | None = None,
) -> list[Received]:
    """Answer every claim of a request, in its order: stored (created, replaced, voided) or rejected.

    ``key``: the Idempotency-Key of a request of one original bill, claimed by the statement that
    stores it (with the bill as the response to replay)."""
    results: dict[int, Received] = {}
    originals: list[tuple[Submission, BillIn]] = []
    changes: list[tuple[Submission, BillIn]] = []
    seen: set[ClaimKey] = set()
    for sub in submissions:
        claim = sub.claim
        if claim is None:
            results[sub.index] = rejected(sub, 422, sub.errors, "the bill is invalid")
            continue
        if not principal.may_see(claim.client_id):
            scope = [{"field": "client_id", "message": "not one of this key's clients", "type": "scope"}]
            results[sub.index] = rejected(sub, 403, scope, "this API key is not scoped to that client")
            continue
        found = [p.as_dict() for p in problems(claim)]
        if claim_key(claim) in seen:
            found.append(
                {
                    "field": "partner_claim_id",
                    "message": "the same claim appears earlier in this request; send one at a time",
                    "type": "duplicate_in_request",
                }
            )
        if found:
            results[sub.index] = rejected(sub, 422, found, "the bill is invalid")
            continue
        seen.add(claim_key(claim))
        (originals if claim.frequency is ClaimFrequency.original else changes).append((sub, claim))

    now = datetime.now(UTC)
    repository = BillRepository(tx.session)
    notices: list[StatusChanged] = []
    locked = await repository.lock_claims(principal.subject, [claim_key(c) for _, c in changes])
    for sub, claim in changes:
        results[sub.index] = await change(
            tx, repository, locked.get(claim_key(claim)), sub, claim, source, now
        )
        if results[sub.index].bill is not None:
            notices.append(StatusChanged(results[sub.index].bill, now))  # type: ignore[arg-type]
    for received in await _create(tx, repository, principal, originals, source, now, key):
        results[received.index] = received  # their webhooks were queued with them
    await enqueue(tx.session, principal.subject, notices)
    return [results[i] for i in sorted(results)]


async def _create(
    tx: Tx,
    repository: BillRepository,
    principal: Identity,
    originals: list[tuple[Submission, BillIn]],
    source: Source,
    now: datetime,
    key: KeyClaim | None = None,
) -> list[Received]:
    assert key is None or len(originals) <= 1, "an Idempotency-Key is claimed here for one bill only"
    rows = {
        sub.index: {
            "id": uuid.uuid4(),
            "partner_id": principal.subject,
            **claim_columns(claim),
            "warnings": kept_warnings(sub.warnings),
            "revision": 1,
            "frequency": ClaimFrequency.original.value,
            "source": source,
            "status": BillStatus.received.value,
            "status_detail": None,
            "priced_amount": None,
            "pricing_method": None,
            "agreed_amount": None,
            "received_at": now,
            "updated_at": now,
            "voided_at": None,
        }
        for sub, claim in originals
    }
    lines, patients, revisions, history, webhooks = [], [], [], [], []
    summaries = {}
    for sub, claim in originals:
        row = rows[sub.index]
        lines += line_rows(row["id"], claim)
        patients += patient_rows(row["id"], claim)
        revisions.append(revision_row(row["id"], 1, claim, source, now))
        history.append({"bill_id": row["id"], "status": BillStatus.received.value, "detail": None, "at": now})
        summaries[sub.index] = BillSummary.model_validate(row)
        event_id = uuid.uuid4()
        body = body_of(event_id, StatusChanged(summaries[sub.index], now))
        webhooks.append({"id": event_id, "bill_id": row["id"], "event_type": EVENT_TYPE, "body": body})
    # The events travel in the insert's statement, each joined to its bill: a claim skipped as a
    # duplicate emits nothing, and the bills and their events commit together.
    bill_ids = [rows[sub.index]["id"] for sub, _ in originals]
    _, events = tx.outbox.rows(
        [
            (received_event(bill_id, principal.subject, claim, revision=1, received_at=now), str(bill_id))
            for bill_id, (_, claim) in zip(bill_ids, originals, strict=True)
        ]
    )
    inserted = await repository.insert_new(
        bills=list(rows.values()),
        lines=lines,
        patients=patients,
        revisions=revisions,
        history=history,
        webhooks=webhooks,
        events=[{**event, "bill_id": bill_id} for bill_id, event in zip(bill_ids, events, strict=True)],
        key=key,
        # What the key replays if this succeeds: the bill as stored (201), as the endpoint answers.
        response=next((s.model_dump(mode="json") for s in summaries.values()), None),
    )
    stored = [(sub, claim) for sub, claim in originals if rows[sub.index]["id"] in inserted]
    results = [
        Received(
            sub.index, claim.partner_claim_id, "created", 201, summaries[sub.index], warnings=sub.warnings
        )
        for sub, claim in stored
    ]
    lost = [(sub, claim) for sub, claim in originals if rows[sub.index]["id"] not in inserted]
    existing = await repository.ids_of(principal.subject, [claim_key(c) for _, c in lost])
    for sub, claim in lost:
        where = existing.get(claim_key(claim))
        detail = (
            f"claim {claim.partner_claim_id!r} of client {claim.client_id!r} was already received"
            + (f" as bill {where}" if where else "")
            + "; to change it, send a replacement (frequency replacement / CLM05-3 = 7)"
        )
        error = {"field": "partner_claim_id", "message": "already received", "type": "duplicate"}
        results.append(rejected(sub, 409, [error], detail))
    return results
