"""Transparency in Coverage files: payers' in-network rates and out-of-network allowed amounts.

Both are JSON, tens of gigabytes in real life, so they are read an item at a time (ijson, its C parser)
and written in batches: memory is bounded by the largest single item (one billing code with its rates),
never by the file (``bench/reference_files.py`` measures it). Which one a file is, is read from its
top-level array: ``in_network`` or ``out_of_network``. Observations are dated by the file's
``last_updated_on`` when it precedes that array (as the schema orders it).

**Allowed amounts** (``out_of_network``): per code and provider, the billed charge (a ``charge``
observation) and the amount allowed (``allowed``).

**In-network rates** (``in_network``): what a payer contracted with each provider for a code, as
evidence of what payers allow. Per ``negotiated_type``:

- ``negotiated``: a dollar rate → an ``allowed`` observation for the code, setting and provider;
- ``percentage``: a share of billed charges → ``percent_of_billed`` (65.00 means 65%), never dollars;
- ``per diem``: a daily amount → ``per_diem``, never compared with line dollars;
- ``derived`` (an internal accounting price, not a payment) and ``fee schedule`` (the plan's basis for
  the member's cost sharing when it differs from the negotiated rate) are kept out, counted in the notes;
- a rate whose ``expiration_date`` is before the file's own ``last_updated_on`` (the day of the load when
  the file gives none) is kept out, counted in the notes: the file itself says it was no longer what the
  payer allowed (a rate is in force through its expiration date; ``9999-12-31`` means none). Rates in
  force on the file's date are evidence of what the payer allowed then, dated by it, however old the file
  is: U&C observations are history (a 2024 file says what was allowed in 2024). The same file loaded
  later keeps its first load (same content is not reloaded).

Only fee-for-service items (``negotiation_arrangement`` ``ffs``) are a price for one service; bundles and
capitation are counted in the notes. ``billing_class`` sets the setting (``professional``,
``institutional`` → facility, ``both`` → one of each). Providers come inline (``provider_groups``) or
by reference to the top-level ``provider_references`` (read in a first pass into a temporary table and
joined in the database, so their number does not matter). One observation stands for one contract: a
provider group entry (its TIN and NPIs), at the place of its first registered NPI. ``"npi": [0]`` is a
contract with the TIN as a whole: no NPI is recorded, never a provider with NPI 0.

This module reads the in-network rates (pure: items in, prices out); :mod:`~.tic_load` tells the two
kinds of file apart and loads in-network rates, :mod:`~.tic_allowed` loads allowed amounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.pricing.importers.base import (
    LoadSummary,
    json_objects,
    json_strings,
    optional_decimal,
    parse_date,
)
from services.pricing.importers.observed import LARGEST
from services.pricing.service_codes import cents, coded

RATE_KINDS = {"negotiated": "allowed", "percentage": "percent_of_billed", "per diem": "per_diem"}
KEPT_OUT_TYPES = {
    "derived": "in-network rates kept out of U&C: derived (an internal accounting price, not a payment)",
    "fee schedule": "in-network rates kept out of U&C: fee schedule (the member's cost-sharing basis)",
}
SETTINGS = {
    "professional": ("professional",),
    "institutional": ("facility",),
    "both": ("professional", "facility"),
}


@dataclass(frozen=True)
class ProviderGroup:
    """One contract: a TIN and its NPIs (none when the contract is with the TIN as a whole)."""

    npis: tuple[str, ...]
    tin: str | None


@dataclass(frozen=True)
class InNetworkPrice:
    """One negotiated price of one in-network item, for one setting, with its providers."""

    item: int  # position of the item in ``in_network`` (1-based): the "row" of a rejection
    kind: str  # allowed | percent_of_billed | per_diem
    setting: str  # professional | facility
    code: str
    amount: Decimal  # dollars, or a percentage for percent_of_billed
    references: tuple[int, ...]  # provider_group_id values to resolve
    groups: tuple[ProviderGroup, ...]  # inline provider groups


def provider_group(raw: dict[str, Any]) -> ProviderGroup:
    """A provider group entry; NPI 0 (a TIN-level contract) and blanks are not NPIs."""
    listed = raw.get("npi")
    npis = tuple(
        s for n in (listed if isinstance(listed, list) else []) if (s := str(n).strip()) and s.strip("0")
    )
    tin_field = raw.get("tin")
    tin = tin_field.get("value") if isinstance(tin_field, dict) else None
    return ProviderGroup(npis, str(tin).strip() if tin else None)


def _references(raw: Any) -> tuple[int, ...]:
    out = []
    for value in raw or []:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            out.append(int(value))
    return tuple(out)


def _price(
    number: int, code: str, price: dict[str, Any], as_of: date, summary: LoadSummary
) -> tuple[str, Decimal] | None:
    """The kind and amount of one negotiated price, or None (kept out and counted, or rejected)."""
    negotiated_type = str(price.get("negotiated_type") or "").strip().lower()
    if negotiated_type in KEPT_OUT_TYPES:
        summary.keep_out(KEPT_OUT_TYPES[negotiated_type])
        return None
    kind = RATE_KINDS.get(negotiated_type)
    if kind is None:
        summary.reject(
            number,
            f"negotiated_type {negotiated_type!r}: not negotiated, derived, fee schedule, "
            "percentage or per diem",
        )
        return None
    try:
        expires = parse_date(price.get("expiration_date"), "expiration_date")
        amount = optional_decimal(price.get("negotiated_rate"), "negotiated_rate")
    except ValueError as exc:
        summary.reject(number, f"{code}: {exc}")
        return None
    if expires is not None and expires < as_of:
        summary.keep_out(
            f"in-network rates kept out of U&C: expired before the file's date {as_of.isoformat()}"
        )
        return None
    if amount is None or amount <= 0 or amount > LARGEST:
        summary.reject(number, f"{code}: negotiated_rate is not a positive amount")
        return None
    return kind, cents(amount)


def in_network_prices(items: Iterable[Any], as_of: date, summary: LoadSummary) -> Iterator[InNetworkPrice]:
    """Every price of the ``in_network`` items that is evidence of what the payer allows (module doc).

    An item with a field of the wrong JSON type (a string where an object or an array belongs) is
    rejected with the field named, before any of its prices is taken; the load goes on."""
    for number, item in enumerate(items, start=1):
        try:
            prices = _item_prices(number, item, as_of, summary)
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        yield from prices


def _item_prices(number: int, item: Any, as_of: date, summary: LoadSummary) -> list[InNetworkPrice]:
    """The prices of one ``in_network`` item; ValueError names a field of the wrong JSON type."""
    if not isinstance(item, dict):
        raise ValueError("an item of in_network is not an object")
    arrangement = str(item.get("negotiation_arrangement") or "ffs").strip().lower()
    if arrangement != "ffs":
        summary.keep_out(
            f"in-network items kept out: {arrangement} "
            "(a price for a bundle or per member, not for one service)"
        )
        return []
    pairs = [(str(item.get("billing_code") or ""), str(item.get("billing_code_type") or ""))]
    service, why = coded(pairs)
    if service is None:
        summary.reject(number, why)
        return []
    found: list[InNetworkPrice] = []
    for rate in json_objects(item.get("negotiated_rates"), "negotiated_rates"):
        references = _references(rate.get("provider_references"))
        groups = tuple(
            provider_group(g) for g in json_objects(rate.get("provider_groups"), "provider_groups")
        )
        for price in json_objects(rate.get("negotiated_prices"), "negotiated_prices"):
            modifiers = json_strings(price.get("billing_code_modifier"), "billing_code_modifier")
            priced = _price(number, service, price, as_of, summary)
            if priced is None:
                continue
            code = coded(pairs, modifiers)[0] or service
            billing_class = str(price.get("billing_class") or "").strip().lower()
            settings = SETTINGS.get(billing_class)
            if settings is None:
                summary.reject(
                    number,
                    f"{code}: billing_class {billing_class!r}: not professional, institutional or both",
                )
                continue
            found += [
                InNetworkPrice(number, priced[0], setting, code, priced[1], references, groups)
                for setting in settings
            ]
    return found
