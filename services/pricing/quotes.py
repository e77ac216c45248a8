"""A priced line and a priced bill, whatever the method: what every pricing step produces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts import BillLineV1

ZERO = Decimal("0")


@dataclass(frozen=True)
class LineQuote:
    line_number: int
    code: str | None
    modifiers: tuple[str, ...]
    units: Decimal
    billed: Decimal
    method_amount: Decimal | None  # the method's amount before the lesser-of-billed rule
    allowed: Decimal | None  # None: not priced, see reason
    basis: str
    reason: str | None = None


def unpriced(line: BillLineV1, reason: str) -> LineQuote:
    return LineQuote(
        line_number=line.line_number,
        code=line.procedure_code or line.revenue_code,
        modifiers=tuple(line.modifiers),
        units=line.units,
        billed=line.charge,
        method_amount=None,
        allowed=None,
        basis="not priced",
        reason=reason,
    )


def priced(line: BillLineV1, amount: Decimal, basis: str, *, code: str | None = None) -> LineQuote:
    """A line worth ``amount`` under its method, allowed at the lesser of that and the billed charge."""
    return LineQuote(
        line_number=line.line_number,
        code=code or line.procedure_code or line.revenue_code,
        modifiers=tuple(line.modifiers),
        units=line.units,
        billed=line.charge,
        method_amount=amount,
        allowed=min(line.charge, amount),
        basis=basis,
    )


def total_allowed(quotes: Sequence[LineQuote]) -> Decimal:
    return sum((q.allowed for q in quotes if q.allowed is not None), ZERO)


def unpriced_billed(quotes: Sequence[LineQuote]) -> Decimal:
    return sum((q.billed for q in quotes if q.allowed is None), ZERO)
