"""What every bill-audit rule shares: the finding it writes and the modifiers it reads.

A finding names the line, the rule and the billed dollars at stake (``ZERO`` for coding problems that
change no payment by themselves). Pure functions.
"""

from __future__ import annotations

from decimal import Decimal

from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, FindingV2

ZERO = Decimal("0.00")
# A repeat with one of these is explained (76/77 repeat procedures, 91 repeat lab, 59/X distinct service);
# 26/TC components are judged by the PC/TC rule instead.
REPEAT_MODIFIERS = frozenset({"76", "77", "91", "59", "XE", "XP", "XS", "XU", "26", "TC"})
SIDE_MODIFIERS = frozenset(
    {
        "LT",
        "RT",
        "50",
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "LC",
        "LD",
        "RC",
        "LM",
        "RI",
    }
)
DISTINCT_SERVICE = frozenset({"59", "XE", "XP", "XS", "XU"})


def is_em(code: str | None) -> bool:
    return code is not None and code.isdigit() and 99202 <= int(code) <= 99499


def line_key(line: BillLineV1) -> str | None:
    return line.procedure_code or line.revenue_code


def finding(
    rule: str, line: BillLineV1, amount: Decimal, detail: str, related: BillLineV1 | None = None
) -> FindingV2:
    return FindingV2(
        rule=rule,
        line_number=line.line_number,
        related_line=related.line_number if related else None,
        amount_at_stake=cents(amount),
        detail=detail,
    )
