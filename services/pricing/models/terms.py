"""Who pays what: jurisdiction fee schedules, PPO contracts and direct agreements, custom networks.

A fee schedule is a multiple of Medicare for a jurisdiction and, optionally, one line of business:
professional lines × the physician fee schedule, outpatient facility lines × OPPS, lab × CLFS, DME ×
DMEPOS, anesthesia × Medicare's (or its own) conversion factor, inpatient stays a percent of Medicare
IPPS or a per diem. The facilities it exempts are listed with it. A contract (PPO or direct
agreement) belongs to a provider (TIN, optionally one NPI) and reaches a client only through the
client's custom network.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, Numeric, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.pricing.models.base import Base


class FeeSchedule(Base):
    __tablename__ = "fee_schedules"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    jurisdiction: Mapped[str] = mapped_column(Text, index=True)
    line_of_business: Mapped[str | None] = mapped_column(Text)  # None: every line of business
    professional_multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    outpatient_facility_multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    # Inpatient stays: {"type": "percent_of_ipps", "percent"} or {"type": "per_diem", "rate"}; None: none.
    inpatient: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The schedule's own anesthesia conversion factor (dollars per unit), instead of Medicare's × multiplier.
    anesthesia_conversion_factor: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    # × CLFS and × DMEPOS; None: the multiplier of the bill's setting (professional or outpatient).
    clinical_lab_multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    dme_multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)

    exemptions: Mapped[list[FeeScheduleExemption]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FeeScheduleExemption.id"
    )


class FeeScheduleExemption(Base):
    """A facility the fee schedule does not cover, by NPI or by TIN."""

    __tablename__ = "fee_schedule_exemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fee_schedule_id: Mapped[str] = mapped_column(
        ForeignKey("fee_schedules.id", ondelete="CASCADE"), index=True
    )
    npi: Mapped[str | None] = mapped_column(Text)
    tin: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class Contract(Base):
    """A PPO contract or a direct agreement with one provider; ``terms`` is validated on load."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)  # "ppo" or "agreement"
    name: Mapped[str] = mapped_column(Text)
    provider_tin: Mapped[str] = mapped_column(Text, index=True)
    provider_npi: Mapped[str | None] = mapped_column(Text)  # None: every NPI billing under the TIN
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Network(Base):
    """A custom network: the contracts and agreements the clients assigned to it may use."""

    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class NetworkContract(Base):
    __tablename__ = "network_contracts"

    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True)


class ClientSettings(Base):
    """Per client: its custom network and how its U&C reviews are computed."""

    __tablename__ = "client_settings"

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    network_id: Mapped[str | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"))
    uc_percentile: Mapped[int | None] = mapped_column(Integer)
    uc_basis: Mapped[str | None] = mapped_column(Text)
