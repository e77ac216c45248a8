"""Every dataset can be unloaded, by the same unit its loads are recorded under."""

from __future__ import annotations

import pytest

from services.pricing.importers import DATASETS, UnloadError
from services.pricing.importers.unload import TARGETED_LOADS, UNITS, check


def test_every_dataset_has_an_unload_unit_matching_how_its_loads_are_recorded() -> None:
    assert set(UNITS) == set(DATASETS)
    for name, dataset in DATASETS.items():
        unit = UNITS[name]
        assert (name in TARGETED_LOADS) == bool(dataset.named or dataset.targets), name
        assert unit.choices == dataset.targets, name
        if dataset.needs_year:
            assert unit.key == "year", name


@pytest.mark.parametrize(
    ("dataset", "year", "target", "message"),
    [
        ("clfs", None, None, "year: clfs is unloaded a year at a time; give the year to empty"),
        ("ipps-rates", None, None, "year: ipps-rates is unloaded a year at a time; give the year to empty"),
        ("zip5", 2025, None, "year: zip5 has no year; leave it out"),
        ("hpt", None, " ", "target: hpt is unloaded one observation source at a time; name it"),
        ("clfs", 2025, "x", "target: clfs has no target; leave it out"),
        ("mue", None, "dentists", "target: mue edit sets are practitioner, hospital, dme"),
    ],
)
def test_an_unload_names_the_parameter_it_lacks_or_does_not_take(
    dataset: str, year: int | None, target: str | None, message: str
) -> None:
    with pytest.raises(UnloadError, match=message):
        check(dataset, year, target)
