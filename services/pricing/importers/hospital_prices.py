"""Hospital price-transparency standard-charge files (CMS schema v3: tall CSV, wide CSV, JSON).

Per item (a service code and setting), as observations:

- ``standard_charge | gross`` → one ``charge``; ``standard_charge | discounted_cash`` → one ``cash``
  (once per item: tall rows repeat them on every payer row);
- per payer and plan, ``standard_charge | negotiated_dollar`` (JSON ``standard_charge_dollar``) → one
  ``allowed`` observation: what that payer's contract allows. A negotiated dollar whose methodology is
  ``per diem`` is a daily amount and is kept as ``per_diem`` instead, never compared with line dollars;
- per payer and plan, the allowed-amount ``median_amount`` / ``10th_percentile`` / ``90th_percentile``
  with their ``count`` → weighted ``allowed`` points (see ``service_codes.allowed_points``).

Placeholders (``999999999``, ``0``, negatives, ``N/A``) are skipped and counted in the load's notes
(:func:`~services.pricing.importers.observed.published_amount`); a bad payer field (a count that is not
a number) drops that payer's figures only, so a row's gross and cash are kept whatever its payer fields
hold. A row is rejected only when its code is not a service Parley compares (MS-DRG, NDC…) or it has no
usable amount at all.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

import ijson
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import (
    LoadSummary,
    Progress,
    ReferenceFileError,
    json_objects,
    json_strings,
    parse_date,
)
from services.pricing.importers.observed import Place, place_of, published_amount, start_observations
from services.pricing.importers.tables import open_json, open_text, peek_text
from services.pricing.observations import ObservationIn
from services.pricing.service_codes import allowed_points, cents, coded

PERCENTILE_FIELDS = ("median_amount", "10th_percentile", "90th_percentile", "count")
PLAN_FIELDS = ("negotiated_dollar", "methodology")
NOTHING = "no gross charge, cash price, negotiated dollars or allowed-amount percentiles"


def _count(value: Any) -> int | None:
    """``count`` as published: a number, or "1 through 10" for small counts (counted as 1)."""
    if value is None or str(value).strip() == "":
        return None
    raw = str(value).strip().lower()
    if raw.startswith("1 through"):
        return 1
    if raw.isdigit():
        return int(raw)
    raise ValueError("count is not a whole number")


def _setting(value: Any) -> str:
    return "professional" if str(value or "").strip().lower() == "professional" else "facility"


def _payer_observations(
    setting: str, code: str, where: Place, payer: dict[str, Any], summary: LoadSummary
) -> list[ObservationIn]:
    """One payer and plan's negotiated dollars and allowed-amount points; bad fields drop only themselves."""
    out: list[ObservationIn] = []
    dollars = published_amount(payer.get("negotiated_dollar"), "negotiated_dollar", summary)
    if dollars is not None:
        per_diem = str(payer.get("methodology") or "").strip().lower() == "per diem"
        kind = "per_diem" if per_diem else "allowed"
        out.append(ObservationIn(kind, setting, code, cents(dollars), 1, *where))
    median = published_amount(payer.get("median_amount"), "median_amount", summary)
    try:
        count = _count(payer.get("count"))
    except ValueError:
        summary.keep_out("allowed-amount percentiles kept out: count is not a whole number")
        return out
    if median is None or not count:
        return out
    p10 = published_amount(payer.get("10th_percentile"), "10th_percentile", summary)
    p90 = published_amount(payer.get("90th_percentile"), "90th_percentile", summary)
    for amount, weight in allowed_points(p10, median, p90, count):
        out.append(ObservationIn("allowed", setting, code, amount, weight, *where))
    return out


def item_observations(
    code: str,
    setting: str,
    standard: dict[str, Any],
    payers: list[dict[str, Any]],
    place: Place,
    summary: LoadSummary,
    *,
    first_of_item: bool,
) -> list[ObservationIn]:
    """The observations of one item's standard charges (``gross``, ``discounted_cash``) and its payers."""
    out: list[ObservationIn] = []
    if first_of_item:
        for kind, name in (("charge", "gross"), ("cash", "discounted_cash")):
            amount = published_amount(standard.get(name), name, summary)
            if amount is not None:
                out.append(ObservationIn(kind, setting, code, cents(amount), 1, *place))
    for payer in payers:
        out.extend(_payer_observations(setting, code, place, payer, summary))
    return out


def _hpt_key(name: str) -> str:
    return re.sub(r"\s*\|\s*", "|", name).strip().lower()


def _read_csv(fh: IO[str], name: str) -> tuple[dict[str, str], Iterator[tuple[int, dict[str, str]]]]:
    """The hospital facts (rows 1-2) and the item rows by normalised header name."""
    reader = csv.reader(fh)
    try:
        facts_header, facts, header = next(reader), next(reader), next(reader)
    except StopIteration as exc:
        raise ReferenceFileError(f"{name}: fewer than three rows: not a standard-charge CSV") from exc
    except csv.Error as exc:
        raise ReferenceFileError(f"{name}: line {reader.line_num}: not readable as CSV ({exc})") from exc
    keys = [_hpt_key(h) for h in header]
    if "description" not in keys or not any(k.startswith("code|") for k in keys):
        raise ReferenceFileError(f"{name}: row 3 has no description and code|1 columns (CMS v3 layout)")
    if "standard_charge|gross" not in keys:
        raise ReferenceFileError(f"{name}: no standard_charge|gross column")
    hospital = {_hpt_key(h): v for h, v in zip(facts_header, facts, strict=False)}

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, row in enumerate(reader, start=4):
                if any(c.strip() for c in row):
                    yield number, dict(zip(keys, row, strict=False))
        except csv.Error as exc:
            raise ReferenceFileError(f"{name}: line {reader.line_num}: not readable as CSV ({exc})") from exc

    return hospital, rows()


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split("|") if p.strip()]


def _item_code(row: dict[str, str]) -> tuple[str | None, str]:
    pairs = []
    i = 1
    while f"code|{i}" in row:
        pairs.append((row.get(f"code|{i}", ""), row.get(f"code|{i}|type", "")))
        i += 1
    return coded(pairs, _split(row.get("modifiers")))


def _csv_payers(row: dict[str, str]) -> list[dict[str, Any]]:
    """Tall rows carry one payer and plan; wide rows one set of columns per ``…|payer|plan|…``."""
    if "payer_name" in row:
        payer = {
            "negotiated_dollar": row.get("standard_charge|negotiated_dollar"),
            "methodology": row.get("standard_charge|methodology"),
        }
        payer.update({f: row.get(f) for f in PERCENTILE_FIELDS})
        return [payer]
    by_plan: dict[str, dict[str, Any]] = {}
    for key, value in row.items():
        parts = key.split("|")
        if len(parts) == 3 and parts[0] in PERCENTILE_FIELDS:
            by_plan.setdefault(f"{parts[1]}|{parts[2]}", {})[parts[0]] = value
        elif len(parts) == 4 and parts[0] == "standard_charge" and parts[3] in PLAN_FIELDS:
            by_plan.setdefault(f"{parts[1]}|{parts[2]}", {})[parts[3]] = value
    return list(by_plan.values())


def _try_date(value: str | None) -> date | None:
    try:
        return parse_date(value, "last_updated_on")
    except ValueError:
        return None


async def load_hpt_csv(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    """Tall or wide v3 CSV: the wide layout puts payer and plan into the column names."""
    known, writer = await start_observations(session, "hpt", summary)
    previous_item: tuple[str, ...] | None = None
    with open_text(path, summary, progress) as fh:
        hospital, rows = _read_csv(fh, path.name)
        updated = _try_date(hospital.get("last_updated_on"))
        place = place_of(
            _split(hospital.get("hospital_address")), _split(hospital.get("type_2_npi")), known, updated
        )
        for number, row in rows:
            code, why = _item_code(row)
            if code is None:
                summary.reject(number, why)
                continue
            standard = {
                "gross": row.get("standard_charge|gross", ""),
                "discounted_cash": row.get("standard_charge|discounted_cash", ""),
            }
            item = (
                code,
                row.get("setting", ""),
                standard["gross"].strip(),
                standard["discounted_cash"].strip(),
            )
            found = item_observations(
                code,
                _setting(row.get("billing_class")),
                standard,
                _csv_payers(row),
                place,
                summary,
                first_of_item=item != previous_item,
            )
            repeated = item == previous_item and bool(item[2] or item[3])
            previous_item = item
            if not found and not repeated:
                summary.reject(number, NOTHING)
                continue
            summary.rows_loaded += 1
            await writer.add(found)
    await writer.finish()


def _hospital_facts(path: Path, summary: LoadSummary) -> dict[str, Any]:
    """First pass over a JSON file: the hospital's addresses and NPIs, stopping once both are read."""
    facts: dict[str, Any] = {"hospital_address": [], "type_2_npi": [], "last_updated_on": None}
    with open_json(path, summary) as fh:
        try:
            for prefix, event, value in ijson.parse(fh):
                if prefix in ("hospital_address.item", "type_2_npi.item") and event == "string":
                    facts[prefix.split(".")[0]].append(value)
                elif prefix == "last_updated_on" and event == "string":
                    facts["last_updated_on"] = value
                elif (
                    prefix == "standard_charge_information"
                    and event == "start_array"
                    and facts["hospital_address"]
                ):
                    break
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    return facts


def _json_payers(charge: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**payer, "negotiated_dollar": payer.get("standard_charge_dollar")}
        for payer in json_objects(charge.get("payers_information"), "payers_information")
    ]


Charge = tuple[dict[str, Any], list[dict[str, Any]], list[str]]  # a standard charge, its payers, modifiers


def _json_item(item: Any) -> tuple[list[tuple[str, str]], list[Charge]]:
    """An item's (code, type) pairs and its standard charges, each with its payers and their modifiers.

    Raises ValueError naming a field of the wrong JSON type (a string where an object or an array
    belongs): the item is then rejected with that reason, and the load goes on.
    """
    if not isinstance(item, dict):
        raise ValueError("an item of standard_charge_information is not an object")
    pairs = [
        (str(c.get("code") or ""), str(c.get("type") or ""))
        for c in json_objects(item.get("code_information"), "code_information")
    ]
    charges: list[Charge] = []
    for charge in json_objects(item.get("standard_charges"), "standard_charges"):
        payers = _json_payers(charge)
        modifiers = [m for p in payers for m in json_strings(p.get("modifiers"), "modifiers")]
        charges.append((charge, payers, modifiers))
    return pairs, charges


async def load_hpt_json(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    known, writer = await start_observations(session, "hpt", summary)
    facts = _hospital_facts(path, summary)
    place = place_of(
        facts["hospital_address"], facts["type_2_npi"], known, _try_date(facts["last_updated_on"])
    )
    seen_items = False
    with open_json(path, summary, progress) as fh:
        try:
            for number, item in enumerate(ijson.items(fh, "standard_charge_information.item"), start=1):
                seen_items = True
                try:
                    pairs, charges = _json_item(item)
                except ValueError as exc:
                    summary.reject(number, str(exc))
                    continue
                for charge, payers, modifiers in charges:
                    code, why = coded(pairs, modifiers)
                    if code is None:
                        summary.reject(number, why)
                        continue
                    standard = {
                        "gross": charge.get("gross_charge"),
                        "discounted_cash": charge.get("discounted_cash"),
                    }
                    found = item_observations(
                        code,
                        _setting(charge.get("billing_class")),
                        standard,
                        payers,
                        place,
                        summary,
                        first_of_item=True,
                    )
                    if not found:
                        summary.reject(number, NOTHING)
                        continue
                    summary.rows_loaded += 1
                    await writer.add(found)
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    if not seen_items:
        raise ReferenceFileError(f"{path.name}: no standard_charge_information array (CMS v3 JSON layout)")
    await writer.finish()


async def load_hpt(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    """A v3 standard-charge file in either format: JSON when its first character is ``{``, else CSV."""
    loader = load_hpt_json if peek_text(path, 64).lstrip().startswith("{") else load_hpt_csv
    await loader(session, path, year, summary, progress)
