"""What Medicare's inpatient prospective payment system (IPPS) pays a stay with: MS-DRG weights, the
national standardized amounts and capital rate of a fiscal year, and hospital wage indexes.

A fiscal year runs from October 1 to September 30 (FY2026: discharges from 2025-10-01). Each table is
replaced per fiscal year by its load.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, Integer, Numeric, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.pricing.models.base import Base


class DrgWeight(Base):
    """One MS-DRG of IPPS Table 5: its relative weight (after the 10% cap) and mean lengths of stay."""

    __tablename__ = "drg_weights"

    drg: Mapped[str] = mapped_column(Text, primary_key=True)  # three digits, "885"; first: the lookup
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    mdc: Mapped[str] = mapped_column(Text)
    drg_type: Mapped[str] = mapped_column(Text)  # MED, SURG, **
    title: Mapped[str] = mapped_column(Text)
    weight: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))  # None: no weight (998, 999)
    post_acute: Mapped[bool] = mapped_column(Boolean)  # subject to the post-acute transfer policy
    special_pay: Mapped[bool] = mapped_column(Boolean)
    geometric_los: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    arithmetic_los: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))


class IppsRate(Base):
    """The national rates of one fiscal year (IPPS Tables 1A/1B and the capital federal rate).

    Operating: a labor-related and a non-labor-related share of the standardized amount, one pair for
    hospitals whose wage index is above 1 (labor share 66%) and one for the others (62%, section 403 of
    the MMA). Capital: the federal rate, adjusted by the geographic adjustment factor GAF = wage
    index ^ ``gaf_exponent``.
    """

    __tablename__ = "ipps_rates"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    labor_above_1: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    nonlabor_above_1: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    labor_at_most_1: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    nonlabor_at_most_1: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    capital_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    gaf_exponent: Mapped[Decimal] = mapped_column(Numeric(6, 4))


class WageIndex(Base):
    """A hospital's (by CCN, IPPS Table 2) or an area's (by CBSA, Table 3) wage index of a fiscal year."""

    __tablename__ = "wage_indexes"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_kind: Mapped[str] = mapped_column(Text, primary_key=True)  # ccn or cbsa
    area: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    wage_index: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    gaf: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))  # as published; else computed
