"""CMS coding edits the bill audit applies: NCCI procedure-to-procedure pairs and MUE unit limits.

Each edit set (``practitioner`` for professional bills, ``hospital`` for outpatient facility bills) is
replaced as a whole when its file is loaded.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.pricing.models.base import Base


class PtpEdit(Base):
    """Column 2 is not paid with column 1 on the same date unless the modifier indicator allows it."""

    __tablename__ = "ncci_ptp_edits"

    edit_set: Mapped[str] = mapped_column(Text, primary_key=True)
    column1: Mapped[str] = mapped_column(Text, primary_key=True)
    column2: Mapped[str] = mapped_column(Text, primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    deleted_on: Mapped[date | None] = mapped_column(Date)
    modifier_indicator: Mapped[str] = mapped_column(Text)  # 0 never, 1 with a modifier, 9 not applicable


class MueLimit(Base):
    """The most units of a code a provider would report for one patient (per line or per date)."""

    __tablename__ = "mue_limits"

    edit_set: Mapped[str] = mapped_column(Text, primary_key=True)
    hcpcs: Mapped[str] = mapped_column(Text, primary_key=True)
    mue_value: Mapped[int] = mapped_column(Integer)
    adjudication_indicator: Mapped[str] = mapped_column(Text)  # 1 line, 2 date (policy), 3 date (clinical)
    rationale: Mapped[str | None] = mapped_column(Text)
