"""The set-based rebuild (SQL over every bill at once) fills every KPI, histogram, pipeline and pattern table
with exactly what the consumers' per-bill contribution code (Python, one bill at a time) adds up to.

Hand-built facts cover the edges of ``contribution``: a settled bill, a repriced one, a void after a
closing, a bill with nothing to negotiate, a version-1 case without route, approvals granted and denied,
findings on a disputed bill, a pricing stamped before the receipt, a zero bill, a bill whose client is
not known yet, durations on both sides of 100 s, and a time zone whose days differ from UTC's. The test
runs in a transaction it rolls back, so the running service's tables are left as they were."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.config import ReportingSettings
from services.reporting.contributions import (
    HIST,
    KPI,
    PATTERN,
    PIPELINE,
    Approval,
    Finding,
    Ledger,
    contribution,
)
from services.reporting.measures import (
    GRAINS,
    LEVELS,
    MEASURES,
    PATTERN_COUNTS,
    PATTERN_DIMS,
    PATTERN_LEVELS,
    PATTERN_MONEY,
    PIPELINE_DIMS,
)
from services.reporting.models import BillApproval, BillFact, BillFinding
from services.reporting.rebuild import rebuild
from shared.catalog import service
from shared.stack.devstack import DevStack
from tests.helpers import rolled_back_session, unique

ZONE = ZoneInfo("America/New_York")
D = Decimal
FULL = LEVELS[-1].dims
T0 = datetime(2025, 3, 31, 23, 30, tzinfo=UTC)  # 19:30 on the 31st in New York, April 1st in UTC


@pytest.fixture
async def session(stack: DevStack) -> AsyncIterator[AsyncSession]:
    url = stack.database_url(service("reporting"))
    async with rolled_back_session(ReportingSettings(service="test", database_url=url, db_pool_size=1)) as s:
        yield s


def _facts(client: str) -> list[tuple[BillFact, list[Finding], list[Approval]]]:
    def fact(**values: Any) -> BillFact:
        base: dict[str, Any] = {
            "bill_id": uuid.uuid4(),
            "client_id": client,
            "method": "usual_and_customary",
            "state": "FL",
            "line_of_business": "workers_compensation",
            "provider_npi": "1912301953",
            "received_at": T0,
            "billed": D("3500.00"),
            "quick_pay_offered": False,
            "quick_pay_agreed": False,
            "offers": 0,
        }
        base.update(values)
        return BillFact(**base)

    h = timedelta(hours=1)
    settled = fact(
        priced_at=T0 + timedelta(seconds=42),
        allowed=D("2300.00"),
        unpriced_billed=D("0.00"),
        case_opened_at=T0 + timedelta(minutes=1),
        route="negotiate",
        agreed_at=T0 + 50 * h,
        agreed_amount=D("2500.00"),
        first_offer_accepted=False,
        quick_pay_offered=True,
        quick_pay_agreed=True,
        executed_at=T0 + 74 * h,
        outcome="settled",
        closed_at=T0 + 74 * h + timedelta(seconds=1),
        resolved_amount=D("2500.00"),
        savings=D("1000.00"),
        fee=D("250.00"),
        net_savings=D("750.00"),
    )
    repriced = fact(
        method="fee_schedule",
        provider_npi="1000000007",
        priced_at=T0 + timedelta(seconds=150),
        allowed=D("180.00"),
        case_opened_at=T0 + timedelta(seconds=151),
        route="repriced",
        outcome="repriced",
        closed_at=T0 + timedelta(seconds=152),
        resolved_amount=D("180.00"),
        savings=D("3320.00"),
        fee=D("0.00"),
        net_savings=D("3320.00"),
    )
    voided = fact(
        priced_at=T0 + h,
        allowed=D("900.00"),
        case_opened_at=T0 + 2 * h,
        route="audit",
        outcome="closed_unresolved",
        closed_at=T0 + 30 * h,
        voided_at=T0 + 31 * h,
    )
    not_negotiated = fact(priced_at=T0 - timedelta(seconds=5), not_negotiated_at=T0 + h, state=None)
    version_1 = fact(
        priced_at=T0 + timedelta(seconds=99),
        case_opened_at=T0 + h,
        route=None,
        agreed_at=T0 + 200 * h,
        agreed_amount=D("0.00"),
        first_offer_accepted=True,
        billed=D("0.00"),
    )
    disputed = fact(
        client_id=None,
        priced_at=T0 + timedelta(seconds=20),
        case_opened_at=T0 + timedelta(seconds=30),
        route="review",
        outcome="disputed",
        closed_at=T0 + 900 * h,
    )
    waiting = fact(received_at=T0 + 700 * h, line_of_business=None)
    agreed_only = fact(received_at=None, agreed_at=T0 + 3 * h, agreed_amount=D("700.00"), billed=D("1000.00"))
    findings = [
        Finding("ncci_ptp", "29881", "", D("1200.00")),
        Finding("modifier_59", "97140", "59", D("85.00")),
    ]
    approvals = [
        Approval(T0 + 3 * h, T0 + 4 * h, True),
        Approval(T0 + 5 * h, T0 + 800 * h, False),
        Approval(T0 + 6 * h, None, None),
    ]
    return [
        (settled, findings[:1], approvals),
        (repriced, findings, []),
        (voided, findings[1:], approvals[1:2]),
        (not_negotiated, [], []),
        (version_1, [], []),
        (disputed, findings, []),
        (waiting, findings, []),
        (agreed_only, [], approvals[2:]),
    ]


def _project(
    ledger: Ledger, kind: str, names: tuple[str, ...], dims: tuple[str, ...], tail: int, month: bool
) -> dict[tuple[Any, ...], list[Decimal]]:
    """Roll the finest ledger rows up to ``dims`` (and ``tail`` trailing key parts, e.g. metric and
    bucket), per day or per month."""
    out: dict[tuple[Any, ...], list[Decimal]] = {}
    for key, vector in ledger.of(kind):
        day = key[0].replace(day=1) if month else key[0]
        values = dict(zip(names, key[1 : 1 + len(names)], strict=True))
        k = (day, *(values[d] for d in dims), *key[1 + len(names) : 1 + len(names) + tail])
        mine = out.setdefault(k, [D(0)] * len(vector))
        for i, v in enumerate(vector):
            mine[i] += v
    return out


async def _table(
    session: AsyncSession, name: str, keys: list[str], values: list[str]
) -> dict[Any, list[Any]]:
    rows = await session.execute(text(f"SELECT {', '.join(keys + values)} FROM reporting.{name}"))
    return {tuple(r[: len(keys)]): [D(v) for v in r[len(keys) :]] for r in rows}


async def _histograms(session: AsyncSession, name: str, keys: list[str]) -> dict[Any, list[Any]]:
    """A histogram table as {(*keys, bucket): [count]}; each row's buckets ascending, no count 0."""
    out: dict[Any, list[Any]] = {}
    for r in await session.execute(text(f"SELECT {', '.join(keys)}, buckets, counts FROM reporting.{name}")):
        buckets, counts = r[-2], r[-1]
        assert buckets == sorted(set(buckets)), name
        assert all(n > 0 for n in counts), name
        for bucket, n in zip(buckets, counts, strict=True):
            out[(*r[:-2], bucket)] = [D(n)]
    return out


async def test_the_set_based_rebuild_equals_the_consumers_contributions(session: AsyncSession) -> None:
    client = unique("rebuild")
    built = _facts(client)
    for fact, findings, approvals in built:
        session.add(fact)
        await session.flush()
        for n, f in enumerate(findings, 1):
            session.add(
                BillFinding(
                    bill_id=fact.bill_id,
                    n=n,
                    rule=f.rule,
                    code=f.code,
                    modifiers=f.modifiers,
                    amount=f.amount,
                )
            )
        for a in approvals:
            session.add(
                BillApproval(
                    approval_id=uuid.uuid4(),
                    bill_id=fact.bill_id,
                    requested_at=a.requested_at,
                    decided_at=a.decided_at,
                    approved=a.approved,
                )
            )
    await session.flush()

    # Expected: every bill of the database (the other tests' too) through the consumers' code.
    ledger = Ledger()
    findings_of: dict[uuid.UUID, list[Finding]] = {}
    for x in await session.scalars(select(BillFinding).order_by(BillFinding.n)):
        findings_of.setdefault(x.bill_id, []).append(Finding(x.rule, x.code, x.modifiers, x.amount))
    approvals_of: dict[uuid.UUID, list[Approval]] = {}
    for a in await session.scalars(select(BillApproval)):
        approvals_of.setdefault(a.bill_id, []).append(Approval(a.requested_at, a.decided_at, a.approved))
    for fact in await session.scalars(select(BillFact)):
        ledger.merge(
            contribution(fact, findings_of.get(fact.bill_id, []), approvals_of.get(fact.bill_id, []), ZONE)
        )

    bills = await rebuild(session, ZONE)
    assert bills >= len(built)
    assert any(key[1] == client for key, _ in ledger.of(KPI))

    checked = 0
    for level in LEVELS:
        for grain in GRAINS:
            month = grain == "month"
            want = _project(ledger, KPI, FULL, level.dims, 0, month)
            got = await _table(session, level.table(grain), ["day", *level.dims], list(MEASURES))
            assert got == want, level.table(grain)
            want = _project(ledger, HIST, FULL, level.dims, 2, month)
            got = await _histograms(session, level.hist(grain), ["day", *level.dims, "metric"])
            assert got == want, level.hist(grain)
            checked += 2
    pattern_sums = list(PATTERN_COUNTS + PATTERN_MONEY)
    for level in PATTERN_LEVELS:
        for grain in GRAINS:
            want = _project(ledger, PATTERN, PATTERN_DIMS, level.dims, 0, grain == "month")
            got = await _table(session, level.table(grain), ["day", *level.dims], pattern_sums)
            assert got == want, level.table(grain)
            checked += 1
    want = _project(ledger, PIPELINE, PIPELINE_DIMS, PIPELINE_DIMS, 0, False)
    got = await _table(session, "pipeline_open", ["received_day", *PIPELINE_DIMS], ["bills", "billed"])
    assert got == want
    assert checked == 4 * len(LEVELS) + 2 * len(PATTERN_LEVELS)
