"""The figures the U&C reviews of one bill read from the folded cells (``pricing.uc_cells``): one statement.

A review of a line widens over scopes in order (``reviews.scopes``): a *chain*, e.g. ZIP3 → state →
national. Only the scopes a review reaches are read: the first step of every chain, and the next step
only while the ones before it have fewer than ``min_observations`` (a recursive query). For each scope
reached: how many observations (the sum of its cells' weights); for the one that ends its chain (enough
observations): the nearest-rank percentile, the smallest amount at or below which ``percentile``% of the
observations lie (the same value as Postgres' ``percentile_disc``).

Cost (issue 13): the count reads every cell of the scope (one ordered index range); the percentile then
walks cells from the nearer end only, stopping at the answer: from the top for the 50th percentile and
above (≈ 20% of the cells at the default 80th), from the bottom below it. The widest scopes (state, the
broad peer levels) are read only when a narrower one is too thin.

From the top, the answer is the first amount ``a`` (largest first) where the weight at or above ``a``,
``D(a)``, satisfies ``D(a) × 100 > total × (100 − percentile)``: with ``cum(a)`` the weight at or below
``a``, ``D(a) = total − cum(a) + n(a)``, and that condition holds exactly when ``cum`` of the amount just
below ``a`` is under ``percentile``% of the total, so the first such ``a`` from the top is the smallest
``a`` with ``cum(a) × 100 ≥ total × percentile``: the nearest rank (weights are never negative, so the
running sums never shrink).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ScopeFigure:
    """One review scope's answer: how many observations it holds and its percentile per unit (dollars)."""

    observations: int
    value: Decimal | None  # None with no observations


SCHEMA = "pricing"
Key = tuple[str, str, str]  # (setting, code, scope)

_TOTAL = f"""(SELECT coalesce(sum(c.n), 0)::bigint FROM {SCHEMA}.uc_cells c
             WHERE c.kind = $2 AND c.setting = w.setting AND c.code = w.code AND c.scope = w.scope)"""

_WALK = {
    # From the top: the first amount whose weight at or above it passes (100 - p)% of the total.
    "down": "DESC",
    # From the bottom: the first amount whose weight at or below it reaches p% of the total.
    "up": "ASC",
}
_PASSES = {"down": "x.running * 100 > t.total * (100 - $3)", "up": "x.running * 100 >= t.total * $3"}

_STATEMENT = """
WITH RECURSIVE w AS (
    SELECT (e->>0)::int AS chain, (e->>1)::int AS step, e->>2 AS setting, e->>3 AS code, e->>4 AS scope
    FROM json_array_elements(CAST($1 AS json)) e
), reached(chain, step, setting, code, scope, total) AS (
    SELECT w.chain, w.step, w.setting, w.code, w.scope, {total} FROM w WHERE w.step = 0
    UNION ALL
    SELECT w.chain, w.step, w.setting, w.code, w.scope, {total}
    FROM reached r JOIN w ON w.chain = r.chain AND w.step = r.step + 1
    WHERE r.total < $4
), t AS (
    SELECT DISTINCT setting, code, scope, total FROM reached
)
SELECT t.setting, t.code, t.scope, t.total, v.amount
FROM t LEFT JOIN LATERAL (
    SELECT x.amount FROM (
        SELECT c.amount, sum(c.n) OVER (ORDER BY c.amount {order} ROWS UNBOUNDED PRECEDING) AS running
        FROM {schema}.uc_cells c
        WHERE c.kind = $2 AND c.setting = t.setting AND c.code = t.code AND c.scope = t.scope
        ORDER BY c.amount {order}
    ) x
    WHERE {passes}
    ORDER BY x.amount {order}
    LIMIT 1
) v ON t.total >= $4
"""

# asyncpg's own placeholders: the statement goes to the driver directly (see ``scope_figures``).
STATEMENTS = {
    way: _STATEMENT.format(total=_TOTAL, order=order, passes=_PASSES[way], schema=SCHEMA)
    for way, order in _WALK.items()
}


async def scope_figures(
    session: AsyncSession,
    kind: str,
    percentile: int,
    min_observations: int,
    chains: Sequence[Sequence[Key]],
) -> dict[Key, ScopeFigure]:
    """For each scope the reviews reach: its observations and, when enough, its percentile amount.

    ``chains``: per review of a line, its (setting, code, scope) keys in widening order. A scope not
    reached (a narrower one before it had enough) is absent from the answer: nothing reads it.
    """
    flat = [(i, step, *key) for i, chain in enumerate(chains) for step, key in enumerate(chain)]
    if not flat:
        return {}
    # The bill's hottest statement goes to asyncpg directly, in the session's transaction (the decision
    # has read the reference version through the session first): SQLAlchemy's execution and result
    # layers cost more than the rest of the review in Python, and one JSON parameter instead of five
    # arrays spares asyncpg a type check per element (issue 13's profile of the decision).
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    statement = STATEMENTS["down" if percentile >= 50 else "up"]
    rows = await driver.fetch(statement, json.dumps(flat), kind, percentile, min_observations)
    return {(r["setting"], r["code"], r["scope"]): ScopeFigure(int(r["total"]), r["amount"]) for r in rows}
