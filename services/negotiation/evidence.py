"""The pricing evidence a case keeps from ``bill.priced``: per line billed, the three U&C reviews and the
target, and the audit findings. It is what an offer quotes and what the provider's offer page shows, so
it holds no patient data (codes and dollars only)."""

from __future__ import annotations

from typing import Any

from services.negotiation.routing import ERROR_RULES
from shared.contracts import BillPricedV2


def evidence_of(priced: BillPricedV2) -> dict[str, Any]:
    """A JSON-ready snapshot of the pricing (amounts as strings, like the events)."""
    reviews: dict[int, dict[str, str | None]] = {line.line_number: {} for line in priced.lines}
    uc = priced.usual_and_customary
    if uc is not None:
        for review in uc.reviews:
            for line in review.lines:
                reviews.setdefault(line.line_number, {})[review.kind.value] = (
                    None if line.allowance is None else f"{line.allowance:f}"
                )
    return {
        "pricing_revision": priced.revision,
        "method": priced.method.value,
        "jurisdiction": priced.jurisdiction,
        "statement_sha256": priced.statement_sha256,
        "uc": None
        if uc is None
        else {
            "percentile": uc.percentile,
            "basis": uc.basis,
            "reviews": {review.kind.value: f"{review.total:f}" for review in uc.reviews},
            "median_total": f"{uc.median_total:f}",
        },
        "lines": [
            {
                "line_number": line.line_number,
                "code": line.code,
                "modifiers": list(line.modifiers),
                "units": None if line.units is None else f"{line.units:f}",
                "billed": f"{line.billed:f}",
                "allowed": None if line.allowed is None else f"{line.allowed:f}",
                "basis": line.basis,
                "reason": line.reason,
                "reviews": reviews.get(line.line_number, {}),
            }
            for line in priced.lines
        ],
        "findings": [
            {
                "rule": f.rule,
                "line_number": f.line_number,
                "related_line": f.related_line,
                "amount_at_stake": f"{f.amount_at_stake:f}",
                "detail": f.detail,
                "error": f.rule in ERROR_RULES,
            }
            for f in priced.findings
        ],
    }
