"""Request and response bodies of the intake API: what partners send and what they get back.

A bill as sent is in :mod:`~services.intake.schemas.bills_in` (its field types in
:mod:`~services.intake.schemas.fields`), a bill as returned in :mod:`~services.intake.schemas.bills_out`,
the answers to a batch or an X12 file in :mod:`~services.intake.schemas.answers`, and webhooks in
:mod:`~services.intake.schemas.webhooks`. Import the bodies from here.
"""

from services.intake.schemas.answers import (
    Answer,
    BatchItem,
    BatchOut,
    Counts,
    FieldError,
    Outcome,
    X12Claim,
    X12ErrorOut,
    X12Out,
)
from services.intake.schemas.bills_in import AddressIn, BillIn, FacilityIn, LineIn, PatientIn, ProviderIn
from services.intake.schemas.bills_out import (
    AddressOut,
    BillOut,
    BillPage,
    BillSummary,
    FacilityOut,
    LineOut,
    PatientOut,
    ProviderOut,
    RevisionOut,
    StatusChange,
)
from services.intake.schemas.webhooks import AttemptOut, DeliveryOut, DeliveryPage, WebhookIn, WebhookOut

__all__ = [
    "AddressIn",
    "AddressOut",
    "Answer",
    "AttemptOut",
    "BatchItem",
    "BatchOut",
    "BillIn",
    "BillOut",
    "BillPage",
    "BillSummary",
    "Counts",
    "DeliveryOut",
    "DeliveryPage",
    "FacilityIn",
    "FacilityOut",
    "FieldError",
    "LineIn",
    "LineOut",
    "Outcome",
    "PatientIn",
    "PatientOut",
    "ProviderIn",
    "ProviderOut",
    "RevisionOut",
    "StatusChange",
    "WebhookIn",
    "WebhookOut",
    "X12Claim",
    "X12ErrorOut",
    "X12Out",
]
