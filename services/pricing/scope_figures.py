"""The figures the U&C reviews of one bill read from the folded cells (``pricing.uc_cells``): one statement.

A review of a line widens over scopes in order (``reviews.scopes``): a *chain*, e.g. ZIP3 → state →
national. Only the scopes a review reaches are read: the first step of every chain, and the next step
only while the ones before it have fewer than ``min_observations`` (a recursive query). For each scope
reached: how many observations (the sum of its cells' weights); for the one that ends its chain (enough
observations): the nearest-rank percentile, the smallest amount at or below which ``percentile``% of the
observations lie (the same value as Postgres' ``percentile_disc``).

Cost (issue 13): the count reads every cell of the scope (one ordered index range); the percentile then
walks cells from the nearer end only, stopping at the answer: from the top for the 50th percentile and
above (≈ 20% of the cells at the default 80th), from the bottom below it. The old statement computed a
window over every cell of every scope a review might need (national, state, ZIP3, four peer levels), for
every line; the widest ones (state, the broad peer levels) are now read only when a narrower scope is
too thin.

From the top, the answer is the first amount ``a`` (largest first) where the weight at or above ``a``,
``D(a)``, satisfies ``D(a) × 100 > total × (100 − percentile)``: with ``cum(a)`` the weight at or below
``a``, ``D(a) = total − cum(a) + n(a)``, and that condition holds exactly when ``cum`` of the amount just
below ``a`` is under ``percentile``% of the total, so the first such ``a`` from the top is the smallest
``a`` with ``cum(a) × 100 ≥ total × percentile``: the nearest rank (weights are positive: sums only grow).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.observations import ScopeFigure

SCHEMA = "pricing"
Key = tuple[str, str, str]  # (setting, code, scope)

_TOTAL = f"""(SELECT coalesce(sum(c.n), 0)::bigint FROM {SCHEMA}.uc_cells c
             WHERE c.kind = :kind AND c.setting = w.setting AND c.code = w.code AND c.scope = w.scope)"""

_WALK = {
    # From the top: the first amount whose weight at or above it passes (100 - p)% of the total.
    "down": "DESC",
    # From the bottom: the first amount whose weight at or below it reaches p% of the total.
    "up": "ASC",
}
_PASSES = {"down": "x.running * 100 > t.total * (100 - :p)", "up": "x.running * 100 >= t.total * :p"}

_STATEMENT = """
WITH RECURSIVE w AS (
    SELECT * FROM unnest(
        CAST(:chains AS int[]), CAST(:steps AS int[]),
        CAST(:settings AS text[]), CAST(:codes AS text[]), CAST(:scopes AS text[])
    ) AS w(chain, step, setting, code, scope)
), reached(chain, step, setting, code, scope, total) AS (
    SELECT w.chain, w.step, w.setting, w.code, w.scope, {total} FROM w WHERE w.step = 0
    UNION ALL
    SELECT w.chain, w.step, w.setting, w.code, w.scope, {total}
    FROM reached r JOIN w ON w.chain = r.chain AND w.step = r.step + 1
    WHERE r.total < :min
), t AS (
    SELECT DISTINCT setting, code, scope, total FROM reached
)
SELECT t.setting, t.code, t.scope, t.total, v.amount
FROM t LEFT JOIN LATERAL (
    SELECT x.amount FROM (
        SELECT c.amount, sum(c.n) OVER (ORDER BY c.amount {order} ROWS UNBOUNDED PRECEDING) AS running
        FROM {schema}.uc_cells c
        WHERE c.kind = :kind AND c.setting = t.setting AND c.code = t.code AND c.scope = t.scope
        ORDER BY c.amount {order}
    ) x
    WHERE {passes}
    ORDER BY x.amount {order}
    LIMIT 1
) v ON t.total >= :min
"""

STATEMENTS = {
    way: text(_STATEMENT.format(total=_TOTAL, order=order, passes=_PASSES[way], schema=SCHEMA))
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
    rows = await session.execute(
        STATEMENTS["down" if percentile >= 50 else "up"],
        {
            "kind": kind,
            "p": percentile,
            "min": min_observations,
            "chains": [f[0] for f in flat],
            "steps": [f[1] for f in flat],
            "settings": [f[2] for f in flat],
            "codes": [f[3] for f in flat],
            "scopes": [f[4] for f in flat],
        },
    )
    return {(r.setting, r.code, r.scope): ScopeFigure(int(r.total), r.amount) for r in rows}
