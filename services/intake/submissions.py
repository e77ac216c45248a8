"""One claim of a request as it was submitted (JSON, batch or X12), and Parley's answer to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from services.intake.repository import ClaimKey
from services.intake.schemas import BillIn, BillSummary, Outcome

Source = Literal["json", "x12"]


@dataclass(frozen=True)
class Submission:
    """One claim of a request: validated, or the shape errors that stopped it."""

    index: int
    claim: BillIn | None
    errors: list[dict[str, str]] = field(default_factory=list)
    claim_id: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)  # kept, but worth checking


@dataclass
class Received:
    """The answer to one claim: its outcome, the HTTP status it would have had alone, and the bill as
    stored (None when rejected, with the errors and the detail)."""

    index: int
    partner_claim_id: str | None
    outcome: Outcome
    status: int
    bill: BillSummary | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    detail: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


def rejected(sub: Submission, status: int, errors: list[dict[str, str]], detail: str) -> Received:
    """The answer to a claim of which nothing is stored."""
    claim_id = sub.claim.partner_claim_id if sub.claim else sub.claim_id
    return Received(sub.index, claim_id, "rejected", status, None, errors, detail, sub.warnings)


def claim_key(claim: BillIn) -> ClaimKey:
    """A claim is known by its client and the partner's claim number (per partner)."""
    return (claim.client_id, claim.partner_claim_id)


def outcome_counts(results: list[Received]) -> dict[str, int]:
    """How many claims were created, replaced, voided and rejected."""
    outcomes = [r.outcome for r in results]
    return {k: outcomes.count(k) for k in ("created", "replaced", "voided", "rejected")}
