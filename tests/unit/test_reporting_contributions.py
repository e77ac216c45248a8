"""A bill's contribution to the KPI tables, worked by hand: which day each measure falls on, the
histogram buckets, the pipeline queue, and differences that move a bill between rows."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.reporting.contributions import (
    HIST,
    KPI,
    PATTERN,
    PIPELINE,
    Approval,
    Finding,
    contribution,
    queue_of,
    share_basis_points,
)
from services.reporting.measures import MEASURES, duration_bucket, merged_nearest_rank, nearest_rank
from services.reporting.models import BillFact

D = Decimal
UTC_ZONE = ZoneInfo("UTC")
IX = {name: i for i, name in enumerate(MEASURES)}


def _settled() -> BillFact:
    return BillFact(
        client_id="acme",
        method="usual_and_customary",
        state="FL",
        line_of_business="workers_compensation",
        provider_npi="1912301953",
        received_at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC),
        billed=D("3500.00"),
        priced_at=datetime(2025, 3, 3, 9, 0, 42, tzinfo=UTC),
        allowed=D("2300.00"),
        unpriced_billed=D("0.00"),
        case_opened_at=datetime(2025, 3, 3, 9, 1, tzinfo=UTC),
        route="negotiate",
        not_negotiated_at=None,
        agreed_at=datetime(2025, 3, 5, 15, 0, tzinfo=UTC),
        agreed_amount=D("2500.00"),
        first_offer_accepted=False,
        quick_pay_offered=True,
        quick_pay_agreed=True,
        executed_at=datetime(2025, 3, 6, 15, 0, tzinfo=UTC),
        outcome="settled",
        closed_at=datetime(2025, 3, 6, 15, 0, 1, tzinfo=UTC),
        resolved_amount=D("2500.00"),
        savings=D("1000.00"),
        fee=D("250.00"),
        net_savings=D("750.00"),
        voided_at=None,
    )


DIMS = ("acme", "usual_and_customary", "FL", "workers_compensation", "1912301953")


def test_each_measure_falls_on_the_day_of_its_event() -> None:
    ledger = contribution(_settled(), [], [], UTC_ZONE)
    kpi = dict(ledger.of(KPI))
    received = kpi[(date(2025, 3, 3), *DIMS)]
    assert received[IX["received"]] == 1
    assert received[IX["received_billed"]] == D("3500.00")
    assert received[IX["priced"]] == 1
    assert received[IX["allowed"]] == D("2300.00")
    assert received[IX["cases_opened"]] == 1
    agreed = kpi[(date(2025, 3, 5), *DIMS)]
    assert agreed[IX["agreed"]] == 1
    assert agreed[IX["agreed_amount"]] == D("2500.00")
    assert agreed[IX["first_offer_accepted"]] == 0
    assert agreed[IX["quick_pay_offered"]] == agreed[IX["quick_pay_agreed"]] == 1
    settled = kpi[(date(2025, 3, 6), *DIMS)]
    assert settled[IX["executed"]] == 1
    assert settled[IX["settled"]] == 1
    assert settled[IX["resolved_billed"]] == D("3500.00")
    assert (settled[IX["savings"]], settled[IX["fees"]], settled[IX["net_savings"]]) == (
        D("1000.00"),
        D("250.00"),
        D("750.00"),
    )
    assert set(kpi) == {(date(2025, 3, d), *DIMS) for d in (3, 5, 6)}
    assert ledger.of(PIPELINE) == []  # settled: out of the pipeline


def test_histograms_hold_turnaround_and_share() -> None:
    hist = {key[6:]: v[0] for key, v in contribution(_settled(), [], [], UTC_ZONE).of(HIST)}
    assert hist[("received_to_priced", 42)] == 1
    # 2 days 6 hours = 194,400 s: ln(1944) / ln(1.02) = 382.4, so the 2 % bucket k = 382, kept as its
    # middle 100 × 1.02^382.5 = 194,790 s (0.2 % off).
    assert hist[("received_to_agreed", 194790)] == 1
    # One day, 86,400 s: k = 341 (ln(864) / ln(1.02) = 341.45), middle 100 × 1.02^341.5 = 86,489 s.
    assert hist[("agreed_to_executed", 86489)] == 1
    assert hist[("accepted_share", 7100)] == 1  # 2500 / 3500 = 71.43 %, in 0.5 % steps


def test_the_time_zone_decides_the_day() -> None:
    fact = _settled()
    fact.received_at = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)  # 22:00 on March 2 in New York
    kpi = dict(contribution(fact, [], [], ZoneInfo("America/New_York")).of(KPI))
    assert kpi[(date(2025, 3, 2), *DIMS)][IX["received"]] == 1


def test_a_bill_whose_method_becomes_known_moves_rows() -> None:
    fact = _settled()
    fact.method = None
    before = contribution(fact, [], [], UTC_ZONE)
    fact.method = "fee_schedule"
    diff = dict(contribution(fact, [], [], UTC_ZONE).minus(before).of(KPI))
    old = (date(2025, 3, 3), "acme", "", "FL", "workers_compensation", "1912301953")
    new = (date(2025, 3, 3), "acme", "fee_schedule", "FL", "workers_compensation", "1912301953")
    assert diff[old][IX["received"]] == -1
    assert diff[new][IX["received"]] == 1
    assert contribution(fact, [], [], UTC_ZONE).minus(contribution(fact, [], [], UTC_ZONE)).rows == {}


def test_pipeline_queue_and_patterns() -> None:
    fact = _settled()
    fact.outcome = fact.closed_at = fact.executed_at = None
    assert queue_of(fact) == "agreement"
    fact.agreed_at = None
    assert queue_of(fact) == "negotiate"
    fact.route = "audit"
    assert queue_of(fact) == "audit"
    fact.case_opened_at = None
    assert queue_of(fact) == "pricing"
    fact.not_negotiated_at = datetime(2025, 3, 3, 9, 1, tzinfo=UTC)
    assert queue_of(fact) is None
    fact.not_negotiated_at = None
    ledger = contribution(fact, [Finding("modifier_59", "97140", "59", D("85.00"))], [], UTC_ZONE)
    assert ledger.of(PIPELINE) == [
        (
            (date(2025, 3, 3), "acme", "usual_and_customary", "FL", "workers_compensation", "pricing"),
            [1, D("3500.00")],
        )
    ]
    assert ledger.of(PATTERN) == [
        ((date(2025, 3, 3), "acme", "1912301953", "97140", "59", "modifier_59"), [1, 0, D("85.00"), 0])
    ]


def test_approvals_count_on_request_and_denial_days_and_a_void_ends_the_bill() -> None:
    fact = _settled()
    fact.outcome = "closed_unresolved"  # version 1 closes a voided bill's case this way
    fact.resolved_amount = fact.savings = fact.fee = fact.net_savings = None
    fact.voided_at = datetime(2025, 3, 7, 10, 0, tzinfo=UTC)
    approvals = [
        Approval(datetime(2025, 3, 4, 9, 0, tzinfo=UTC), datetime(2025, 3, 5, 9, 0, tzinfo=UTC), False),
        Approval(datetime(2025, 3, 4, 11, 0, tzinfo=UTC), None, None),
    ]
    kpi = dict(contribution(fact, [], approvals, UTC_ZONE).of(KPI))
    assert kpi[(date(2025, 3, 4), *DIMS)][IX["approvals_requested"]] == 2
    assert kpi[(date(2025, 3, 5), *DIMS)][IX["approvals_denied"]] == 1
    assert kpi[(date(2025, 3, 7), *DIMS)][IX["voided"]] == 1
    assert all(v[IX["closed_unresolved"]] == 0 for v in kpi.values())


def test_buckets_and_nearest_rank() -> None:
    # Exact under 100 s; above, the middle of the 2 % bucket: 120 s → k = 9 → 100 × 1.02^9.5 = 120.7.
    assert [duration_bucket(s) for s in (0, 59.9, 99, 100, 120, 1234)] == [0, 59, 99, 101, 121, 1224]
    for seconds in (150, 1234, 86_400, 93_784, 2_600_000):
        assert abs(duration_bucket(seconds) - seconds) / seconds < 0.01
    assert share_basis_points(D("2500.00"), D("3500.00")) == 7143
    assert share_basis_points(D("1"), D("0")) is None
    histogram = {10: 1, 20: 1, 30: 1, 40: 1}
    assert nearest_rank(histogram, 50) == 20  # rank ceil(2.0) = 2
    assert nearest_rank(histogram, 90) == 40  # rank ceil(3.6) = 4
    assert nearest_rank({5: 3}, 90) == 5
    assert nearest_rank({}, 50) is None


def test_percentiles_of_several_histograms_equal_those_of_their_sum() -> None:
    # Hand-worked: {10: 2, 30: 1} + {20: 1, 30: 2} = {10: 2, 20: 1, 30: 3}: six values, the median is
    # rank 3 (20), the 90th percentile rank 6 (30).
    parts = [([10, 30], [2, 1]), ([20, 30], [1, 2])]
    assert merged_nearest_rank(parts, 50) == (20, 6)
    assert merged_nearest_rank(parts, 90) == (30, 6)
    assert merged_nearest_rank([], 50) == (None, 0)
    assert merged_nearest_rank([([], [])], 50) == (None, 0)
    assert merged_nearest_rank([([121], [1])], 90) == (121, 1)
    rng = random.Random(3)
    for _ in range(300):
        parts = []
        merged: dict[int, int] = {}
        for _ in range(rng.randint(1, 6)):
            buckets = sorted(rng.sample(range(0, 400, 7), rng.randint(0, 12)))
            counts = [rng.randint(1, 9) for _ in buckets]
            parts.append((buckets, counts))
            for b, n in zip(buckets, counts, strict=True):
                merged[b] = merged.get(b, 0) + n
        for percent in (1, 50, 90, 100):
            assert merged_nearest_rank(parts, percent) == (
                nearest_rank(merged, percent),
                sum(merged.values()),
            )
