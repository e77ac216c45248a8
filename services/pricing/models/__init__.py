"""Pricing's tables, all in the ``pricing`` schema (importing this registers every table)."""

from services.pricing.models.base import Base, access, bus
from services.pricing.models.edits import MueLimit, PtpEdit
from services.pricing.models.inpatient import DrgWeight, IppsRate, WageIndex
from services.pricing.models.medicare import (
    Gpci,
    LocalityCounty,
    OppsRate,
    ReferenceLoad,
    ReferenceVersion,
    RelativeValue,
)
from services.pricing.models.observations import (
    Facility,
    Observation,
    UcPlace,
    UcPlaceCell,
    UcPlaceScope,
    UcScopeCell,
    UcService,
    UcTotal,
)
from services.pricing.models.pricings import Pricing, PricingLine, ReceivedBill
from services.pricing.models.specialty import (
    AnesthesiaBaseUnit,
    AnesthesiaConversionFactor,
    ClinicalLabRate,
    DmeposFee,
    ZipLocality,
)
from services.pricing.models.terms import (
    ClientSettings,
    Contract,
    FeeSchedule,
    FeeScheduleExemption,
    Network,
    NetworkContract,
)

__all__ = [
    "AnesthesiaBaseUnit",
    "AnesthesiaConversionFactor",
    "Base",
    "ClientSettings",
    "ClinicalLabRate",
    "Contract",
    "DmeposFee",
    "DrgWeight",
    "Facility",
    "FeeSchedule",
    "FeeScheduleExemption",
    "Gpci",
    "IppsRate",
    "LocalityCounty",
    "MueLimit",
    "Network",
    "NetworkContract",
    "Observation",
    "OppsRate",
    "Pricing",
    "PricingLine",
    "PtpEdit",
    "ReceivedBill",
    "ReferenceLoad",
    "ReferenceVersion",
    "RelativeValue",
    "UcPlace",
    "UcPlaceCell",
    "UcPlaceScope",
    "UcScopeCell",
    "UcService",
    "UcTotal",
    "WageIndex",
    "ZipLocality",
    "access",
    "bus",
]
