"""The partner-facing lifecycle of a bill, driven by downstream events.

Events of one bill arrive on several topics, and topics are not ordered with respect to each other, so a
status only moves forward: a late ``bill.priced`` never overwrites ``settled``. Every change is kept in
the bill's history whatever its order of arrival. ``voided`` is final: once the partner voids a bill,
nothing that happens downstream moves it again.
"""

from __future__ import annotations

from enum import StrEnum


class BillStatus(StrEnum):
    received = "received"
    priced = "priced"
    in_negotiation = "in_negotiation"
    not_negotiated = "not_negotiated"
    agreed = "agreed"
    agreement_sent = "agreement_sent"
    signed = "signed"
    settled = "settled"
    closed = "closed"
    voided = "voided"


RANK: dict[BillStatus, int] = {
    BillStatus.received: 0,
    BillStatus.priced: 1,
    BillStatus.in_negotiation: 2,
    BillStatus.not_negotiated: 2,
    BillStatus.agreed: 3,
    BillStatus.agreement_sent: 4,
    BillStatus.signed: 5,
    BillStatus.settled: 6,
    BillStatus.closed: 6,
    BillStatus.voided: 7,
}

# A replacement or a void changes what the provider and payer negotiate over, so it is refused once
# both sides have agreed on an amount.
OPEN_TO_CHANGE = frozenset(
    {BillStatus.received, BillStatus.priced, BillStatus.in_negotiation, BillStatus.not_negotiated}
)

DESCRIPTIONS: dict[BillStatus, str] = {
    BillStatus.received: "Parley has the bill; pricing is next.",
    BillStatus.priced: "Priced (see priced_amount and pricing_method); negotiation decides next.",
    BillStatus.in_negotiation: "A negotiation case is open with the provider.",
    BillStatus.not_negotiated: "No negotiation: nothing to save, or nothing could be priced (see detail).",
    BillStatus.agreed: "Provider and payer agreed on agreed_amount.",
    BillStatus.agreement_sent: "The settlement agreement was sent to the provider for signature.",
    BillStatus.signed: "The provider signed the settlement agreement.",
    BillStatus.settled: "Settled: the case is closed on the signed agreement.",
    BillStatus.closed: "The case closed without a settlement (see detail).",
    BillStatus.voided: "The partner voided the claim; work on it stopped.",
}


def advances(current: BillStatus, new: BillStatus) -> bool:
    return RANK[new] > RANK[current]
