"""The figures the U&C reviews of one bill read from the folded observations: one statement.

A review of a line widens over scopes in order (``reviews.scopes``): a *chain*, e.g. ZIP3 → state →
national. Only the scopes a review reaches are read: the first step of every chain, and the next step
only while the ones before it have fewer than ``min_observations`` (a recursive query). For each scope
reached: how many observations (its row in ``uc_totals``, by the service's id in ``uc_services``: one
probe); for the one that ends its chain
(enough observations): the nearest-rank percentile, the smallest amount at or below which ``percentile``%
of the observations lie (the same value as Postgres' ``percentile_disc``).

The percentile walks the scope's cells in amount order from the nearer end only, stopping at the answer:
from the top for the 50th percentile and above (≈ 20% of the weight at the default 80th), from the bottom
below it. National and a state: their own cells (``uc_scope_cells``, one ordered index range). A narrower
scope (a ZIP3, a peer group): the place cells (``uc_place_cells``) of its places (``uc_place_scopes``),
sorted (see ``observations``).

From the top, the answer is the first amount ``a`` (largest first) where the weight at or above ``a``,
``D(a)``, satisfies ``D(a) × 100 > total × (100 − percentile)``: with ``cum(a)`` the weight at or below
``a``, ``D(a) = total − cum(a) + n(a)``, and that condition holds exactly when ``cum`` of the amount just
below ``a`` is under ``percentile``% of the total, so the first such ``a`` from the top is the smallest
``a`` with ``cum(a) × 100 ≥ total × percentile``: the nearest rank. Several places' cells of one amount
are summed one row at a time: the running sum can first pass only at a row of the answer's amount,
because it has not passed after every row of the amounts before it (weights are never negative, so the
running sums never shrink).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import raw_connection


@dataclass(frozen=True)
class ScopeFigure:
    """One review scope's answer: how many observations it holds and its percentile per unit (dollars)."""

    observations: int
    value: Decimal | None  # None with no observations


SCHEMA = "pricing"
Key = tuple[str, str, str]  # (setting, code, scope)

_TOTAL = f"""(SELECT coalesce(sum(t.n), 0)::bigint FROM {SCHEMA}.uc_totals t
             WHERE t.service_id = w.service_id AND t.scope = w.scope)"""

_WALK = {
    # From the top: the first amount whose weight at or above it passes (100 - p)% of the total.
    "down": "DESC",
    # From the bottom: the first amount whose weight at or below it reaches p% of the total.
    "up": "ASC",
}
_PASSES = {"down": "x.running * 100 > t.total * (100 - $3)", "up": "x.running * 100 >= t.total * $3"}

# The walk over ``{cells}`` (aliased c), read only for a scope that ends its chain (``{which}``). The
# running sum is a float8: exact for whole numbers below 2**53 (every count here), and summed natively,
# where a bigint's sum is a numeric, added and multiplied digit by digit on every row walked.
_PERCENTILE = """
    SELECT x.amount FROM (
        SELECT c.amount, sum(c.n::float8) OVER (ORDER BY c.amount {order} ROWS UNBOUNDED PRECEDING) AS running
        FROM {cells}
        WHERE t.total >= $4 AND {which} AND c.service_id = t.service_id
        ORDER BY c.amount {order}
    ) x
    WHERE {passes}
    ORDER BY x.amount {order}
    LIMIT 1
"""
_WIDE = "{schema}.uc_scope_cells c"
# National and a state: their own cells (see ``observations._SCOPE_CELL_DELTAS``); the others: their places'.
_IS_WIDE = "(t.scope = 'US' OR left(t.scope, 3) = 'ST:')"
_LOCAL = (
    "{schema}.uc_place_scopes p "
    "JOIN {schema}.uc_place_cells c ON c.place_id = p.place_id AND p.scope = t.scope"
)

_STATEMENT = """
WITH RECURSIVE e AS (
    SELECT (e->>0)::int AS chain, (e->>1)::int AS step, e->>2 AS setting, e->>3 AS code, e->>4 AS scope
    FROM json_array_elements(CAST($1 AS json)) e
), w AS (
    SELECT e.*, v.id AS service_id FROM e
    LEFT JOIN {{schema}}.uc_services v ON v.kind = $2 AND v.setting = e.setting AND v.code = e.code
), reached(chain, step, setting, code, scope, service_id, total) AS (
    SELECT w.chain, w.step, w.setting, w.code, w.scope, w.service_id, {total} FROM w WHERE w.step = 0
    UNION ALL
    SELECT w.chain, w.step, w.setting, w.code, w.scope, w.service_id, {total}
    FROM reached r JOIN w ON w.chain = r.chain AND w.step = r.step + 1
    WHERE r.total < $4
), t AS (
    SELECT DISTINCT setting, code, scope, service_id, total FROM reached
)
SELECT t.setting, t.code, t.scope, t.total, coalesce(n.amount, l.amount) AS amount
FROM t
LEFT JOIN LATERAL ({wide}) n ON true
LEFT JOIN LATERAL ({local}) l ON true
"""


def _statement(order: str, passes: str) -> str:
    def walk(cells: str, which: str) -> str:
        return _PERCENTILE.format(order=order, passes=passes, cells=cells, which=which)

    return _STATEMENT.format(
        total=_TOTAL,
        wide=walk(_WIDE, f"{_IS_WIDE} AND c.scope = t.scope"),
        local=walk(_LOCAL, f"NOT {_IS_WIDE}"),
    ).replace("{schema}", SCHEMA)


# asyncpg's own placeholders: the statement goes to the driver directly (see ``scope_figures``).
STATEMENTS = {way: _statement(order, _PASSES[way]) for way, order in _WALK.items()}


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
    driver = await raw_connection(session)
    statement = STATEMENTS["down" if percentile >= 50 else "up"]
    rows = await driver.fetch(statement, json.dumps(flat), kind, percentile, min_observations)
    return {(r["setting"], r["code"], r["scope"]): ScopeFigure(int(r["total"]), r["amount"]) for r in rows}
