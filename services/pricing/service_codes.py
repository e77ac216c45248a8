"""How a service is named for U&C comparisons, the same way for bills and for every file we import.

A CPT/HCPCS code is the service; a professional or technical component (modifier 26 or TC) is a
different service with its own prices, so it is kept as ``71046-26``. A revenue-code-only line is
``RC0450``. An inpatient stay, compared as a whole, is its MS-DRG: ``DRG885``. Facility and professional
charges for one code differ several-fold, so the setting is part of the key too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
COMPONENT_MODIFIERS = ("26", "TC")
_PROCEDURE = re.compile(r"^(\d{4}[0-9A-Z]|[A-Z]\d{4})$")
PROCEDURE_TYPES = frozenset({"CPT", "HCPCS"})
DRG_TYPES = frozenset({"MS-DRG", "MSDRG", "DRG"})


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def service_code(procedure: str | None, revenue: str | None, modifiers: Iterable[str] = ()) -> str | None:
    if procedure:
        code = procedure.strip().upper()
        if not _PROCEDURE.fullmatch(code):
            return None
        component = next((m for m in modifiers if m.strip().upper() in COMPONENT_MODIFIERS), None)
        return f"{code}-{component.strip().upper()}" if component else code
    if revenue and revenue.strip().isdigit() and len(revenue.strip()) <= 4:
        return "RC" + revenue.strip().zfill(4)
    return None


def stay_code(drg: str) -> str:
    """An inpatient stay is one service, named by its MS-DRG: ``DRG885``."""
    return "DRG" + drg.strip().zfill(3)


def coded(codes: Iterable[tuple[str, str]], modifiers: Iterable[str] = ()) -> tuple[str | None, str]:
    """The service code of a file item from its (code, type) pairs: (code, "") or (None, why not)."""
    pairs = [(c.strip(), t.strip().upper()) for c, t in codes if c and c.strip()]
    modifiers = list(modifiers)
    for code, kind in pairs:
        if kind in PROCEDURE_TYPES:
            found = service_code(code, None, modifiers)
            if found:
                return found, ""
    for code, kind in pairs:
        if kind in DRG_TYPES and code.isdigit() and len(code) <= 3:
            return stay_code(code), ""
    for code, kind in pairs:
        if kind == "RC":
            found = service_code(None, code)
            if found:
                return found, ""
    if not pairs:
        return None, "no code: a modifier or note row, not a service"
    kinds = ", ".join(sorted({k for _, k in pairs}))
    return None, f"code type {kinds} is not a service Parley compares (CPT, HCPCS, RC and MS-DRG are)"


def allowed_points(
    p10: Decimal | None, median: Decimal, p90: Decimal | None, count: int
) -> list[tuple[Decimal, int]]:
    """Points standing in for ``count`` allowed amounts published only as 10th/50th/90th percentiles.

    Up to ten points at evenly spaced quantiles, read off the straight lines through the published
    percentiles (flat below the 10th and above the 90th), sharing the count as weights. With only a
    median, one point carries the whole count.
    """
    if count <= 0:
        return []
    if p10 is None or p90 is None:
        return [(cents(median), count)]
    points = min(count, 10)
    out: list[tuple[Decimal, int]] = []
    for i in range(points):
        q = (Decimal(i) + Decimal("0.5")) / points
        if q <= Decimal("0.1"):
            amount = p10
        elif q <= Decimal("0.5"):
            amount = p10 + (median - p10) * (q - Decimal("0.1")) / Decimal("0.4")
        elif q < Decimal("0.9"):
            amount = median + (p90 - median) * (q - Decimal("0.5")) / Decimal("0.4")
        else:
            amount = p90
        out.append((cents(amount), count // points + (1 if i < count % points else 0)))
    return out
