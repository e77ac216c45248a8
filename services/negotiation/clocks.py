"""Case clocks: the No Surprises Act open-negotiation period as a clock a negotiator starts on a case.

Its dates come from deadlines.nsa_period (business days, US federal calendar); its lapse and the end of
the IDR initiation window are scheduled jobs (timers.py). Agreement within the period marks it met.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from services.negotiation import events
from services.negotiation.cases import CaseStatus, log, refresh, require_active
from services.negotiation.deadlines import ClockKind, ClockStatus, eastern_day, nsa_period, schedule_clock
from services.negotiation.models import Case, Clock
from shared.bus.outbox import Tx
from shared.contracts import ClockState
from shared.errors import Conflict, Unprocessable


async def start(tx: Tx, case: Case, kind: ClockKind, started_on: date, by: str, now: datetime) -> Clock:
    """Start a clock on an open case (one running clock of a kind at a time)."""
    require_active(case, statuses=(CaseStatus.open.value, CaseStatus.confirming.value))
    if started_on > eastern_day(now):
        raise Unprocessable(
            "the open-negotiation notice cannot be sent in the future",
            errors=[{"field": "started_on", "message": "after today", "type": "future_date"}],
        )
    for clock in case.clocks:
        if clock.kind == kind.value and clock.status in (ClockStatus.running.value, ClockStatus.lapsed.value):
            raise Conflict(
                f"a {kind.value} clock is already {clock.status} on this case (due {clock.due_on})"
            )
    due_on, idr_by = nsa_period(started_on)
    clock = Clock(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=kind.value,
        started_on=started_on,
        due_on=due_on,
        follow_on_due=idr_by,
        status=ClockStatus.running.value,
        started_by=by,
        started_at=now,
    )
    case.clocks.append(clock)
    await tx.session.flush()
    await schedule_clock(tx.session, case, clock)
    refresh(case)
    log(
        tx.session,
        case,
        by,
        "clock_started",
        f"No Surprises Act open negotiation from {started_on.isoformat()}: 30 business days end on "
        f"{due_on.isoformat()}; IDR may be initiated through {idr_by.isoformat()}",
        now,
    )
    await tx.emit(events.clock_changed(case, clock, ClockState.started, now), subject=str(case.bill_id))
    return clock
