"""Charge and allowance observations from price-transparency files and in-house exports.

Hospital standard-charge files (CMS schema v3: tall CSV, wide CSV, JSON) give each item's gross charge
(one charge observation) and, per payer and plan, the median/10th/90th percentile of allowed amounts with
their count (reconstructed as weighted allowed observations, see ``allowed_points``). Transparency in
Coverage allowed-amount files give billed charge and allowed amount pairs per provider. A generic CSV
(``kind, setting, code, amount, units, state, zip, facility_npi, observed_on``) takes any other export.

Everything streams: CSV row by row, JSON item by item (ijson), written in batches through COPY. Loading a
source again replaces its observations (and their cells) in the same transaction.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import ijson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import (
    LoadSummary,
    Progress,
    ReferenceFileError,
    decimal,
    open_binary,
    open_text,
    optional_decimal,
    parse_date,
    read_csv_rows,
)
from services.pricing.observations import ObservationIn, create_staging, fold_staged, stage, withdraw
from services.pricing.service_codes import COMPONENT_MODIFIERS, allowed_points, cents, coded, service_code
from shared.codes import US_STATES

BATCH = 20000
_ADDRESS = re.compile(r"\b([A-Z]{2})\s+(\d{5})(?:-\d{4})?\s*$")


@dataclass(frozen=True)
class Place:
    state: str | None = None
    zip3: str | None = None
    facility_npi: str | None = None
    observed_on: date | None = None


@dataclass
class _Writer:
    session: AsyncSession
    origin: str
    source: str
    summary: LoadSummary
    pending: list[ObservationIn] = field(default_factory=list)

    async def add(self, rows: list[ObservationIn]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= BATCH:
            await stage(self.session, self.origin, self.source, self.pending)
            self.pending = []

    async def finish(self) -> None:
        await stage(self.session, self.origin, self.source, self.pending)
        self.pending = []
        await fold_staged(self.session)


async def _registry(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """NPI → (state, ZIP3) of every registered facility: where an observation without an address was."""
    rows = await session.execute(text("SELECT npi, state, left(zip, 3) FROM pricing.facilities"))
    return {r[0]: (r[1], r[2]) for r in rows}


def place_of(
    addresses: list[str], npis: list[str], registry: dict[str, tuple[str, str]], on: date | None
) -> Place:
    """A hospital's state and ZIP3 when all its addresses agree, and its first registered NPI."""
    found = [m.groups() for a in addresses if (m := _ADDRESS.search(a.strip().upper()))]
    states = {s for s, _ in found if s in US_STATES}
    zips = {z[:3] for _, z in found}
    known = next((n for n in npis if n in registry), None)
    state = states.pop() if len(states) == 1 else None
    zip3 = zips.pop() if len(zips) == 1 else None
    if known and (state is None or zip3 is None):
        state, zip3 = state or registry[known][0], zip3 or registry[known][1]
    return Place(state, zip3, known or (npis[0] if npis else None), on)


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


def _hpt_observations(
    code: str, setting: str, gross: Any, summaries: list[dict[str, Any]], place: Place, first_of_item: bool
) -> list[ObservationIn]:
    out: list[ObservationIn] = []
    base = ObservationIn(
        "charge", setting, code, Decimal(0), 1, place.state, place.zip3, place.facility_npi, place.observed_on
    )
    gross_amount = optional_decimal(gross, "standard_charge|gross")
    if first_of_item and gross_amount is not None and gross_amount > 0:
        out.append(replace(base, amount=cents(gross_amount)))
    for payer in summaries:
        median = optional_decimal(payer.get("median_amount"), "median_amount")
        count = _count(payer.get("count"))
        if median is None or not count or median <= 0:
            continue
        p10 = optional_decimal(payer.get("10th_percentile"), "10th_percentile")
        p90 = optional_decimal(payer.get("90th_percentile"), "90th_percentile")
        for amount, weight in allowed_points(p10, median, p90, count):
            out.append(replace(base, kind="allowed", amount=amount, weight=weight))
    return out


def _setting(value: str | None) -> str:
    return "professional" if (value or "").strip().lower() == "professional" else "facility"


def _hpt_key(name: str) -> str:
    return re.sub(r"\s*\|\s*", "|", name).strip().lower()


def _read_hpt_csv(fh: IO[str], name: str) -> tuple[dict[str, str], Iterator[tuple[int, dict[str, str]]]]:
    """The hospital facts (rows 1-2) and the item rows by normalised header name."""
    reader = csv.reader(fh)
    try:
        facts_header, facts, header = next(reader), next(reader), next(reader)
    except StopIteration as exc:
        raise ReferenceFileError(f"{name}: fewer than three rows: not a standard-charge CSV") from exc
    keys = [_hpt_key(h) for h in header]
    if "description" not in keys or not any(k.startswith("code|") for k in keys):
        raise ReferenceFileError(f"{name}: row 3 has no description and code|1 columns (CMS v3 layout)")
    if "standard_charge|gross" not in keys:
        raise ReferenceFileError(f"{name}: no standard_charge|gross column")
    hospital = {_hpt_key(h): v for h, v in zip(facts_header, facts, strict=False)}

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, row in enumerate(reader, start=4):
            if any(c.strip() for c in row):
                yield number, dict(zip(keys, row, strict=False))

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


async def load_hpt_csv(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    """Tall or wide v3 CSV: the wide layout puts payer and plan into the column names."""
    registry, writer = await _start(session, "hpt", summary)
    previous_item: tuple[str, str, str] | None = None
    with open_text(path, progress) as fh:
        hospital, rows = _read_hpt_csv(fh, path.name)
        updated = _try_date(hospital.get("last_updated_on"))
        place = place_of(
            _split(hospital.get("hospital_address")), _split(hospital.get("type_2_npi")), registry, updated
        )
        for number, row in rows:
            code, why = _item_code(row)
            if code is None:
                summary.reject(number, why)
                continue
            setting = _setting(row.get("billing_class"))
            item = (code, row.get("setting", ""), row.get("standard_charge|gross", ""))
            try:
                found = _hpt_observations(
                    code,
                    setting,
                    row.get("standard_charge|gross"),
                    _payer_summaries(row),
                    place,
                    item != previous_item,
                )
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            repeated_gross = item == previous_item and bool(item[2].strip())
            previous_item = item
            if not found and not repeated_gross:
                summary.reject(number, "no gross charge and no allowed-amount percentiles with a count")
                continue
            summary.rows_loaded += 1
            await writer.add(found)
    await writer.finish()


def _payer_summaries(row: dict[str, str]) -> list[dict[str, Any]]:
    """Tall rows carry one payer's median/percentiles; wide rows one set per ``…|payer|plan`` column."""
    if "median_amount" in row:
        return [row]
    by_plan: dict[str, dict[str, Any]] = {}
    for key, value in row.items():
        head, _, plan = key.partition("|")
        if head in ("median_amount", "10th_percentile", "90th_percentile", "count") and plan:
            by_plan.setdefault(plan, {})[head] = value
    return list(by_plan.values())


def _try_date(value: str | None) -> date | None:
    try:
        return parse_date(value, "last_updated_on")
    except ValueError:
        return None


def _hospital_facts(path: Path) -> dict[str, Any]:
    """First pass over a JSON file: the hospital's addresses and NPIs, stopping once both are read."""
    facts: dict[str, Any] = {"hospital_address": [], "type_2_npi": [], "last_updated_on": None}
    with open_binary(path) as fh:
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


async def load_hpt_json(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    registry, writer = await _start(session, "hpt", summary)
    facts = _hospital_facts(path)
    place = place_of(
        facts["hospital_address"], facts["type_2_npi"], registry, _try_date(facts["last_updated_on"])
    )
    seen_items = False
    with open_binary(path, progress) as fh:
        try:
            for number, item in enumerate(ijson.items(fh, "standard_charge_information.item"), start=1):
                seen_items = True
                pairs = [(c.get("code", ""), c.get("type", "")) for c in item.get("code_information", [])]
                for charge in item.get("standard_charges", []):
                    payers = charge.get("payers_information", [])
                    modifiers = [m for p in payers for m in p.get("modifiers", [])]
                    code, why = coded(pairs, modifiers)
                    if code is None:
                        summary.reject(number, why)
                        continue
                    try:
                        found = _hpt_observations(
                            code,
                            _setting(charge.get("billing_class")),
                            charge.get("gross_charge"),
                            payers,
                            place,
                            True,
                        )
                    except ValueError as exc:
                        summary.reject(number, str(exc))
                        continue
                    if not found:
                        summary.reject(
                            number, "no gross charge and no allowed-amount percentiles with a count"
                        )
                        continue
                    summary.rows_loaded += 1
                    await writer.add(found)
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    if not seen_items:
        raise ReferenceFileError(f"{path.name}: no standard_charge_information array (CMS v3 JSON layout)")
    await writer.finish()


async def load_tic_allowed(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    """Transparency in Coverage allowed-amount file: each provider's billed charge and the allowed amount."""
    registry, writer = await _start(session, "tic", summary)
    seen_items = False
    with open_binary(path, progress) as fh:
        try:
            for number, item in enumerate(ijson.items(fh, "out_of_network.item"), start=1):
                seen_items = True
                for allowed in item.get("allowed_amounts", []):
                    setting = (
                        "facility" if allowed.get("billing_class") == "institutional" else "professional"
                    )
                    for payment in allowed.get("payments", []):
                        code, why = coded(
                            [(item.get("billing_code", ""), item.get("billing_code_type", ""))],
                            payment.get("billing_code_modifier", []),
                        )
                        if code is None:
                            summary.reject(number, why)
                            continue
                        amount = optional_decimal(payment.get("allowed_amount"), "allowed_amount")
                        for provider in payment.get("providers", []):
                            npis = [str(n) for n in provider.get("npi", [])]
                            known = next((n for n in npis if n in registry), None)
                            state, zip3 = registry[known] if known else (None, None)
                            base = ObservationIn(
                                "charge",
                                setting,
                                code,
                                Decimal(0),
                                1,
                                state,
                                zip3,
                                known or (npis[0] if npis else None),
                            )
                            billed = optional_decimal(provider.get("billed_charge"), "billed_charge")
                            found = [
                                replace(base, kind=k, amount=cents(v))
                                for k, v in (("charge", billed), ("allowed", amount))
                                if v is not None and v > 0
                            ]
                            if not found:
                                summary.reject(number, "no billed charge or allowed amount")
                                continue
                            summary.rows_loaded += 1
                            await writer.add(found)
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    if not seen_items:
        raise ReferenceFileError(
            f"{path.name}: no out_of_network array (Transparency in Coverage allowed amounts)"
        )
    await writer.finish()


OBSERVATION_COLUMNS = {
    "kind": ("kind",),
    "setting": ("setting",),
    "code": ("code",),
    "amount": ("amount",),
}
OBSERVATION_OPTIONAL = {
    "units": ("units",),
    "state": ("state",),
    "zip": ("zip",),
    "facility_npi": ("facility_npi",),
    "observed_on": ("observed_on",),
    "weight": ("weight",),
}


def observation_from_row(row: dict[str, str], registry: dict[str, tuple[str, str]]) -> ObservationIn:
    kind = row["kind"].lower()
    if kind not in ("charge", "allowed"):
        raise ValueError("kind: expected charge or allowed")
    setting = row["setting"].lower()
    if setting not in ("professional", "facility"):
        raise ValueError("setting: expected professional or facility")
    raw_code = row["code"].strip().upper()
    if raw_code.startswith("RC"):
        code = service_code(None, raw_code[2:])
    else:
        base, _, component = raw_code.partition("-")
        code = service_code(base, None, [component]) if component in ("", *COMPONENT_MODIFIERS) else None
    if code is None:
        raise ValueError("code: not a CPT/HCPCS code (optionally -26 or -TC) or RC + a revenue code")
    amount = decimal(row["amount"], "amount")
    units = decimal(row.get("units") or "1", "units")
    if amount <= 0 or units <= 0:
        raise ValueError("amount: amount and units must be greater than zero")
    weight = row.get("weight") or "1"
    if not weight.isdigit() or int(weight) < 1:
        raise ValueError("weight: a whole number of observations, at least 1")
    state = (row.get("state") or "").upper() or None
    if state is not None and state not in US_STATES:
        raise ValueError("state: not a US state code")
    zip_code = (row.get("zip") or "").strip()
    if zip_code and not (zip_code[:5].isdigit() and len(zip_code) >= 5):
        raise ValueError("zip: not a ZIP code")
    npi = row.get("facility_npi") or None
    if npi in registry and state is None:
        state, zip_from_registry = registry[npi]
        zip_code = zip_code or zip_from_registry
    return ObservationIn(
        kind=kind,
        setting=setting,
        code=code,
        amount=cents(amount / units),
        weight=int(weight),
        state=state,
        zip3=zip_code[:3] or None,
        facility_npi=npi,
        observed_on=parse_date(row.get("observed_on"), "observed_on"),
    )


async def load_observations_csv(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    registry, writer = await _start(session, "file", summary)
    with open_text(path, progress) as fh:
        for number, row in read_csv_rows(fh, OBSERVATION_COLUMNS, path.name, optional=OBSERVATION_OPTIONAL):
            if isinstance(row, str):
                summary.reject(number, row)
                continue
            try:
                observation = observation_from_row(row, registry)
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            summary.rows_loaded += 1
            await writer.add([observation])
    await writer.finish()


async def _start(
    session: AsyncSession, origin: str, summary: LoadSummary
) -> tuple[dict[str, tuple[str, str]], _Writer]:
    """Every observation load begins alike: take out the source's earlier rows, read the registry."""
    await create_staging(session)
    await withdraw(session, origin, summary.target)
    return await _registry(session), _Writer(session, origin, summary.target, summary)
