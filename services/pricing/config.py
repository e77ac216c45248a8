"""Pricing's own settings, under the same ``PARLEY_`` prefix as everything else.

Fee schedules, contracts, networks and client settings are reference data (``parley pricing load``),
not settings: they change with business, not with deployments.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.settings import Settings

BUNDLED_CMS_DIR = Path(__file__).parent / "data" / "cms2025"


class PricingSettings(Settings):
    cms_dir: Path = Field(
        default=BUNDLED_CMS_DIR, description="Folder with the PPRRVU, GPCI, LOCCO and OPPS Addendum B files."
    )
    cms_year: int = Field(default=2025, ge=2000, le=2100)
    reference_manifest: Path | None = Field(
        default=None,
        description="A JSON manifest of reference files loaded at start-up (skipped when already loaded): "
        "how the dev stack and the tests seed fee schedules, contracts and observations.",
    )
    uc_percentile: int = Field(
        default=80, ge=1, le=99, description="Default U&C percentile (per client too)."
    )
    uc_basis: Literal["charges", "allowed"] = Field(
        default="charges", description="Default U&C basis: billed charges observed, or allowed amounts paid."
    )
    uc_min_observations: int = Field(
        default=10, ge=1, description="A U&C scope with fewer observations is too thin: the review widens."
    )
    uc_far_above_factor: Decimal = Field(
        default=Decimal("2.0"), gt=1, description="A charge above this × the line's U&C median is a finding."
    )
    uc_fold_seconds: float = Field(
        default=0.5, gt=0, description="How often new in-house observations are folded into the U&C cells."
    )
