"""Business days on the US federal calendar, checked against dates read off the 2026 calendar by hand."""

from __future__ import annotations

from datetime import date

from shared.business_days import add_business_days, business_days_between, holiday_name, is_business_day


def test_thanksgiving_is_skipped() -> None:
    # Wed 2026-11-25 + 1 → Thu 26 is Thanksgiving → Fri 27.
    assert holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 27)
    # Wed 25 + 3: Fri 27, Mon 30, Tue Dec 1.
    assert add_business_days(date(2026, 11, 25), 3) == date(2026, 12, 1)


def test_a_saturday_holiday_is_observed_on_the_friday_before() -> None:
    # 2026-07-04 is a Saturday: observed Friday 2026-07-03, so Thu 2 + 1 → Mon 6.
    assert not is_business_day(date(2026, 7, 3))
    assert add_business_days(date(2026, 7, 2), 1) == date(2026, 7, 6)


def test_new_year_and_weekends() -> None:
    # Thu 2026-12-31 + 1: Fri 2027-01-01 is New Year's Day → Mon 2027-01-04.
    assert add_business_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert add_business_days(date(2026, 11, 27), 0) == date(2026, 11, 27)
    assert add_business_days(date(2026, 11, 30), -1) == date(2026, 11, 27)


def test_no_surprises_act_open_negotiation_30_business_days() -> None:
    # Initiated Mon 2026-11-02: November has Veterans Day (Wed 11) and Thanksgiving (Thu 26) → 18
    # business days after the 2nd (3..30 = 20 weekdays − 2); December 1..11 adds 9 weekdays → 27 on Fri 11;
    # Mon 14, Tue 15, Wed 16 → the 30th business day is Wed 2026-12-16.
    assert add_business_days(date(2026, 11, 2), 30) == date(2026, 12, 16)
    assert business_days_between(date(2026, 11, 2), date(2026, 12, 16)) == 30
    assert business_days_between(date(2026, 12, 16), date(2026, 11, 2)) == -30
