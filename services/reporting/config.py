"""Reporting's own settings, under the same ``PARLEY_`` prefix as everything else.

Fee terms are business data (``POST /v1/clients/{client_id}/fee-terms``), not settings.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.settings import Settings


class ReportingSettings(Settings):
    reporting_timezone: str = Field(
        default="UTC",
        description="The time zone whose calendar days, weeks and months the KPIs are counted in "
        "(an IANA name such as America/New_York).",
    )
    reporting_fold_seconds: float = Field(
        default=0.5, gt=0, description="How often the consumers' deltas are folded into the KPI tables."
    )
    weekly_report_weekday: int = Field(
        default=0, ge=0, le=6, description="Day the weekly reports of the past week are made (0 = Monday)."
    )
    weekly_report_hour: int = Field(
        default=6, ge=0, le=23, description="Hour (reporting time zone) the weekly reports are made."
    )
    weekly_reports_enabled: bool = Field(
        default=True, description="Make every client's weekly report on the schedule."
    )

    @field_validator("reporting_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.reporting_timezone)
