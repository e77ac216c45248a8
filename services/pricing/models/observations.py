"""What U&C reviews compare against: the facility registry, charge and allowance observations.

``observations`` keeps every observation as loaded (one row per file row, bill line or accepted
payment line, with a weight). The same data folded for fast percentiles
(see ``services.pricing.observations``): ``uc_place_cells``, per service (``uc_services``: kind, setting,
code) and place (``uc_places``: a state, ZIP3 and facility), how many observations (summed weights) had
each exact per-unit amount;
``uc_scope_cells``, the same per wide scope (national, a state);
``uc_place_scopes``, the scopes (national, a state, a ZIP3, a peer group at each widening level) each
place counts under; ``uc_totals``, each scope's count. A percentile is then an ordered walk over a
scope's cells instead of a sort of its observations. ``uc_cells`` is a view of the per-scope cells.

In-house observations (bills, accepted payments) are inserted unfolded in the handler's transaction and
folded by one background loop at a time (no two consumers fight over a hot national total); file loads
fold their rows in their own transaction.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.pricing.models.base import Base


class Facility(Base):
    """A facility's credentials, the third U&C review's peer-group key."""

    __tablename__ = "facilities"

    npi: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    facility_type: Mapped[str] = mapped_column(Text)
    bed_band: Mapped[str] = mapped_column(Text)
    teaching: Mapped[str] = mapped_column(Text)
    trauma_level: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    zip: Mapped[str] = mapped_column(Text)
    # Where IPPS wage indexes are looked up: the CMS certification number and the CBSA.
    ccn: Mapped[str | None] = mapped_column(Text)
    cbsa: Mapped[str | None] = mapped_column(Text)


class Observation(Base):
    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_origin", "origin", "origin_ref"),
        Index("ix_observations_unfolded", "id", postgresql_where=text("NOT folded")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(Text)  # bill, payment, hpt, tic, file
    origin_ref: Mapped[str] = mapped_column(Text)  # the bill id, or the loaded source's name
    kind: Mapped[str] = mapped_column(Text)  # charge or allowed
    setting: Mapped[str] = mapped_column(Text)  # professional or facility
    code: Mapped[str] = mapped_column(Text)  # 99213, 71046-26, RC0450
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # per unit
    weight: Mapped[int] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(Text)
    zip3: Mapped[str | None] = mapped_column(Text)
    facility_npi: Mapped[str | None] = mapped_column(Text)
    observed_on: Mapped[date | None] = mapped_column(Date)
    bill_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    folded: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class UcService(Base):
    """A (kind, setting, code) the cells count, by a small integer: the cells' keys are integers, not
    three text columns (issue 13: a five-column text key made each cell write 2.4 times dearer)."""

    __tablename__ = "uc_services"
    __table_args__ = (UniqueConstraint("kind", "setting", "code", name="uq_uc_services_kind"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    setting: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)


class UcPlace(Base):
    """A place ("state|zip3|npi", a part empty if unknown; the NPI only when the registry holds it)."""

    __tablename__ = "uc_places"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    place: Mapped[str] = mapped_column(Text, unique=True)


class UcPlaceCell(Base):
    """The summed weight of the folded observations of one place at one per-unit amount."""

    __tablename__ = "uc_place_cells"

    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class UcScopeCell(Base):
    """The same weights per amount for the wide scopes only: national (``US``) and a state (``ST:ID``)."""

    __tablename__ = "uc_scope_cells"

    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class UcPlaceScope(Base):
    """A scope a place's observations count under (``US`` for every known place)."""

    __tablename__ = "uc_place_scopes"
    __table_args__ = (Index("ix_uc_place_scopes_scope", "scope", "place_id"),)

    place_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(
        Text, primary_key=True
    )  # US, ST:ID, Z3:837, P4:type|beds|teaching|trauma


class UcTotal(Base):
    """A scope's summed weight of folded observations of one kind, setting and code."""

    __tablename__ = "uc_totals"

    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
