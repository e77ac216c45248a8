"""Transparency in Coverage allowed-amount files (``out_of_network``): per code and provider, the billed
charge (a ``charge`` observation) and the amount allowed (``allowed``). Streamed an item at a time; see
:mod:`services.pricing.importers.tic` for what the two kinds of TiC file hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ijson
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, ReferenceFileError, optional_decimal
from services.pricing.importers.observed import (
    LARGEST,
    ObservationWriter,
    Registry,
    provider_place,
    start_observations,
)
from services.pricing.importers.tables import open_json
from services.pricing.importers.tic import provider_group
from services.pricing.observations import ObservationIn
from services.pricing.service_codes import cents, coded


async def load_out_of_network(
    session: AsyncSession, path: Path, summary: LoadSummary, progress: Progress | None
) -> None:
    """Allowed-amount file: each provider's billed charge and the amount allowed."""
    known, writer = await start_observations(session, "tic", summary)
    with open_json(path, summary, progress) as fh:
        try:
            for number, item in enumerate(ijson.items(fh, "out_of_network.item"), start=1):
                await _allowed_item(number, item, known, writer, summary)
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    await writer.finish()


async def _allowed_item(
    number: int, item: dict[str, Any], known: Registry, writer: ObservationWriter, summary: LoadSummary
) -> None:
    for allowed in item.get("allowed_amounts", []):
        setting = "facility" if allowed.get("billing_class") == "institutional" else "professional"
        for payment in allowed.get("payments", []):
            code, why = coded(
                [(item.get("billing_code", ""), item.get("billing_code_type", ""))],
                payment.get("billing_code_modifier", []),
            )
            if code is None:
                summary.reject(number, why)
                continue
            try:
                amount = optional_decimal(payment.get("allowed_amount"), "allowed_amount")
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            for provider in payment.get("providers", []):
                place = provider_place(list(provider_group(provider).npis), known, None)
                try:
                    billed = optional_decimal(provider.get("billed_charge"), "billed_charge")
                except ValueError as exc:
                    summary.reject(number, str(exc))
                    continue
                found = [
                    ObservationIn(kind, setting, code, cents(value), 1, *place)
                    for kind, value in (("charge", billed), ("allowed", amount))
                    if value is not None and 0 < value <= LARGEST
                ]
                if not found:
                    summary.reject(number, "no billed charge or allowed amount")
                    continue
                summary.rows_loaded += 1
                await writer.add(found)
