"""Per-client negotiation settings: routing threshold, opening strategy, settlement authority, quick-pay,
offer validity, follow-ups, automatic offers and who confirms and countersigns for the payer.

An admin sets a client's settings over the API (``PUT /v1/clients/{client_id}/settings``); a client
without a row, or a field left out, gets the defaults below (documented in the README). Percentages are
percent (``80`` is 80 %); money is dollars; day counts are business days unless named otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation.models import ClientSettings as ClientSettingsRow
from shared.codes import Amount
from shared.contracts import Signer

Percent = Decimal


class StrategyLimits(BaseModel):
    """How the opening offer follows the provider's history (services/negotiation/strategy.py)."""

    model_config = ConfigDict(extra="forbid")

    min_history: int = Field(
        default=3, ge=1, le=100, description="Accepted payments needed before history moves the opening."
    )
    history_window: int = Field(
        default=10, ge=1, le=200, description="The provider's most recent accepted payments considered."
    )
    floor_percent_of_target: Percent = Field(
        default=Decimal("90"), gt=0, le=200, description="Lowest opening, as % of the U&C target."
    )
    ceiling_percent_of_target: Percent = Field(
        default=Decimal("110"), gt=0, le=300, description="Highest opening, as % of the U&C target."
    )

    @model_validator(mode="after")
    def _ordered(self) -> StrategyLimits:
        if self.floor_percent_of_target > self.ceiling_percent_of_target:
            raise ValueError("floor_percent_of_target must not exceed ceiling_percent_of_target")
        return self


class Authority(BaseModel):
    """What a negotiator may offer or accept alone; beyond the lowest of these, a supervisor approves.

    A rule set to null does not apply. Supervisors are not limited by these rules (they approve)."""

    model_config = ConfigDict(extra="forbid")

    max_percent_of_billed: Percent | None = Field(
        default=Decimal("80"), gt=0, le=100, description="At most this % of billed charges."
    )
    max_percent_over_target: Percent | None = Field(
        default=Decimal("10"),
        ge=0,
        le=500,
        description="At most the U&C target (plus unpriced lines at billed) and this % over it.",
    )
    max_amount: Amount | None = Field(default=Decimal("25000.00"), description="An absolute limit, dollars.")


class QuickPayTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    discount_percent: Percent = Field(gt=0, lt=100, description="Further discount off the agreed amount.")
    pay_within_days: int = Field(ge=1, le=90, description="Business days after execution.")


class Settings(BaseModel):
    """A client's negotiation settings. Every field has a default; see the README for why each."""

    model_config = ConfigDict(extra="forbid")

    audit_threshold: Amount = Field(
        default=Decimal("100.00"),
        description="Audit findings (duplicates, NCCI, MUE, modifiers) putting more than this many dollars "
        "at stake route the bill to audit before anyone negotiates.",
    )
    strategy: StrategyLimits = Field(default_factory=StrategyLimits)
    authority: Authority = Field(default_factory=Authority)
    auto_offer_ceiling: Amount = Field(
        default=Decimal("0.00"),
        description="Bills billed at or under this many dollars get the strategy's opening offer "
        "automatically when they route to negotiate. 0 turns automatic offers off.",
    )
    quick_pay_tiers: list[QuickPayTier] = Field(
        default_factory=lambda: [QuickPayTier(discount_percent=Decimal("5"), pay_within_days=10)],
        max_length=5,
        description="Quick-pay incentives a payer offer may carry, best first; empty: no quick-pay.",
    )
    offer_validity_days: int = Field(
        default=10, ge=1, le=90, description="Business days a payer offer stays open (US federal calendar)."
    )
    follow_up_days: list[int] = Field(
        default_factory=lambda: [3, 7],
        max_length=5,
        description="Business days after a payer offer at which an unanswered offer raises a follow-up.",
    )
    payment_terms_days: int = Field(
        default=30, ge=1, le=180, description="Calendar days after execution within which the payer pays."
    )
    countersigner: Signer | None = Field(
        default=None, description="Who countersigns the settlement agreement for the payer."
    )

    @model_validator(mode="after")
    def _follow_ups_within_validity(self) -> Settings:
        for days in self.follow_up_days:
            if not 1 <= days < self.offer_validity_days:
                raise ValueError(
                    f"follow_up_days must lie between 1 and offer_validity_days - 1 "
                    f"({self.offer_validity_days - 1}); {days} does not"
                )
        return self


DEFAULTS = Settings()


async def settings_for(session: AsyncSession, client_id: str) -> Settings:
    """The client's settings, defaults where it set nothing."""
    row = await session.get(ClientSettingsRow, client_id)
    return settings_of(row.settings if row is not None else None)


def settings_of(stored: dict[str, Any] | None) -> Settings:
    """Settings from a client's stored overrides (None: the client set nothing)."""
    return Settings.model_validate(stored) if stored is not None else DEFAULTS


async def stored_overrides(
    session: AsyncSession, client_id: str
) -> tuple[dict[str, Any], ClientSettingsRow | None]:
    row = await session.get(ClientSettingsRow, client_id)
    return (dict(row.settings) if row else {}), row


async def save(session: AsyncSession, client_id: str, overrides: dict[str, Any], by: str) -> Settings:
    """Replace the client's settings with ``overrides`` (validated; unset fields take the defaults)."""
    effective = Settings.model_validate(overrides)
    stmt = pg_insert(ClientSettingsRow).values(
        client_id=client_id, settings=overrides, updated_by=by, updated_at=datetime.now(UTC)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[ClientSettingsRow.client_id],
        set_={"settings": stmt.excluded.settings, "updated_by": by, "updated_at": stmt.excluded.updated_at},
    )
    await session.execute(stmt)
    return effective
