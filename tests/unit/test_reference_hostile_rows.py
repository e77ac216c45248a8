"""Rows and items of observation files that a load cannot keep as they are: each is rejected with the
field named, never a crash of the load (a bare 500 over HTTP) nor a stored value the tables cannot hold
or a $0.00 observation. Found by trying the reference-load path with hostile files: JSON values of the
wrong type in TiC and hospital files, amounts and weights beyond their columns in the generic CSV."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.pricing.importers import LoadSummary
from services.pricing.importers.base import ReferenceFileError
from services.pricing.importers.hospital_prices import _json_item
from services.pricing.importers.observation_files import observation_from_row
from services.pricing.importers.tic import in_network_prices

ITEM = {
    "negotiation_arrangement": "ffs",
    "name": "x",
    "billing_code_type": "CPT",
    "billing_code_type_version": "2026",
    "billing_code": "10000",
    "description": "x",
}


@pytest.mark.parametrize(
    "item",
    ["bad", {**ITEM, "negotiated_rates": "bad"}, {**ITEM, "negotiated_rates": ["bad"]}],
    ids=["item-is-a-string", "rates-is-a-string", "rate-is-a-string"],
)
def test_a_wrongly_typed_in_network_item_is_rejected_or_refused(item: Any) -> None:
    summary = LoadSummary("tic", "upload-tic", "t")
    try:
        list(in_network_prices(iter([item]), date(2026, 11, 30), summary))
    except ReferenceFileError:
        return  # refused with a reason: a 422
    assert summary.rows_rejected == 1


ROW = {"kind": "charge", "setting": "professional", "code": "99213", "amount": "120", "state": "ID"}


@pytest.mark.parametrize(
    "change",
    [
        {"weight": "99999999999"},  # over the integer column: a 500 (NumericValueOutOfRangeError)
        {"amount": "1e20"},  # over numeric(12,2): a 500
        {"amount": "99999999999.99"},  # over numeric(12,2): a 500
        {"amount": "1e30"},  # beyond the decimal context's precision once rounded to cents
        {"amount": "0.001"},  # stored as a 0.00 observation, counted in the percentiles
        {"units": "1e9"},  # 120 / 1e9 per unit: stored as 0.00 too
    ],
    ids=[
        "weight-too-large",
        "amount-1e20",
        "amount-12-digits",
        "amount-1e30",
        "amount-rounds-to-zero",
        "unit-rounds-to-zero",
    ],
)
def test_a_generic_observation_row_the_tables_cannot_keep_is_rejected(change: dict[str, str]) -> None:
    """The generic observation CSV: a row whose amount or weight the tables cannot hold, or whose
    per-unit amount rounds to 0.00, is a rejected row (named in the load's answer), never a 500 nor a
    zero-dollar observation."""
    with pytest.raises(ValueError, match=r"weight|amount|units"):
        observation_from_row({**ROW, **change}, {})


HPT_ITEM = {
    "description": "x",
    "code_information": [{"code": "99213", "type": "CPT"}],
    "standard_charges": [{"setting": "outpatient", "gross_charge": 100, "payers_information": []}],
}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ("bad", "not an object"),
        ({**HPT_ITEM, "code_information": "99213"}, "code_information"),
        ({**HPT_ITEM, "standard_charges": "bad"}, "standard_charges"),
        ({**HPT_ITEM, "standard_charges": [{"payers_information": "bad"}]}, "payers_information"),
        ({**HPT_ITEM, "standard_charges": [{"payers_information": [{"modifiers": "26"}]}]}, "modifiers"),
    ],
    ids=["item-is-a-string", "codes-a-string", "charges-a-string", "payers-a-string", "modifiers-a-string"],
)
def test_a_wrongly_typed_hospital_json_item_names_its_field(item: Any, field: str) -> None:
    """A hospital's v3 JSON item of the wrong shape: a ValueError naming the field (the loader rejects
    that item and goes on), never an AttributeError (a 500 over HTTP, found by the attack session)."""
    with pytest.raises(ValueError, match=field):
        _json_item(item)


def test_a_numeric_hospital_json_code_is_read_as_its_text() -> None:
    pairs, charges = _json_item({**HPT_ITEM, "code_information": [{"code": 99213, "type": "CPT"}]})
    assert pairs == [("99213", "CPT")]
    assert len(charges) == 1
