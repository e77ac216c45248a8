"""The KPI tables' shape: which measures exist, which dimensions each level keeps, and the histograms.

Every KPI is a sum of per-day measures, so any period is a range of days and any breakdown a GROUP BY over
pre-aggregated rows (see :mod:`services.reporting.cubes`). A measure is counted on the day its event
happened, in the reporting time zone: bills received on the day they arrived, priced on the day they were
first priced, agreed on the day both sides agreed, savings and fees on the day the bill was settled or
repriced. Percentiles (turnaround, accepted share of billed) come from histograms kept the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

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

# Histogram metrics: durations in seconds (3 significant figures) or a share in basis points.
HISTOGRAMS: tuple[str, ...] = (
    "received_to_priced",  # on the priced day
    "received_to_agreed",  # on the agreed day
    "agreed_to_executed",  # on the executed day
    "accepted_share",  # agreed amount / billed, basis points, on the agreed day
)

DIMENSIONS: tuple[str, ...] = ("client_id", "method", "state", "line_of_business", "provider_npi")


@dataclass(frozen=True)
class Level:
    """One pre-aggregated table: measures per day for a subset of the dimensions."""

    name: str
    dims: tuple[str, ...]

    @property
    def hist(self) -> str:
        return f"{self.name}_hist"

    def covers(self, needed: set[str]) -> bool:
        return needed <= set(self.dims)


# Smallest first: a query reads the first level that has every dimension it filters or groups by. Most
# dashboards ask by client and method only, which the first level answers from a few rows per day.
LEVELS: tuple[Level, ...] = (
    Level("kpi_daily_client", ("client_id", "method")),
    Level("kpi_daily_region", ("client_id", "method", "state", "line_of_business")),
    Level("kpi_daily_provider", DIMENSIONS),
)

PIPELINE_DIMS: tuple[str, ...] = ("client_id", "method", "state", "line_of_business", "queue")
PATTERN_DIMS: tuple[str, ...] = ("client_id", "provider_npi", "code", "modifiers", "rule")
PATTERN_COUNTS: tuple[str, ...] = ("findings", "disputed")
PATTERN_MONEY: tuple[str, ...] = ("at_stake", "disputed_amount")


def duration_bucket(seconds: float) -> int:
    """A duration kept to three significant figures of whole seconds (under 1 % off): 59 → 59,
    1234 → 1230, 93784 → 93700. Histograms of these merge across days and dimensions exactly."""
    whole = max(0, int(seconds))
    if whole < 1000:
        return whole
    scale = 10 ** (len(str(whole)) - 3)
    return (whole // scale) * scale


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
