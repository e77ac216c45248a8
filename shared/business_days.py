"""Business-day arithmetic on the US federal holiday calendar.

Deadlines in this field run in business days: an offer valid for 10 business days, the No Surprises Act's
30 business days of open negotiation (45 CFR 149.510(b)(1)) and its 4 business days to start independent
dispute resolution. A business day is a weekday that is not a US federal holiday as observed (a Saturday
holiday is observed on the Friday before, a Sunday holiday on the Monday after; 5 U.S.C. 6103), from the
``holidays`` library's US calendar, so the calendar is maintained upstream rather than typed here.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import holidays


@functools.lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    # The default category is the federal (public) list; observed=True adds the weekday a weekend
    # holiday moves to.
    return frozenset(holidays.country_holidays("US", years=year, observed=True).keys())


def is_holiday(day: date) -> bool:
    """Whether ``day`` is a US federal holiday (or the weekday a weekend holiday is observed on)."""
    return day in _federal_holidays(day.year)


def holiday_name(day: date) -> str | None:
    """The holiday's name, e.g. ``"Thanksgiving Day"``; None on an ordinary day."""
    return holidays.country_holidays("US", years=day.year, observed=True).get(day)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` business days after ``start`` (before it, for a negative count).

    ``start`` itself is never counted: 1 business day after a Friday is the next Monday (or Tuesday, when
    that Monday is a holiday). ``add_business_days(d, 0)`` is ``d``.
    """
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    day = start
    while remaining:
        day += timedelta(days=step)
        if is_business_day(day):
            remaining -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -business_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count
