"""How figures read to people (weekly report, dashboard): dollars, percents, durations, changes.

The API and CSV exports carry raw numbers; only documents and pages format them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "−" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def count(value: Decimal | int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


def duration(seconds: int | None) -> str:
    """45 s, 12 min, 3.4 h, 2.1 d."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def change(current: Decimal | int | None, previous: Decimal | int | None) -> str:
    """Relative change from ``previous`` to ``current``: '+12.5 %', '−3.0 %', 'new' or '—'."""
    if current is None or previous is None:
        return "—"
    now, before = Decimal(current), Decimal(previous)
    if before == 0:
        return "—" if now == 0 else "new"
    relative = ((now - before) * 100 / abs(before)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if relative == 0:
        return "0.0 %"
    return f"+{relative} %" if relative > 0 else f"−{abs(relative)} %"
