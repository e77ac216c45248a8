"""Rates read from payer and hospital files, and the NCCI edit dates: pure logic on the real files.

Values were read off the CMS example files by hand; the database side is in tests/e2e/test_reference_files.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ijson
import pytest

from services.pricing.audit import in_effect, ncci
from services.pricing.importers import LoadSummary
from services.pricing.importers.base import parse_date
from services.pricing.importers.edits import PTP_COLUMNS
from services.pricing.importers.hospital_prices import item_observations
from services.pricing.importers.observed import Place
from services.pricing.importers.tables import read_table
from services.pricing.importers.tic import InNetworkPrice, ProviderGroup, in_network_prices
from services.pricing.models import PtpEdit
from shared.contracts import BillLineV1
from shared.stack.bootstrap import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "pricing"
EXPIRED = "in-network rates kept out of U&C: expired before the file's date {}"
DERIVED = "in-network rates kept out of U&C: derived (an internal accounting price, not a payment)"
FEE_SCHEDULE = "in-network rates kept out of U&C: fee schedule (the member's cost-sharing basis)"


def _prices(name: str, as_of: date) -> tuple[list[InNetworkPrice], LoadSummary]:
    summary = LoadSummary("tic", name)
    with (FIXTURES / "tic" / name).open("rb") as fh:
        return list(in_network_prices(ijson.items(fh, "in_network.item"), as_of, summary)), summary


def test_in_network_rates_each_kept_as_its_own_kind_while_in_force() -> None:
    prices, summary = _prices("tic_in_network_mixed_rate_types.json", date(2024, 6, 1))
    assert [(p.item, p.kind, p.setting, p.code, p.amount, p.references) for p in prices] == [
        (1, "allowed", "professional", "99214", Decimal("150.00"), (1,)),
        (2, "percent_of_billed", "professional", "97110", Decimal("65.00"), (1,)),  # 65% of billed
        (3, "per_diem", "facility", "RC0200", Decimal("5500.00"), (2,)),  # ICU, a day
        (5, "allowed", "facility", "27447", Decimal("12000.00"), (1, 2)),
        (6, "percent_of_billed", "professional", "99285", Decimal("75.50"), (2,)),
        (6, "allowed", "facility", "99285", Decimal("2500.00"), (2,)),
    ]
    # 80053 is derived; 27447's professional 8500.00 is the fee schedule for cost sharing.
    assert summary.kept_out == {DERIVED: 1, FEE_SCHEDULE: 1}
    assert summary.rows_rejected == 0


def test_expired_rates_are_kept_out_and_counted() -> None:
    prices, summary = _prices("tic_in_network_mixed_rate_types.json", date(2025, 1, 1))
    assert prices == []  # every rate expired on 2024-12-31
    assert summary.kept_out == {DERIVED: 1, FEE_SCHEDULE: 1, EXPIRED.format("2025-01-01"): 6}
    on_the_day, _ = _prices("tic_in_network_mixed_rate_types.json", date(2024, 12, 31))
    assert len(on_the_day) == 6  # in force through its expiration date


def test_npi_zero_is_a_contract_with_the_tin_not_a_provider() -> None:
    prices, _ = _prices("tic_in_network_tin_only.json", date(2021, 12, 31))
    assert [(p.kind, p.setting, p.code, p.amount, p.groups) for p in prices] == [
        ("allowed", "facility", "27447", Decimal("123.45"), (ProviderGroup((), "11-1111111"),))
    ]


def test_single_plan_file_with_a_modifier_that_is_not_a_component() -> None:
    prices, summary = _prices("tic_in_network_ffs_single_plan.json", date(2021, 12, 31))
    assert [(p.setting, p.code, p.amount) for p in prices] == [
        ("professional", "27447", Decimal("123.45")),  # modifier AS: the same service
        ("facility", "27447", Decimal("1230.45")),
        ("professional", "27447", Decimal("120.45")),
        ("professional", "27448", Decimal("12003.45")),
        ("facility", "27448", Decimal("12.45")),
    ]
    assert {p.references for p in prices} == {(1,)}
    assert summary.kept_out == {}


def test_bundles_capitation_and_codes_not_compared_are_counted_or_rejected() -> None:
    items = [
        {"negotiation_arrangement": "capitation", "billing_code": "99213", "billing_code_type": "CPT"},
        # a drug by NDC is not a service Parley compares (an MS-DRG now is: a whole stay)
        {"negotiation_arrangement": "ffs", "billing_code": "0002-8215-01", "billing_code_type": "NDC"},
        {
            "negotiation_arrangement": "ffs",
            "billing_code": "71046",
            "billing_code_type": "CPT",
            "negotiated_rates": [
                {
                    "provider_groups": [{"npi": [1003000126], "tin": {"type": "ein", "value": "123456789"}}],
                    "negotiated_prices": [
                        {
                            "negotiated_type": "negotiated",
                            "negotiated_rate": 31.5,
                            "expiration_date": "9999-12-31",
                            "billing_class": "both",
                            "billing_code_modifier": ["26"],
                        },
                        {"negotiated_type": "capped", "negotiated_rate": 1, "billing_class": "professional"},
                        {
                            "negotiated_type": "negotiated",
                            "negotiated_rate": 0,
                            "billing_class": "professional",
                        },
                    ],
                }
            ],
        },
    ]
    summary = LoadSummary("tic", "built")
    prices = list(in_network_prices(items, date(2026, 11, 30), summary))
    assert [(p.setting, p.code, p.amount, p.groups) for p in prices] == [
        ("professional", "71046-26", Decimal("31.50"), (ProviderGroup(("1003000126",), "123456789"),)),
        ("facility", "71046-26", Decimal("31.50"), (ProviderGroup(("1003000126",), "123456789"),)),
    ]
    assert summary.kept_out == {
        "in-network items kept out: capitation (a price for a bundle or per member, not for one service)": 1
    }
    assert [r["row"] for r in summary.rejections] == ["2", "3", "3"]
    assert summary.rejections[1]["reason"].startswith("negotiated_type 'capped'")
    assert summary.rejections[2]["reason"] == "71046: negotiated_rate is not a positive amount"


def test_hospital_rows_keep_gross_cash_and_negotiated_dollars_and_count_placeholders() -> None:
    summary = LoadSummary("hpt", "built")
    place = Place("CA", "928", None, date(2026, 4, 1))
    payers = [
        {"negotiated_dollar": "400", "methodology": "fee schedule"},
        {"negotiated_dollar": "999999999", "methodology": "fee schedule"},
        {"negotiated_dollar": "N/A", "median_amount": "250", "count": "many"},  # bad count: payer dropped
        {"negotiated_dollar": "0"},
        {"negotiated_dollar": "-12.50"},
        {"negotiated_dollar": "1,500.00", "methodology": "per diem"},
        {"median_amount": "300", "10th_percentile": "200", "90th_percentile": "400", "count": "2"},
    ]
    found = item_observations(
        "70551",
        "facility",
        {"gross": "$1,200.00", "discounted_cash": "1080"},
        payers,
        place,
        summary,
        first_of_item=True,
    )
    assert [(o.kind, o.amount, o.weight) for o in found] == [
        ("charge", Decimal("1200.00"), 1),
        ("cash", Decimal("1080.00"), 1),
        ("allowed", Decimal("400.00"), 1),
        ("per_diem", Decimal("1500.00"), 1),
        # two remittances at the 25th and 75th percentile: halfway between 10th/median and median/90th
        ("allowed", Decimal("237.50"), 1),
        ("allowed", Decimal("362.50"), 1),
    ]
    assert {(o.state, o.zip3, o.observed_on) for o in found} == {("CA", "928", date(2026, 4, 1))}
    assert summary.kept_out == {
        "negotiated_dollar kept out as a placeholder (999999999 or too large for a price)": 1,
        "negotiated_dollar kept out as a placeholder (text such as N/A)": 1,
        "negotiated_dollar kept out as a placeholder (zero or negative)": 2,
        "allowed-amount percentiles kept out: count is not a whole number": 1,
    }
    later_row = item_observations(
        "70551",
        "facility",
        {"gross": "1200", "discounted_cash": "1080"},
        payers[:1],
        place,
        summary,
        first_of_item=False,
    )
    assert [(o.kind, o.amount) for o in later_row] == [("allowed", Decimal("400.00"))]  # gross once per item
    bad_payers_only = item_observations(
        "70551",
        "facility",
        {"gross": "1200", "discounted_cash": "N/A"},
        payers[1:5],
        place,
        summary,
        first_of_item=True,
    )
    assert [(o.kind, o.amount) for o in bad_payers_only] == [("charge", Decimal("1200.00"))]


def _edits() -> list[PtpEdit]:
    summary = LoadSummary("ncci", "sample")
    path = FIXTURES / "cms" / "NCCI_PTP_practitioner_layout_sample.txt"
    return [
        PtpEdit(
            edit_set="practitioner",
            column1=r["column1"],
            column2=r["column2"],
            effective_from=parse_date(r["effective"], "effective"),
            deleted_on=parse_date(r["deletion"], "deletion"),
            modifier_indicator=r["modifier"],
        )
        for _, r in read_table(path, PTP_COLUMNS, summary)
    ]


def _line(number: int, code: str, on: date) -> BillLineV1:
    return BillLineV1(
        line_number=number, procedure_code=code, units=Decimal(1), charge=Decimal("100.00"), service_date=on
    )


@pytest.mark.parametrize(
    ("on", "applies"),
    [
        (date(2014, 12, 31), False),  # the day before its effective date
        (date(2015, 1, 1), True),  # on its effective date
        (date(2023, 12, 31), True),  # the last day before its deletion date
        (date(2024, 1, 1), False),  # on its deletion date: deleted
    ],
)
def test_an_ncci_edit_applies_from_its_effective_date_until_the_day_before_its_deletion(
    on: date, applies: bool
) -> None:
    edit = next(e for e in _edits() if (e.column1, e.column2) == ("97110", "97750"))
    assert (edit.effective_from, edit.deleted_on) == (date(2015, 1, 1), date(2024, 1, 1))
    assert in_effect(edit, on) is applies
    found = ncci([_line(1, "97110", on), _line(2, "97750", on)], _edits())
    assert [(f.line_number, f.rule) for f in found] == ([(2, "ncci_ptp")] if applies else [])


def test_an_edit_deleted_on_its_effective_date_never_applies_and_a_readded_pair_applies_again() -> None:
    never = next(e for e in _edits() if (e.column1, e.column2) == ("36415", "36410"))
    assert not in_effect(never, date(2020, 1, 1))
    periods = [
        PtpEdit(
            column1="97110",
            column2="97750",
            effective_from=date(2015, 1, 1),
            deleted_on=date(2024, 1, 1),
            modifier_indicator="1",
        ),
        PtpEdit(
            column1="97110",
            column2="97750",
            effective_from=date(2025, 1, 1),
            deleted_on=None,
            modifier_indicator="0",
        ),
    ]
    for on, expected in ((date(2024, 6, 1), []), (date(2025, 3, 1), [(2, "ncci_ptp")])):
        found = ncci([_line(1, "97110", on), _line(2, "97750", on)], periods)
        assert [(f.line_number, f.rule) for f in found] == expected
    never_open = [e for e in _edits() if e.deleted_on is None]
    assert {(e.column1, e.column2) for e in never_open} == {
        ("93000", "93005"),
        ("99214", "99213"),
        ("20610", "76942"),
        ("71046", "71045"),
    }
