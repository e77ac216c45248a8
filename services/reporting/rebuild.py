"""Rebuilding the KPI tables from the per-bill facts, set-based: after an upgrade, or when a definition
changes.

The SQL here states, for all bills at once, what :func:`services.reporting.contributions.contribution`
states for one (the consumers' path), and the integration test ``test_reporting_rebuild`` holds the two
equal table by table. The finest tables (every dimension, per day) are computed from ``bill_facts``,
``bill_findings`` and ``bill_approvals``; every coarser level and the month grain are ``GROUP BY``s of
them. Runs in the caller's transaction (readers see the old tables until it commits); a million bills
take about a minute, not the quarter of an hour of working out each bill's contribution in Python.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.cubes import SCHEMA, truncate_all
from services.reporting.measures import COUNTS, GRAINS, LEVELS, MEASURES, MONEY, PATTERN_LEVELS, Level
from services.reporting.models import CUBES, BillFact, kpi_deltas

FULL = LEVELS[-1]
DIMS = ", ".join(FULL.dims)
# `fact.x or ""`: an unknown dimension is '' in the KPI tables.
DIM_VALUES = ", ".join(f"coalesce(f.{d}, '') AS {d}" for d in FULL.dims)
# The day of a moment in the reporting time zone (contributions.day_of).
DAY = "(e.at AT TIME ZONE :zone)::date"
RESOLVED = "('settled', 'repriced')"

# How a bill ended, on the day it ended (contribution(): resolved, else voided, else the closing outcome).
END_KIND = f"""CASE WHEN f.outcome IN {RESOLVED} AND f.closed_at IS NOT NULL THEN f.outcome
  WHEN f.voided_at IS NOT NULL THEN 'voided'
  WHEN f.outcome IS NOT NULL AND f.closed_at IS NOT NULL THEN f.outcome END"""
END_AT = f"""CASE WHEN f.outcome IN {RESOLVED} AND f.closed_at IS NOT NULL THEN f.closed_at
  WHEN f.voided_at IS NOT NULL THEN f.voided_at WHEN f.outcome IS NOT NULL THEN f.closed_at END"""

# One row per (bill, event): the bill's events that count on some day, with the facts they carry.
EVENTS = f"""
SELECT e.k, e.at, {DIM_VALUES}, coalesce(f.billed, 0) AS billed, coalesce(f.allowed, 0) AS allowed,
       coalesce(f.unpriced_billed, 0) AS unpriced_billed, coalesce(f.agreed_amount, 0) AS agreed_amount,
       coalesce(f.first_offer_accepted, false)::int AS first_offer_accepted,
       coalesce(f.quick_pay_offered, false)::int AS quick_pay_offered,
       coalesce(f.quick_pay_agreed, false)::int AS quick_pay_agreed,
       {END_KIND} AS end_kind, coalesce(f.resolved_amount, 0) AS resolved_amount,
       coalesce(f.savings, 0) AS savings, coalesce(f.fee, 0) AS fees,
       coalesce(f.net_savings, 0) AS net_savings
FROM {SCHEMA}.bill_facts f CROSS JOIN LATERAL (VALUES
  ('received', f.received_at), ('priced', f.priced_at), ('cases_opened', f.case_opened_at),
  ('not_negotiated', CASE WHEN f.case_opened_at IS NULL THEN f.not_negotiated_at END),
  ('agreed', f.agreed_at), ('executed', f.executed_at), ('end', {END_AT})) AS e(k, at)
WHERE e.at IS NOT NULL
UNION ALL
SELECT e.k, e.at, {DIM_VALUES}, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, 0, 0
FROM {SCHEMA}.bill_approvals a JOIN {SCHEMA}.bill_facts f USING (bill_id)
CROSS JOIN LATERAL (VALUES ('approvals_requested', a.requested_at),
  ('approvals_denied', CASE WHEN a.approved = false THEN a.decided_at END)) AS e(k, at)
WHERE e.at IS NOT NULL
"""

_END = ("settled", "repriced", "disputed", "escalated", "closed_unresolved", "voided")
_ONE = {name: f"k = '{name}'" for name in COUNTS if name not in _END}
_ONE.update({name: f"k = 'end' AND end_kind = '{name}'" for name in _END})
_ONE.update(
    first_offer_accepted="k = 'agreed' AND first_offer_accepted = 1",
    quick_pay_offered="k = 'agreed' AND quick_pay_offered = 1",
    quick_pay_agreed="k = 'agreed' AND quick_pay_agreed = 1",
)
_ENDED = f"k = 'end' AND end_kind IN {RESOLVED}"
_MONEY = {
    "received_billed": ("billed", "k = 'received'"),
    "priced_billed": ("billed", "k = 'priced'"),
    "allowed": ("allowed", "k = 'priced'"),
    "unpriced_billed": ("unpriced_billed", "k = 'priced'"),
    "agreed_billed": ("billed", "k = 'agreed'"),
    "agreed_amount": ("agreed_amount", "k = 'agreed'"),
    "resolved_billed": ("billed", _ENDED),
    "resolved_amount": ("resolved_amount", _ENDED),
    "savings": ("savings", _ENDED),
    "fees": ("fees", _ENDED),
    "net_savings": ("net_savings", _ENDED),
}
assert set(_ONE) == set(COUNTS)
assert set(_MONEY) == set(MONEY)
_SUMS = ", ".join(
    [f"count(*) FILTER (WHERE {_ONE[c]})" for c in COUNTS]
    + [f"coalesce(sum({col}) FILTER (WHERE {cond}), 0)" for col, cond in (_MONEY[m] for m in MONEY)]
)
FINEST_KPI = f"""
INSERT INTO {SCHEMA}.{FULL.table("day")} (day, {DIMS}, {", ".join(MEASURES)})
SELECT {DAY}, {DIMS}, {_SUMS} FROM ({EVENTS}) e GROUP BY 1, {DIMS}
"""


def _bucket(seconds: str) -> str:
    """measures.duration_bucket in SQL: the same float64 operations (libm's log and exp, round half
    even), so the buckets agree with Python's."""
    s = f"greatest(0, trunc(extract(epoch FROM {seconds})))::bigint"
    step = "ln(1.02::float8)"
    return (
        f"CASE WHEN {s} < 100 THEN {s} ELSE "
        f"round(100 * exp((floor(ln({s}::float8 / 100) / {step}) + 0.5) * {step}))::bigint END"
    )


# measures.share_bucket of contributions.share_basis_points: half-up to the basis point, 50 bp steps.
SHARE = "floor(round(coalesce(f.agreed_amount, 0) * 10000 / f.billed) / 50) * 50"
# Every bill's histogram buckets, per day and every dimension, one row per bucket; the histogram tables
# are aggregated from it into arrays (rollup_hist).
FINEST_HIST = f"""
CREATE TEMP TABLE rebuild_hist ON COMMIT DROP AS
SELECT {DAY} AS day, {DIMS}, metric, bucket, count(*) AS n
FROM (
  SELECT e.*, {DIM_VALUES} FROM {SCHEMA}.bill_facts f CROSS JOIN LATERAL (VALUES
    ('received_to_priced', f.priced_at,
     CASE WHEN f.priced_at >= f.received_at THEN {_bucket("f.priced_at - f.received_at")} END),
    ('received_to_agreed', f.agreed_at,
     CASE WHEN f.agreed_at >= f.received_at THEN {_bucket("f.agreed_at - f.received_at")} END),
    ('accepted_share', f.agreed_at, CASE WHEN f.billed > 0 THEN {SHARE} END),
    ('agreed_to_executed', f.executed_at,
     CASE WHEN f.executed_at >= f.agreed_at THEN {_bucket("f.executed_at - f.agreed_at")} END)
  ) AS e(metric, at, bucket)
  WHERE e.at IS NOT NULL AND e.bucket IS NOT NULL
) e
GROUP BY 1, {DIMS}, metric, bucket
"""

# contributions.queue_of
QUEUE = """CASE WHEN f.received_at IS NULL OR f.voided_at IS NOT NULL OR f.outcome IS NOT NULL THEN NULL
  WHEN f.not_negotiated_at IS NOT NULL AND f.case_opened_at IS NULL THEN NULL
  WHEN f.agreed_at IS NOT NULL THEN 'agreement'
  WHEN f.case_opened_at IS NOT NULL THEN coalesce(nullif(f.route, ''), 'negotiate')
  ELSE 'pricing' END"""
PIPELINE = f"""
INSERT INTO {SCHEMA}.pipeline_open
  (received_day, client_id, method, state, line_of_business, queue, bills, billed)
SELECT (f.received_at AT TIME ZONE :zone)::date, coalesce(f.client_id, ''), coalesce(f.method, ''),
       coalesce(f.state, ''), coalesce(f.line_of_business, ''), q.queue, count(*), sum(coalesce(f.billed, 0))
FROM {SCHEMA}.bill_facts f CROSS JOIN LATERAL (SELECT {QUEUE} AS queue) q
WHERE q.queue IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
"""

PATTERN_KEYS = "client_id, provider_npi, code, modifiers, rule"
PATTERN_SUMS = "findings, disputed, at_stake, disputed_amount"
FINEST_PATTERNS = f"""
INSERT INTO {SCHEMA}.{PATTERN_LEVELS[-1].table("day")} (day, {PATTERN_KEYS}, {PATTERN_SUMS})
SELECT (f.priced_at AT TIME ZONE :zone)::date, coalesce(f.client_id, ''), coalesce(f.provider_npi, ''),
       x.code, x.modifiers, x.rule, count(*), count(*) FILTER (WHERE f.outcome = 'disputed'), sum(x.amount),
       coalesce(sum(x.amount) FILTER (WHERE f.outcome = 'disputed'), 0)
FROM {SCHEMA}.bill_findings x JOIN {SCHEMA}.bill_facts f USING (bill_id)
WHERE f.priced_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
"""

MONTH = "date_trunc('month', day)::date"


def rollup(source: str, target: str, keys: tuple[str, ...], sums: tuple[str, ...], *, month: bool) -> str:
    """``INSERT INTO target SELECT day (or its month), keys, sum(…) FROM source GROUP BY …``."""
    day = MONTH if month else "day"
    columns = ", ".join(keys)
    totals = ", ".join(f"sum({s})" for s in sums)
    return (
        f"INSERT INTO {SCHEMA}.{target} (day, {columns}, {', '.join(sums)}) "
        f"SELECT {day}, {columns}, {totals} FROM {SCHEMA}.{source} GROUP BY {day}, {columns}"
    )


def rollup_hist(source: str, target: str, dims: tuple[str, ...], *, month: bool) -> str:
    """A histogram table from a per-bucket temporary table: buckets summed per key (over the month's
    days), then aggregated into arrays."""
    day = MONTH if month else "day"
    keys = ", ".join(dims)
    return (
        f"INSERT INTO {SCHEMA}.{target} (day, {keys}, metric, buckets, counts) "
        f"SELECT day, {keys}, metric, array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket) "
        f"FROM (SELECT {day} AS day, {keys}, metric, bucket, sum(n) AS n FROM {source} "
        f"GROUP BY 1, {keys}, metric, bucket) x GROUP BY day, {keys}, metric"
    )


def _buckets(level: Level) -> str:
    return "rebuild_hist" if level is FULL else f"rebuild_hist_{level.name}"


def statements() -> list[str]:
    """Every statement of a rebuild, in order. The finest tables come from the facts; every other level's
    day table (and its per-bucket histogram, a temporary table) from the smallest level already built
    that has its dimensions (kpi_total from kpi_region, not from the provider rows), and each month table
    from its own level's days."""
    out = [FINEST_KPI, "DROP TABLE IF EXISTS pg_temp.rebuild_hist", FINEST_HIST, PIPELINE, FINEST_PATTERNS]
    built: list[Level] = [FULL]
    for level in sorted(LEVELS, key=lambda lv: -len(lv.dims)):
        if level is not FULL:
            source = min((b for b in built if set(level.dims) <= set(b.dims)), key=lambda b: len(b.dims))
            out.append(rollup(source.table("day"), level.table("day"), level.dims, MEASURES, month=False))
            keys = ", ".join((*level.dims, "metric", "bucket"))
            out.append(f"DROP TABLE IF EXISTS pg_temp.{_buckets(level)}")
            out.append(
                f"CREATE TEMP TABLE {_buckets(level)} ON COMMIT DROP AS SELECT day, {keys}, sum(n) AS n "
                f"FROM {_buckets(source)} GROUP BY day, {keys}"
            )
            built.append(level)
        out.append(rollup(level.table("day"), level.table("month"), level.dims, MEASURES, month=True))
        for grain in GRAINS:
            out.append(rollup_hist(_buckets(level), level.hist(grain), level.dims, month=grain == "month"))
    finest = PATTERN_LEVELS[-1]
    sums = ("findings", "disputed", "at_stake", "disputed_amount")
    for level in PATTERN_LEVELS:
        if level is not finest:
            out.append(rollup(finest.table("day"), level.table("day"), level.dims, sums, month=False))
        out.append(rollup(level.table("day"), level.table("month"), level.dims, sums, month=True))
    return out


async def rebuild(session: AsyncSession, zone: ZoneInfo) -> int:
    """Empty the KPI tables and fill them again from every bill's facts (``zone``: the reporting time
    zone); returns the bills counted."""
    await truncate_all(session)
    for sql in statements():
        await session.execute(text(sql), {"zone": zone.key} if ":zone" in sql else {})
    return int(await session.scalar(select(func.count()).select_from(BillFact)) or 0)


async def needs_rebuild(session: AsyncSession) -> bool:
    """True when there are facts but the KPI tables are empty (first start after an upgrade that added
    or changed them: such a migration empties them all)."""
    has_facts = await session.scalar(select(exists().where(BillFact.received_at.is_not(None))))
    has_rows = await session.scalar(select(exists().select_from(CUBES[LEVELS[0].table("day")])))
    has_queued = await session.scalar(select(exists().select_from(kpi_deltas)))
    return bool(has_facts) and not has_rows and not has_queued
