"""What Parley charges a client for a bill, and what the client keeps: the fee and the net savings.

Fee terms are set per client by an admin, each with the date it takes effect (seed 003, "Pricing models"):

- **contingency**: ``percent`` of the bill's savings, at most ``cap`` per bill; no savings, no fee
  (e.g. 25 % capped at $1,000: a $3,500 bill settled at $2,500 saves $1,000 and costs $250);
- **flat**: ``flat`` dollars per settled or repriced bill, whatever it saved;
- **hybrid**: ``flat`` plus ``percent`` of the savings (the percent part only when there are savings), the
  total at most ``cap``.

A bill's fee is worked out with the terms in effect on the day it was settled or repriced (the reporting
time zone's calendar day): terms that take effect on day D apply to bills settled on D or later, and
adding terms (even back-dated) re-works the fees of the client's bills settled since D. Terms are never
edited: new terms with the same effective date supersede the old ones, which are kept for the record.
Money is Decimal, rounded half-up to the cent once, on the percent part.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class FeeKind(StrEnum):
    contingency = "contingency"
    flat = "flat"
    hybrid = "hybrid"


@dataclass(frozen=True)
class FeeTerms:
    """One client's fee terms from ``effective_from`` on."""

    kind: FeeKind
    effective_from: date
    percent: Decimal | None = None  # of savings, e.g. 25 for 25 %
    cap: Decimal | None = None  # most per bill, dollars
    flat: Decimal | None = None  # dollars per bill
    id: uuid.UUID | None = None

    def problems(self) -> list[tuple[str, str]]:
        """(field, why) for each way these terms are incomplete or contradictory; empty when valid."""
        found: list[tuple[str, str]] = []
        wants_percent = self.kind in (FeeKind.contingency, FeeKind.hybrid)
        wants_flat = self.kind in (FeeKind.flat, FeeKind.hybrid)
        if wants_percent and self.percent is None:
            found.append(("percent", f"{self.kind} terms need a percent of savings"))
        if not wants_percent and self.percent is not None:
            found.append(("percent", "flat terms take no percent"))
        if wants_flat and self.flat is None:
            found.append(("flat", f"{self.kind} terms need a flat amount per bill"))
        if not wants_flat and self.flat is not None:
            found.append(("flat", "contingency terms take no flat amount; use hybrid"))
        if self.kind is FeeKind.flat and self.cap is not None:
            found.append(("cap", "a flat fee has no cap"))
        if self.cap is not None and self.flat is not None and self.cap < self.flat:
            found.append(("cap", "the cap is below the flat amount"))
        return found


def fee_for(terms: FeeTerms | None, savings: Decimal) -> Decimal:
    """The fee for one settled or repriced bill that saved ``savings`` dollars (0 without terms)."""
    if terms is None:
        return ZERO
    percent_part = ZERO
    if terms.percent is not None and savings > 0:
        percent_part = (savings * terms.percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    fee = (terms.flat or ZERO) + percent_part
    if terms.cap is not None:
        fee = min(fee, terms.cap)
    return fee.quantize(CENT)


def terms_on(history: list[FeeTerms], day: date) -> FeeTerms | None:
    """The terms in effect on ``day``: the latest to take effect on or before it (``history`` holds only
    terms not superseded)."""
    chosen: FeeTerms | None = None
    for terms in history:
        if terms.effective_from <= day and (chosen is None or terms.effective_from > chosen.effective_from):
            chosen = terms
    return chosen


def client_lock_key(client_id: str) -> int:
    """The advisory-lock key that orders a client's fee changes against its bills being settled."""
    return zlib.crc32(f"reporting.fees:{client_id}".encode()) - 2**31
