"""Inpatient stays, anesthesia, lab, DME, localities and comprehensive APCs, worked by hand from the real
CMS files (values copied from services/pricing/data/cms and cms2025; each comment shows the arithmetic)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from services.pricing.anesthesia import ConversionFactor, comparison_units, price_anesthesia, time_units
from services.pricing.importers.base import LoadSummary
from services.pricing.importers.inpatient import DRG_COLUMNS
from services.pricing.importers.specialty import (
    ANESTHESIA_CF_COLUMNS,
    BASE_UNIT_COLUMNS,
    CLFS_COLUMNS,
    DMEPOS_COLUMNS,
)
from services.pricing.importers.tables import read_fixed_width, read_table
from services.pricing.importers.zip_codes import ZIP5_LAYOUT
from services.pricing.inpatient import allocate, fiscal_year, ipps
from services.pricing.lab_dme import Scaled, price_dme, price_lab
from services.pricing.localities import area_of, choose_locality
from services.pricing.models import (
    ClinicalLabRate,
    DmeposFee,
    DrgWeight,
    Gpci,
    IppsRate,
    OppsRate,
    WageIndex,
    ZipLocality,
)
from services.pricing.quotes import LineQuote, unpriced
from services.pricing.schedules import Multiplier, price_outpatient
from shared.contracts import BillLineV1, BillReceivedV1, UnitOfMeasure
from shared.stack.bootstrap import PROJECT_ROOT

BUNDLED = PROJECT_ROOT / "services" / "pricing" / "data" / "cms"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "pricing" / "cms"
STAY = [
    ("0124", "9148"),
    ("0250", "48.1"),
    ("0260", "133"),
    ("0300", "32.9"),
    ("0301", "798.5"),
    ("0305", "200.6"),
    ("0306", "175"),
    ("0307", "113.6"),
    ("0351", "6517"),
]
FY2026 = IppsRate(
    fiscal_year=2026,
    starts=date(2025, 10, 1),
    ends=date(2026, 9, 30),
    labor_above_1=Decimal("4456.72"),
    nonlabor_above_1=Decimal("2295.89"),
    labor_at_most_1=Decimal("4186.62"),
    nonlabor_at_most_1=Decimal("2565.99"),
    capital_rate=Decimal("524.15"),
    gaf_exponent=Decimal("0.6848"),
)
# Table 5 FY2026: 885 PSYCHOSES, MDC 19, MED, not post-acute, weight 1.3968 (10% cap applied).
PSYCHOSES = DrgWeight(
    fiscal_year=2026,
    drg="885",
    mdc="19",
    drg_type="MED",
    title="PSYCHOSES",
    weight=Decimal("1.3968"),
    post_acute=False,
    special_pay=False,
    geometric_los=Decimal("6.5"),
    arithmetic_los=Decimal("9.8"),
)


def stay(**extra: object) -> BillReceivedV1:
    fields: dict[str, object] = {
        "bill_id": "8f1c9c3e-5d7a-4b8e-9a51-2f4c6f1e0a11",
        "client_id": "c",
        "partner_claim_id": "STAY-885",
        "claim_type": "institutional",
        "provider": {"npi": "1912301953", "tin": "587654321"},
        "facility": {"state": "IL", "zip": "60640"},
        "total_charge": "17166.70",
        "received_at": "2026-11-01T00:00:00Z",
        "type_of_bill": "0111",
        "admission_date": "2025-11-03",
        "discharge_date": "2025-11-07",
        "drg": "885",
        "discharge_status": "01",
        "lines": [
            {"line_number": n, "revenue_code": rc, "units": 1, "charge": charge, "service_date": "2025-11-03"}
            for n, (rc, charge) in enumerate(STAY, start=1)
        ],
    }
    fields.update(extra)
    return BillReceivedV1.model_validate(fields)


def test_drg_885_national_operating_plus_capital() -> None:
    # wage index 1.0 (≤ 1: labor 4,186.62, non-labor 2,565.99):
    # operating = 1.3968 × (4,186.62 × 1.0 + 2,565.99) = 1.3968 × 6,752.61 = 9,432.045… → 9,432.05
    # capital = 524.15 × 1.3968 × GAF 1.0 = 732.1327… → 732.13; IPPS = 10,164.18
    found = ipps(stay(), [PSYCHOSES], [FY2026], None, "no wage index loaded")
    assert not isinstance(found, str)
    assert (found.fiscal_year, found.operating, found.capital, found.total) == (
        2026,
        Decimal("9432.05"),
        Decimal("732.13"),
        Decimal("10164.18"),
    )
    assert "wage index 1.0 (national): no wage index loaded" in found.describe()
    assert "high-cost outlier payment not computed" in found.describe()


def test_drg_885_with_a_wage_index_above_and_below_one() -> None:
    # wage index 1.25 (> 1: labor 4,456.72, non-labor 2,295.89):
    # operating = 1.3968 × (4,456.72 × 1.25 + 2,295.89) = 1.3968 × 7,866.79 = 10,988.332… → 10,988.33
    # GAF = 1.25 ^ 0.6848 = 1.16510… → 1.1651; capital = 524.15 × 1.3968 × 1.1651 = 853.0078… → 853.01
    wage = WageIndex(fiscal_year=2026, area_kind="ccn", area="149990", name="X", wage_index=Decimal("1.25"))
    high = ipps(stay(), [PSYCHOSES], [FY2026], wage, "")
    assert not isinstance(high, str)
    assert (high.gaf, high.operating, high.capital, high.total) == (
        Decimal("1.1651"),
        Decimal("10988.33"),
        Decimal("853.01"),
        Decimal("11841.34"),
    )
    # wage index 0.85: 1.3968 × (4,186.62 × 0.85 + 2,565.99) = 8,554.865… → 8,554.87;
    # GAF 0.85 ^ 0.6848 = 0.8947; capital 524.15 × 1.3968 × 0.8947 = 655.04
    low_wage = WageIndex(
        fiscal_year=2026, area_kind="cbsa", area="16974", name="Y", wage_index=Decimal("0.85")
    )
    low = ipps(stay(), [PSYCHOSES], [FY2026], low_wage, "")
    assert not isinstance(low, str)
    assert (low.operating, low.gaf, low.capital) == (Decimal("8554.87"), Decimal("0.8947"), Decimal("655.04"))


def test_a_stay_outside_the_loaded_year_a_transfer_and_no_drg_are_said_plainly() -> None:
    assert (fiscal_year(date(2025, 9, 30)), fiscal_year(date(2025, 10, 1))) == (2025, 2026)
    old = ipps(
        stay(discharge_date="2018-07-02", admission_date="2018-06-28", discharge_status="02"),
        [PSYCHOSES],
        [FY2026],
        None,
        "x",
    )
    assert not isinstance(old, str)
    text = old.describe()
    assert "discharge in FY2018, whose rates are not loaded: FY2026 rates used" in text
    assert "discharge status 02 (transfer to a short-term general hospital)" in text
    assert "not applied" in text
    # 65 (psychiatric hospital) is a post-acute transfer only for a post-acute MS-DRG; 885 is not one.
    assert "transfer" not in ipps(stay(discharge_status="65"), [PSYCHOSES], [FY2026], None, "x").describe()  # type: ignore[union-attr]
    no_drg = ipps(stay(drg=None), [PSYCHOSES], [FY2026], None, "x")
    assert isinstance(no_drg, str)
    assert "without an MS-DRG" in no_drg
    assert "does not group" in no_drg
    ungroupable = DrgWeight(
        fiscal_year=2026,
        drg="999",
        mdc="",
        drg_type="**",
        title="UNGROUPABLE",
        weight=None,
        post_acute=False,
        special_pay=False,
    )
    assert "no relative weight" in str(ipps(stay(drg="999"), [ungroupable], [FY2026], None, "x"))


def test_the_stay_amount_is_shared_over_the_lines_by_charge() -> None:
    bill = stay()
    quotes = allocate(bill.lines, Decimal("10164.18"), "IPPS")
    # 10,164.18 × 9,148 / 17,166.70 = 5,416.41; … ; the last line takes what is left: 3,858.63
    assert [q.allowed for q in quotes] == [
        Decimal(x)
        for x in ("5416.41", "28.48", "78.75", "19.48", "472.78", "118.77", "103.62", "67.26", "3858.63")
    ]
    assert sum(q.allowed or 0 for q in quotes) == Decimal("10164.18")
    # A stay amount above the charges: each line allowed its charge (lesser of billed).
    over = allocate(bill.lines, Decimal("20000.00"), "x")
    assert [q.allowed for q in over] == [line.charge for line in bill.lines]


def anesthesia_line(modifiers: list[str], minutes: str = "61", **extra: object) -> BillLineV1:
    fields: dict[str, object] = {
        "line_number": 1,
        "procedure_code": "00142",
        "modifiers": modifiers,
        "units": Decimal(minutes),
        "unit_of_measure": UnitOfMeasure.minutes,
        "charge": Decimal("1200.00"),
        "service_date": date(2025, 10, 3),
    }
    fields.update(extra)
    return BillLineV1.model_validate(fields)


def test_anesthesia_base_plus_time_units_with_medical_direction() -> None:
    # 00142: 4 base units (CY2022 base-unit file); 61 minutes ÷ 15 = 4.066… → 4.1 time units; 8.1 units.
    assert (time_units(Decimal(61)), time_units(Decimal(7)), time_units(Decimal(8))) == (
        Decimal("4.1"),
        Decimal("0.5"),
        Decimal("0.5"),
    )
    miami = ConversionFactor(Decimal("22.39"), "CF 22.39 (MIAMI)")
    tampa = ConversionFactor(Decimal("20.73"), "CF 20.73 (REST OF FLORIDA)")
    fl = {"factor": Decimal("1.40"), "factor_source": "FL test fee schedule"}
    # Miami: 8.1 × 22.39 = 181.359; QK 50% = 90.6795 → 90.68; × 1.40 = 126.952 → 126.95
    qk = price_anesthesia(anesthesia_line(["QK", "P3"]), Decimal(4), miami, **fl)
    assert qk.method_amount == Decimal("126.95")
    assert "4 base + 4.1 time units (61 minutes ÷ 15)" in qk.basis
    assert "QK medical direction of 2-4 concurrent procedures: 50% = 90.68" in qk.basis
    assert "physical status P3 (severe systemic disease) recorded" in qk.basis
    # Tampa (rest of Florida): 8.1 × 20.73 = 167.913; 50% = 83.9565 → 83.96; × 1.40 = 117.544 → 117.54
    assert price_anesthesia(anesthesia_line(["QK"]), Decimal(4), tampa, **fl).method_amount == Decimal(
        "117.54"
    )
    # QZ (CRNA alone) 100%: 181.359 → 181.36 × 1.40 = 253.904 → 253.90
    assert price_anesthesia(anesthesia_line(["QZ"]), Decimal(4), miami, **fl).method_amount == Decimal(
        "253.90"
    )
    # AD: 3 base units, no time: 3 × 22.39 = 67.17 × 1.40 = 94.038 → 94.04
    assert price_anesthesia(anesthesia_line(["AD"]), Decimal(4), miami, **fl).method_amount == Decimal(
        "94.04"
    )
    # A schedule's own CF (55.00): 8.1 × 55.00 = 445.50; QX 50% = 222.75 (no Medicare multiplier)
    own = price_anesthesia(anesthesia_line(["QX"]), Decimal(4), None, **fl, own_cf=Decimal("55.00"))
    assert own.method_amount == Decimal("222.75")


def test_anesthesia_in_plain_units_is_not_priced_and_u_and_c_compares_per_anesthesia_unit() -> None:
    plain = anesthesia_line(["QK"], unit_of_measure=UnitOfMeasure.units)
    quote = price_anesthesia(
        plain, Decimal(4), ConversionFactor(Decimal("22.39"), "x"), factor=Decimal(1), factor_source="x"
    )
    assert quote.allowed is None
    assert quote.reason is not None
    assert "minutes" in quote.reason
    # The charge is compared over 8.1 anesthesia units (1,200.00 / 8.1 = 148.15 a unit), never over 61.
    assert comparison_units([anesthesia_line(["QK"])], {"00142": Decimal(4)}) == {1: Decimal("8.1")}
    assert comparison_units([plain], {"00142": Decimal(4)}) == {1: None}


def lab_line(code: str, modifiers: list[str] | None = None, units: str = "1") -> BillLineV1:
    return BillLineV1(
        line_number=1,
        procedure_code=code,
        modifiers=modifiers or [],
        units=Decimal(units),
        charge=Decimal("90.00"),
        service_date=date(2025, 10, 3),
    )


def test_lab_on_the_clfs_and_dme_rural_or_not() -> None:
    # CLFS 2025: 80053 ,,N,00010.56 and 80053 QW 00010.56; × 1.40 = 14.784 → 14.78; × 2 units = 29.56
    rates = [
        ClinicalLabRate(year=2025, hcpcs="80053", modifier="", rate=Decimal("10.56"), indicator="N"),
        ClinicalLabRate(year=2025, hcpcs="80053", modifier="QW", rate=Decimal("10.56"), indicator="N"),
    ]
    lab = price_lab(lab_line("80053", units="2"), rates, Scaled(Decimal("1.40"), "FL"))
    assert lab is not None
    assert lab.method_amount == Decimal("29.56")
    assert "national limitation amount 10.56" in lab.basis
    assert "80053-QW" in (price_lab(lab_line("80053", ["QW"]), rates, Scaled(Decimal(1), "x")) or lab).basis
    assert price_lab(lab_line("99213"), [], Scaled(Decimal(1), "x")) is None
    # DMEPOS January 2026, E0601 RR (CPAP rental) in FL: non-rural 51.94, rural 86.69.
    fees = [
        DmeposFee(
            year=2026,
            hcpcs="E0601",
            modifier="RR",
            modifier2="",
            state="FL",
            category="CR",
            nonrural=Decimal("51.94"),
            rural=Decimal("86.69"),
        ),
        DmeposFee(
            year=2026,
            hcpcs="E0114",
            modifier="NU",
            modifier2="",
            state="FL",
            category="IN",
            nonrural=Decimal("59.35"),
            rural=None,
        ),
    ]
    fl = Scaled(Decimal("1.40"), "FL")
    urban = price_dme(lab_line("E0601", ["RR"]), fees, state="FL", rural="", multiplier=fl)
    rural = price_dme(lab_line("E0601", ["RR", "KX"]), fees, state="FL", rural="R", multiplier=fl)
    # 51.94 × 1.40 = 72.716 → 72.72; 86.69 × 1.40 = 121.366 → 121.37
    assert urban is not None
    assert urban.method_amount == Decimal("72.72")
    assert "urban ZIP" in urban.basis
    assert rural is not None
    assert rural.method_amount == Decimal("121.37")
    assert "rural fee" in rural.basis
    # No rural fee published: the non-rural one; a line without the modifier that selects a row: unpriced.
    crutches = price_dme(lab_line("E0114", ["NU"]), fees, state="FL", rural="B", multiplier=fl)
    assert crutches is not None
    assert "no separate rural fee" in crutches.basis
    missing = price_dme(lab_line("E0601"), fees, state="FL", rural="", multiplier=fl)
    assert missing is not None
    assert missing.allowed is None
    assert "RR" in (missing.reason or "")
    assert price_dme(lab_line("E0601", ["RR"]), fees, state="GA", rural="", multiplier=fl).reason == (  # type: ignore[union-attr]
        "E0601 has no 2026 DMEPOS fee in GA"
    )


def zip_row(zip5: str, locality: str, rural: str = "", low: str = "", high: str = "") -> ZipLocality:
    return ZipLocality(
        zip=zip5,
        plus4_low=low,
        plus4_high=high,
        state="FL",
        carrier="09102",
        locality=locality,
        rural=rural,
        quarter="20254",
    )


FLORIDA = [
    Gpci(year=2025, mac="09102", state="FL", locality=n, locality_name=name, work=Decimal(1), pe=pe, mp=mp)
    for n, name, pe, mp in (
        ("03", "FORT LAUDERDALE", Decimal("0.998"), Decimal("1.77")),
        ("04", "MIAMI", Decimal("1.027"), Decimal("2.5")),
        ("99", "REST OF FLORIDA", Decimal("0.94"), Decimal("1.467")),
    )
]


def test_the_locality_comes_from_the_zip_and_falls_back_to_rest_of_state_saying_so() -> None:
    miami = area_of("33125", [zip_row("33125", "04")], True)
    assert (miami.carrier, miami.locality, miami.rural) == ("09102", "04", "")
    locality = choose_locality("FL", FLORIDA, miami)
    assert locality is not None
    assert locality.name == "MIAMI"
    assert "ZIP 33125 is carrier 09102 locality 04 in the CMS ZIP5 file (20254)" in locality.note
    # A ZIP+4 inside a ZIP9 range is priced in that range's locality, whatever the ZIP5 row says.
    rows = [zip_row("33125", "04"), zip_row("33125", "03", low="1000", high="1999")]
    assert area_of("331251500", rows, True).locality == "03"
    assert area_of("331252500", rows, True).locality == "04"
    unknown = choose_locality("FL", FLORIDA, area_of("33999", [], True))
    assert unknown is not None
    assert unknown.name == "REST OF FLORIDA"
    assert unknown.note == (
        "FL has 3 localities and ZIP 33999 is not in the loaded ZIP5 file, "
        "so the REST OF FLORIDA locality is used"
    )
    assert (
        "no ZIP5 file is loaded"
        in (choose_locality("FL", FLORIDA, area_of("33125", [], False)) or unknown).note
    )


def opps(code: str, si: str, apc: str | None, rate: str | None) -> OppsRate:
    return OppsRate(
        year=2025,
        hcpcs=code,
        status_indicator=si,
        apc=apc,
        relative_weight=None,
        payment_rate=Decimal(rate) if rate else None,
    )


def test_a_j1_claim_is_paid_at_its_comprehensive_apc_with_the_rest_packaged() -> None:
    # OPPS 2025: 29881 J1 APC 5113 3,244.61; 96374 S 210.69; 85025 Q4; J1100 N; E0114 not in OPPS.
    rates = {
        "29881": opps("29881", "J1", "5113", "3244.61"),
        "96374": opps("96374", "S", "5693", "210.69"),
        "85025": opps("85025", "Q4", None, None),
        "J1100": opps("J1100", "N", None, None),
        "L3908": opps("L3908", "Y", None, None),
    }
    lines = [
        lab_line("29881"),
        lab_line("96374").model_copy(update={"line_number": 2}),
        lab_line("85025").model_copy(update={"line_number": 3}),
        lab_line("J1100").model_copy(update={"line_number": 4}),
        BillLineV1(
            line_number=5,
            revenue_code="0270",
            units=Decimal(1),
            charge=Decimal("50"),
            service_date=date(2025, 10, 3),
        ),
        lab_line("L3908").model_copy(update={"line_number": 6}),
    ]

    def other(line: BillLineV1, reason: str) -> LineQuote:
        return unpriced(line, f"other schedule: {reason}")

    q = price_outpatient(
        lines, opps=rates, multiplier=Multiplier(Decimal("2.00"), "FL"), year=2025, other=other
    )
    # 3,244.61 × 2.00 = 6,489.22; every other line packaged into APC 5113, except status Y (DME).
    assert q[0].method_amount == Decimal("6489.22")
    assert "comprehensive APC" in q[0].basis
    assert [x.allowed for x in q[1:5]] == [Decimal("0.00")] * 4
    assert all("packaged into comprehensive APC 5113 (29881, status J1, line 1)" in x.basis for x in q[1:5])
    assert q[5].reason is not None
    assert q[5].reason.startswith("other schedule: L3908 has OPPS status Y")


def _read(path: Path, columns) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return [row for _, row in read_table(path, columns, LoadSummary("t", path.name))]


def test_the_real_cms_files_read_as_shipped() -> None:
    table5 = {r["drg"]: r for r in _read(BUNDLED / "MS-DRG_FY2026_Table5.csv", DRG_COLUMNS)}
    assert len(table5) == 772
    assert (table5["885"]["weight"], table5["885"]["post_acute"], table5["999"]["weight"]) == (
        "1.3968",
        "No",
        "",
    )
    cms_text = _read(FIXTURES / "MS-DRG_FY2026_Table5_CMS_excerpt.txt", DRG_COLUMNS)
    assert [(r["drg"], r["weight"], r["post_acute"]) for r in cms_text][:2] == [
        ("001", "28.0239", "No"),
        ("291", "1.2838", "Yes"),
    ]
    assert cms_text[-1]["weight"] == "."  # CMS's "no value"
    anes = {(r["mac"], r["locality"]): r for r in _read(BUNDLED / "ANES2025.csv", ANESTHESIA_CF_COLUMNS)}
    assert (anes[("09102", "04")]["locality_name"], anes[("09102", "04")]["cf"]) == ("MIAMI", "22.39")
    assert anes[("09102", "99")]["cf"] == "20.73"
    units = {
        r["code"]: r["base_units"]
        for r in _read(BUNDLED / "CY_2022_Anesthesia_Base_Units_110921.txt", BASE_UNIT_COLUMNS)
    }
    assert units["00142"] == "4"
    clfs = {
        (r["hcpcs"], r["modifier"]): r["rate"] for r in _read(BUNDLED / "CLFS_2025_Q4V1.csv", CLFS_COLUMNS)
    }
    assert clfs[("80053", "")] == "00010.56"
    dme = [r for r in _read(BUNDLED / "DMEPOS26_JAN.xlsx", DMEPOS_COLUMNS) if r["hcpcs"] == "E0601"]
    assert [(r["modifier"], r["FL:nr"], r["FL:r"]) for r in dme] == [("RR", "51.94", "86.69")]
    zips = {
        r["zip"]: r
        for _, r in read_fixed_width(
            FIXTURES / "ZIP5_OCT2025_FL_excerpt.txt", ZIP5_LAYOUT, LoadSummary("t", "z")
        )
    }
    assert (zips["33125"]["locality"], zips["33602"]["locality"], zips["33001"]["rural"]) == ("04", "99", "R")
