"""Pricing's own settings, under the same ``PARLEY_`` prefix as everything else."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field, field_validator

from shared.codes import US_STATES
from shared.settings import Settings

BUNDLED_CMS_DIR = Path(__file__).parent / "data" / "cms2025"


class PricingSettings(Settings):
    fee_schedule_multipliers: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Per-jurisdiction fee schedule as a multiple of Medicare, e.g. "
        '{"FL": "1.40", "CA": "1.20"}. A jurisdiction not listed uses the default, if one is set.',
    )
    default_fee_schedule_multiplier: Decimal | None = Field(
        default=None,
        gt=0,
        description="Multiplier for jurisdictions not listed; unset means those bills are not priced by "
        "fee schedule and their lines are reported as unpriced.",
    )
    cms_dir: Path = Field(default=BUNDLED_CMS_DIR, description="Folder with the PPRRVU and GPCI files.")
    cms_year: int = Field(default=2025, ge=2000, le=2100)

    @field_validator("fee_schedule_multipliers")
    @classmethod
    def _known_jurisdictions(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        cleaned = {k.strip().upper(): v for k, v in value.items()}
        unknown = sorted(set(cleaned) - US_STATES)
        if unknown:
            raise ValueError(f"unknown jurisdictions: {', '.join(unknown)}")
        if any(v <= 0 for v in cleaned.values()):
            raise ValueError("multipliers must be greater than zero")
        return cleaned

    def multiplier_for(self, jurisdiction: str) -> tuple[Decimal, str] | None:
        """The multiplier and where it came from, or None when the jurisdiction has no fee schedule."""
        if jurisdiction in self.fee_schedule_multipliers:
            return self.fee_schedule_multipliers[jurisdiction], f"{jurisdiction} fee schedule"
        if self.default_fee_schedule_multiplier is not None:
            return self.default_fee_schedule_multiplier, "default fee schedule"
        return None
