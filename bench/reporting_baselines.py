"""The same-run baselines of ``bench.reporting``: plain queries over the per-bill facts, no KPI table.

Each computes a subset of what the view it stands beside returns (the baseline of a breakdown: received
and savings per group; of the totals: counts, dollars, fees and exact percentiles; of the patterns: the
ranked page), so the ratios understate what the KPI tables save. The bench checks that the figures they
share are equal.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

RESOLVED = "outcome IN ('settled', 'repriced')"

TOTALS = f"""
SELECT count(*) FILTER (WHERE received_at >= :s AND received_at < :u) AS received,
       coalesce(sum(billed) FILTER (WHERE received_at >= :s AND received_at < :u), 0) AS received_billed,
       count(*) FILTER (WHERE {RESOLVED} AND closed_at >= :s AND closed_at < :u) AS resolved,
       coalesce(sum(savings) FILTER (WHERE {RESOLVED} AND closed_at >= :s AND closed_at < :u), 0) AS savings,
       coalesce(sum(fee) FILTER (WHERE {RESOLVED} AND closed_at >= :s AND closed_at < :u), 0) AS fees,
       coalesce(sum(net_savings) FILTER (WHERE {RESOLVED} AND closed_at >= :s AND closed_at < :u), 0)
         AS net_savings,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM priced_at - received_at))
         FILTER (WHERE priced_at >= :s AND priced_at < :u) AS priced_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM priced_at - received_at))
         FILTER (WHERE priced_at >= :s AND priced_at < :u) AS priced_p90,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM agreed_at - received_at))
         FILTER (WHERE agreed_at >= :s AND agreed_at < :u) AS agreed_p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM executed_at - agreed_at))
         FILTER (WHERE executed_at >= :s AND executed_at < :u) AS executed_p90
FROM reporting.bill_facts WHERE {{where}}
"""

GROUP = {
    "client": "client_id",
    "provider": "provider_npi",
    "state": "state",
    "method": "method",
    "line_of_business": "line_of_business",
    "week": "date_trunc('week', {at} AT TIME ZONE 'UTC')::date",
    "month": "date_trunc('month', {at} AT TIME ZONE 'UTC')::date",
}

BREAKDOWN = """
SELECT g, sum(received) AS received, sum(savings) AS savings FROM (
  SELECT {g_received} AS g, 1 AS received, 0 AS savings FROM reporting.bill_facts
  WHERE received_at >= :s AND received_at < :u AND {where}
  UNION ALL
  SELECT {g_closed}, 0, savings FROM reporting.bill_facts
  WHERE {resolved} AND closed_at >= :s AND closed_at < :u AND {where}
) x GROUP BY g ORDER BY {order} LIMIT :limit
"""

PATTERNS = """
SELECT coalesce(f.provider_npi, '') AS provider_npi, x.code, x.modifiers, x.rule, count(*) AS findings,
       sum(x.amount) AS at_stake
FROM reporting.bill_findings x JOIN reporting.bill_facts f USING (bill_id)
WHERE f.priced_at >= :s AND f.priced_at < :u AND {where}
GROUP BY 1, 2, 3, 4 ORDER BY at_stake DESC, findings DESC, 1, 2, 3, 4 LIMIT :limit
"""

PIPELINE = """
SELECT count(*) AS bills, coalesce(sum(billed), 0) AS billed FROM reporting.bill_facts
WHERE received_at IS NOT NULL AND voided_at IS NULL AND outcome IS NULL
  AND NOT (not_negotiated_at IS NOT NULL AND case_opened_at IS NULL) AND {where}
"""


def _where(client: str | None, alias: str = "") -> str:
    return f"{alias}client_id = :c" if client else "true"


async def totals(session: AsyncSession, s: Any, u: Any, client: str | None) -> Any:
    sql = TOTALS.format(where=_where(client))
    return (await session.execute(text(sql), {"s": s, "u": u, "c": client})).one()


async def breakdown(
    session: AsyncSession, by: str, s: Any, u: Any, client: str | None, *, sort: str, limit: int
) -> list[Any]:
    """received and savings per group; ``sort`` 'key' or '-savings' / '-received'."""
    g = GROUP[by]
    order = "g" if sort == "key" else f"{sort.lstrip('-')} DESC, g"
    sql = BREAKDOWN.format(
        g_received=g.format(at="received_at"),
        g_closed=g.format(at="closed_at"),
        where=_where(client),
        resolved=RESOLVED,
        order=order,
    )
    return list(await session.execute(text(sql), {"s": s, "u": u, "c": client, "limit": limit}))


async def patterns(session: AsyncSession, s: Any, u: Any, client: str | None, limit: int) -> list[Any]:
    sql = PATTERNS.format(where=_where(client, "f."))
    return list(await session.execute(text(sql), {"s": s, "u": u, "c": client, "limit": limit}))


async def pipeline(session: AsyncSession, today: date, client: str | None) -> Any:
    return (await session.execute(text(PIPELINE.format(where=_where(client))), {"c": client})).one()
