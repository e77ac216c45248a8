"""Medicare schedules beside the physician fee schedule, and where a ZIP code is priced.

- Anesthesia: conversion factors per carrier and locality (ANES file) and base units per code.
- Clinical laboratory fee schedule (CLFS): a national limit per code and modifier.
- DMEPOS: a fee per code, modifiers and state, urban (non-rural) and rural.
- ZIP code → carrier, pricing locality and rural indicator (CMS ZIP5; ZIP+4 ranges from ZIP9).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Integer, Numeric, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.pricing.models.base import Base


class AnesthesiaConversionFactor(Base):
    __tablename__ = "anesthesia_cfs"

    # Keys in lookup order: a bill asks by its locality, for every year loaded.
    mac: Mapped[str] = mapped_column(Text, primary_key=True)
    locality: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    locality_name: Mapped[str] = mapped_column(Text)
    conversion_factor: Mapped[Decimal] = mapped_column(Numeric(8, 4))


class AnesthesiaBaseUnit(Base):
    """Base units of an anesthesia code (00100–01999); the latest file loaded replaces them all."""

    __tablename__ = "anesthesia_base_units"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    base_units: Mapped[Decimal] = mapped_column(Numeric(5, 1))


class ClinicalLabRate(Base):
    __tablename__ = "clfs_rates"

    hcpcs: Mapped[str] = mapped_column(Text, primary_key=True)  # first: a bill asks by code
    modifier: Mapped[str] = mapped_column(Text, primary_key=True)  # "" or e.g. QW
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    indicator: Mapped[str] = mapped_column(Text)


class DmeposFee(Base):
    """One state's DMEPOS fee for a code and its modifiers; ``rural`` None where CMS gives none."""

    __tablename__ = "dmepos_fees"

    hcpcs: Mapped[str] = mapped_column(Text, primary_key=True)  # code and state first: a bill's lookup
    state: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    modifier: Mapped[str] = mapped_column(Text, primary_key=True)
    modifier2: Mapped[str] = mapped_column(Text, primary_key=True)
    category: Mapped[str] = mapped_column(Text)
    nonrural: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    rural: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))


class ZipLocality(Base):
    """A ZIP code's Medicare carrier and pricing locality (ZIP5: ``plus4_low`` ""; ZIP9: a +4 range)."""

    __tablename__ = "zip_localities"

    zip: Mapped[str] = mapped_column(Text, primary_key=True)
    plus4_low: Mapped[str] = mapped_column(Text, primary_key=True)
    plus4_high: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    carrier: Mapped[str] = mapped_column(Text)
    locality: Mapped[str] = mapped_column(Text)
    rural: Mapped[str] = mapped_column(Text)  # "" urban, R rural, B super rural
    quarter: Mapped[str] = mapped_column(Text)  # YYYYQ of the file
