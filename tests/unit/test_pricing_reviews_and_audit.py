"""U&C reviews, audit rules, contract terms and HPT reconstruction: pure logic, figures by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.pricing.audit import duplicates, mue, ncci
from services.pricing.contract_terms import apply_contract
from services.pricing.models import Contract, MueLimit, PtpEdit
from services.pricing.reviews import Peers, Place, ReviewedLine, median, review, wanted
from services.pricing.scope_figures import ScopeFigure
from services.pricing.service_codes import allowed_points, coded, service_code
from shared.contracts import BillLineV1, BillReceivedV1, ClaimType, FacilityRef, ProviderRef, ReviewKind

DAY = date(2025, 10, 3)
PLACE = Place("MT", "591", Peers("acute care hospital", "100-199", "major", "II"), "")


def fig(n: int, value: str) -> ScopeFigure:
    return ScopeFigure(n, Decimal(value))


def test_each_review_widens_until_enough_and_the_line_target_is_the_median() -> None:
    line = ReviewedLine(1, "29881", "professional", Decimal(2), Decimal("5000.00"))
    figures = {
        ("professional", "29881", "US"): fig(40, "2100.00"),
        ("professional", "29881", "Z3:591"): fig(3, "2600.00"),
        ("professional", "29881", "ST:MT"): fig(12, "2400.00"),
        ("professional", "29881", "P4:acute care hospital|100-199|major|II"): fig(9, "1000.00"),
        ("professional", "29881", "P3:acute care hospital|100-199|major"): fig(11, "2000.00"),
    }
    assert set(figures) <= wanted([line], PLACE)
    result = review([line], PLACE, figures, percentile=80, basis="charges", min_observations=10)
    by_kind = {r.kind: r.lines[0] for r in result.summary.reviews}
    assert by_kind[ReviewKind.services].allowance == Decimal("4200.00")  # 2100 × 2 units
    geography = by_kind[ReviewKind.geography]
    assert [(s.scope, s.used) for s in geography.steps] == [("ZIP3 591", False), ("state MT", True)]
    assert geography.allowance == Decimal("4800.00")
    peers = by_kind[ReviewKind.peers]
    assert [s.used for s in peers.steps] == [False, True]  # trauma level dropped
    assert peers.allowance == Decimal("4000.00")
    target = result.targets[1]
    assert (target.amount, target.allowance, target.reviews_used) == (
        Decimal("4200.00"),
        Decimal("4200.00"),
        3,
    )
    assert result.summary.median_total == Decimal("4200.00")


def test_lines_say_plainly_when_data_is_too_thin_and_two_reviews_give_their_mean() -> None:
    lines = [
        ReviewedLine(1, "99213", "professional", Decimal(1), Decimal("90.00")),
        ReviewedLine(2, "97750", "professional", Decimal(1), Decimal("80.00")),
        ReviewedLine(3, None, "professional", Decimal(1), Decimal("10.00")),
    ]
    place = Place("MT", "591", None, "no peer comparison: facility unknown")
    figures = {
        ("professional", "99213", "US"): fig(50, "120.00"),
        ("professional", "99213", "ST:MT"): fig(10, "100.00"),
    }
    result = review(lines, place, figures, percentile=80, basis="charges", min_observations=10)
    first = result.targets[1]
    assert first.amount == Decimal("110.00")  # mean of 120 and 100: only two reviews could price it
    assert first.allowance == Decimal("90.00")  # never more than billed
    assert result.targets[2].allowance is None
    assert "too little data" in result.targets[2].note
    peers = next(r for r in result.summary.reviews if r.kind is ReviewKind.peers)
    assert peers.lines[0].note == "no peer comparison: facility unknown"
    assert result.summary.reviews[0].lines[2].note == "no CPT/HCPCS or revenue code to compare"


def test_median_of_odd_and_even_counts() -> None:
    assert median([Decimal(3), Decimal(1), Decimal(2)]) == Decimal(2)
    assert median([Decimal("1.00"), Decimal("2.01")]) == Decimal("1.51")  # 1.505 rounds half up


def test_service_codes_and_reconstructed_allowed_amounts() -> None:
    assert service_code("71046", None, ["RT", "26"]) == "71046-26"
    assert service_code(None, "450") == "RC0450"
    assert coded([("611", "RC"), ("70551", "CPT")]) == ("70551", "")
    assert coded([("470", "MS-DRG")]) == ("DRG470", "")  # a whole stay, compared with stays
    assert coded([("12345", "NDC")])[0] is None
    # count 18 at median 23123.46 (10th 16998.38, 90th 50000.77): ten points, weights 2×8 + 1×2
    points = allowed_points(Decimal("16998.38"), Decimal("23123.46"), Decimal("50000.77"), 18)
    assert [w for _, w in points] == [2, 2, 2, 2, 2, 2, 2, 2, 1, 1]
    assert points[0][0] == Decimal("16998.38")  # q = 0.05: flat below the 10th
    assert points[2][0] == Decimal("19295.29")  # q = 0.25: 16998.38 + 6125.08 × 0.375 = 19295.285 → .29
    assert points[-1][0] == Decimal("50000.77")
    assert allowed_points(None, Decimal("100"), None, 7) == [(Decimal("100.00"), 7)]


def bl(n: int, code: str, charge: str, units: str = "1", modifiers: list[str] | None = None) -> BillLineV1:
    return BillLineV1(
        line_number=n,
        procedure_code=code,
        units=Decimal(units),
        charge=Decimal(charge),
        service_date=DAY,
        modifiers=modifiers or [],
    )


def test_duplicates_exact_and_near_and_explained_repeats() -> None:
    lines = [
        bl(1, "97110", "40.00"),
        bl(2, "97110", "40.00"),
        bl(3, "97110", "45.00", units="2"),
        bl(4, "73030", "90.00", modifiers=["RT"]),
        bl(5, "73030", "90.00", modifiers=["LT"]),
        bl(6, "85025", "20.00"),
        bl(7, "85025", "20.00", modifiers=["91"]),
    ]
    found = [(f.line_number, f.rule, f.related_line, f.amount_at_stake) for f in duplicates(lines)]
    assert found == [
        (2, "duplicate_line", 1, Decimal("40.00")),
        (3, "near_duplicate_line", 1, Decimal("40.00")),
    ]


def edit(c1: str, c2: str, indicator: str, deleted: date | None = None) -> PtpEdit:
    return PtpEdit(
        edit_set="practitioner",
        column1=c1,
        column2=c2,
        effective_from=date(2025, 1, 1),
        deleted_on=deleted,
        modifier_indicator=indicator,
    )


def test_ncci_indicators_and_bypass_modifiers() -> None:
    edits = [
        edit("20610", "64450", "0"),
        edit("97110", "97140", "1"),
        edit("29881", "20610", "9"),
        edit("11042", "97597", "1", deleted=date(2025, 6, 1)),
    ]
    lines = [
        bl(1, "20610", "300.00"),
        bl(2, "64450", "500.00"),
        bl(3, "97110", "40.00"),
        bl(4, "97140", "35.00", modifiers=["XU"]),
        bl(5, "29881", "3000.00"),
        bl(6, "11042", "100.00"),
        bl(7, "97597", "80.00"),
    ]
    found = [(f.line_number, f.rule, f.related_line, f.amount_at_stake) for f in ncci(lines, edits)]
    # 64450 bundled (indicator 0); 97140 has XU (indicator 1: bypassed); 9 and deleted edits ignored
    assert found == [(2, "ncci_ptp", 1, Decimal("500.00"))]


def test_mue_per_line_and_per_date() -> None:
    limits = {
        "97110": MueLimit(edit_set="practitioner", hcpcs="97110", mue_value=4, adjudication_indicator="3"),
        "99213": MueLimit(edit_set="practitioner", hcpcs="99213", mue_value=1, adjudication_indicator="1"),
    }
    lines = [
        bl(1, "97110", "120.00", units="3"),
        bl(2, "97110", "80.00", units="2"),
        bl(3, "99213", "300.00", units="2"),
    ]
    found = sorted((f.line_number, f.amount_at_stake) for f in mue(lines, limits))
    assert found == [(2, Decimal("40.00")), (3, Decimal("150.00"))]  # 1 unit over at 40.00; 1 over at 150.00


def _bill(
    lines: list[BillLineV1], admission: date | None = None, discharge: date | None = None
) -> BillReceivedV1:
    return BillReceivedV1(
        bill_id="00000000-0000-0000-0000-000000000001",
        client_id="c",
        partner_claim_id="p",
        claim_type=ClaimType.institutional,
        provider=ProviderRef(npi="1912301953", tin="587654321"),
        facility=FacilityRef(state="MT", zip="59101"),
        total_charge=sum((x.charge for x in lines), Decimal(0)),
        lines=lines,
        received_at="2025-10-04T00:00:00Z",
        admission_date=admission,
        discharge_date=discharge,
    )


def test_per_diem_is_shared_over_lines_by_charge() -> None:
    contract = Contract(
        id="pd",
        kind="ppo",
        name="Per diem",
        provider_tin="587654321",
        provider_npi=None,
        effective_from=date(2020, 1, 1),
        effective_to=None,
        terms={"type": "per_diem", "rate": "1500.00"},
    )
    bill = _bill(
        [bl(1, "99223", "6000.00"), bl(2, "80053", "2000.00"), bl(3, "71046", "1000.00")],
        admission=date(2025, 9, 28),
        discharge=date(2025, 10, 1),
    )
    quotes = apply_contract(contract, bill, lambda lines, m: [], None)
    # 1500 × 3 days = 4500 over charges 6000/2000/1000 of 9000: 3000.00, 1000.00, and the rest 500.00
    assert [q.allowed for q in quotes] == [Decimal("3000.00"), Decimal("1000.00"), Decimal("500.00")]
    assert "3 day(s)" in quotes[0].basis
