"""The KPI tables' shape: which measures exist, which dimensions each level keeps, and the histograms.

Every KPI is a sum of per-day measures, so any period is a range of days and any breakdown a GROUP BY over
pre-aggregated rows (see :mod:`services.reporting.cubes`). A measure is counted on the day its event
happened, in the reporting time zone: bills received on the day they arrived, priced on the day they were
first priced, agreed on the day both sides agreed, savings and fees on the day the bill was settled or
repriced. Percentiles (turnaround, accepted share of billed) come from histograms kept the same way.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate

# Counts of bills (or of approvals) whose event fell on the day.
COUNTS: tuple[str, ...] = (
    "received",  # bills received
    "priced",  # bills priced for the first time
    "cases_opened",  # negotiation cases opened
    "not_negotiated",  # bills with nothing to negotiate (no case opened)
    "agreed",  # cases where both sides agreed on terms
    "first_offer_accepted",  # … of them agreed on the opening offer
    "quick_pay_offered",  # … of them where a quick-pay offer had been made
    "quick_pay_agreed",  # … of them whose agreed terms include quick pay
    "executed",  # settlement agreements executed (V1: signed by the provider)
    "settled",  # cases closed settled
    "repriced",  # cases closed repriced (fee schedule or contract, no negotiation)
    "disputed",  # cases closed disputed
    "escalated",  # cases closed escalated
    "closed_unresolved",  # cases closed without agreement
    "voided",  # bills voided by the partner
    "approvals_requested",  # amounts sent to a supervisor (beyond settlement authority)
    "approvals_denied",  # … of them refused
)

# Dollars (NUMERIC, cents exact) on the same days.
MONEY: tuple[str, ...] = (
    "received_billed",  # billed charges of the bills received
    "priced_billed",  # billed charges of the bills priced
    "allowed",  # allowed amount / negotiation target of the bills priced
    "unpriced_billed",  # billed charges of lines pricing could not price
    "agreed_billed",  # billed charges of the bills agreed
    "agreed_amount",  # agreed amounts of the bills agreed
    "resolved_billed",  # billed charges of the bills settled or repriced
    "resolved_amount",  # what is paid for them: the agreed or repriced amount
    "savings",  # resolved_billed − resolved_amount
    "fees",  # Parley's fees on them (services.reporting.fees)
    "net_savings",  # savings − fees
)

MEASURES: tuple[str, ...] = COUNTS + MONEY

# Histogram metrics: durations in seconds (within 1 %) or a share in basis points (0.5 % steps).
HISTOGRAMS: tuple[str, ...] = (
    "received_to_priced",  # on the priced day
    "received_to_agreed",  # on the agreed day
    "agreed_to_executed",  # on the executed day
    "accepted_share",  # agreed amount / billed, basis points in 0.5 % steps, on the agreed day
)

DIMENSIONS: tuple[str, ...] = ("client_id", "method", "state", "line_of_business", "provider_npi")


GRAINS: tuple[str, ...] = ("day", "month")


@dataclass(frozen=True)
class Level:
    """Pre-aggregated tables for a subset of the dimensions: measures and histograms, per day and per
    calendar month (a period reads whole months from the month tables and its ragged ends from the day
    tables, so a year is a dozen rows per group, not 365)."""

    name: str
    dims: tuple[str, ...]

    def table(self, grain: str) -> str:
        return f"{self.name}_{grain}"

    def hist(self, grain: str) -> str:
        return f"{self.name}_hist_{grain}"

    def covers(self, needed: set[str]) -> bool:
        return needed <= set(self.dims)


# Smallest first: a query reads the first level that has every dimension it filters or groups by. The
# totals of every client need no client column at all; one client's dashboard reads the second level.
# Breakdowns of every client by state or line of business read ``kpi_state`` / ``kpi_lob``, whose
# histograms have a few hundred buckets per state and month, not per client × method × state × line.
# A breakdown by provider over every client reads ``kpi_npi`` (a row per provider and month, not per
# provider × client × method × state × line of business: 36,000 rows for a year of 3,000 providers
# instead of 700,000); one client's, ``kpi_client_npi``. A provider breakdown filtered by method, state
# or line of business falls through to the full level.
LEVELS: tuple[Level, ...] = (
    Level("kpi_total", ("method",)),
    Level("kpi_client", ("client_id", "method")),
    Level("kpi_state", ("state",)),
    Level("kpi_lob", ("line_of_business",)),
    Level("kpi_region", ("client_id", "method", "state", "line_of_business")),
    Level("kpi_npi", ("provider_npi",)),
    Level("kpi_client_npi", ("client_id", "provider_npi")),
    Level("kpi_provider", DIMENSIONS),
)

PIPELINE_DIMS: tuple[str, ...] = ("client_id", "method", "state", "line_of_business", "queue")
PATTERN_DIMS: tuple[str, ...] = ("client_id", "provider_npi", "code", "modifiers", "rule")
# Patterns of every client need no client column (the key is provider × code × modifiers × rule).
PATTERN_LEVELS: tuple[Level, ...] = (
    Level("patterns_all", PATTERN_DIMS[1:]),
    Level("patterns_client", PATTERN_DIMS),
)
PATTERN_COUNTS: tuple[str, ...] = ("findings", "disputed")
PATTERN_MONEY: tuple[str, ...] = ("at_stake", "disputed_amount")


_STEP = math.log(1.02)


def duration_bucket(seconds: float) -> int:
    """A duration as kept in the histograms, within 1 %: whole seconds under 100 s; above, buckets 2 %
    wide (100 × 1.02^k … 100 × 1.02^(k+1)) represented by their geometric middle, rounded to the second
    (120 → 121, 86,400 → 86,492). Histograms of these merge across days and dimensions exactly, and a
    year of a client's bills is a few hundred buckets per measure, not one per bill."""
    whole = max(0, int(seconds))
    if whole < 100:
        return whole
    k = math.floor(math.log(whole / 100) / _STEP)
    return round(100 * math.exp((k + 0.5) * _STEP))


def share_bucket(basis_points: int) -> int:
    """An accepted share of billed as kept in the histograms: 50 basis points (0.5 %) steps, rounded down
    (71.43 % → 71.0 %)."""
    return basis_points // 50 * 50


def nearest_rank(histogram: dict[int, int], percent: int) -> int | None:
    """The ``percent``-th percentile (nearest rank) of a histogram {value: count}; None when empty."""
    total = sum(n for n in histogram.values() if n > 0)
    if total == 0:
        return None
    rank = -(-total * percent // 100)  # ceil
    running = 0
    for value in sorted(histogram):
        running += max(histogram[value], 0)
        if running >= rank:
            return value
    return None  # pragma: no cover - running reaches total


Histogram = tuple[list[int], list[int]]  # buckets ascending, their counts (as the tables keep them)


def merged_nearest_rank(parts: list[Histogram], percent: int) -> tuple[int | None, int]:
    """The ``percent``-th percentile (nearest rank) of the sum of several histograms, and how many values
    they hold: :func:`nearest_rank` of the merged histogram, without merging it. Each part's counts are
    made cumulative (C-speed ``accumulate``); the answer is the smallest bucket value whose count of
    values at or below it reaches the rank, found by bisecting the sorted bucket values, each step a
    ``bisect`` per part. A year of a client is a dozen month parts of a few hundred buckets each: a few
    hundred bisects instead of summing every bucket. Counts are never negative in the tables."""
    cumulative = [(buckets, list(accumulate(counts))) for buckets, counts in parts if buckets]
    total = sum(c[-1] for _, c in cumulative)
    if total <= 0:
        return None, 0
    rank = -(-total * percent // 100)  # ceil
    if len(cumulative) == 1:
        buckets, counts = cumulative[0]
        return buckets[bisect_left(counts, rank)], total
    values = sorted(set().union(*(b for b, _ in cumulative)))
    low, high = 0, len(values) - 1
    while low < high:
        middle = (low + high) // 2
        at_or_below = 0
        for buckets, counts in cumulative:
            i = bisect_right(buckets, values[middle])
            if i:
                at_or_below += counts[i - 1]
        if at_or_below >= rank:
            high = middle
        else:
            low = middle + 1
    return values[low], total
