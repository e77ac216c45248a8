"""The partner-facing lifecycle of a bill, driven by downstream events.

Events of one bill arrive on several topics, and topics are not ordered with respect to each other, so a
status only moves forward: a late ``bill.priced`` never overwrites ``settled``. Every change is kept in
the bill's history whatever its order of arrival. ``voided`` is final: once the partner voids a bill,
nothing that happens downstream moves it again.

One explicit exception: negotiation reopens a case (``case.reopened``: the provider declined to sign, or a
repriced bill was re-priced into negotiation), which moves the bill back to ``in_negotiation``; events
that happened before the reopen no longer move the status after it.
"""

from __future__ import annotations

from enum import StrEnum


class BillStatus(StrEnum):
    received = "received"
    priced = "priced"
    in_negotiation = "in_negotiation"
    not_negotiated = "not_negotiated"
    repriced = "repriced"
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
    BillStatus.repriced: 2,
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
    {
        BillStatus.received,
        BillStatus.priced,
        BillStatus.in_negotiation,
        BillStatus.not_negotiated,
        BillStatus.repriced,
    }
)

DESCRIPTIONS: dict[BillStatus, str] = {
    BillStatus.received: "Parley has the bill; pricing is next.",
    BillStatus.priced: "Priced (see priced_amount and pricing_method); negotiation decides next.",
    BillStatus.in_negotiation: "A negotiation case is open with the provider.",
    BillStatus.not_negotiated: "No negotiation: nothing to save, or nothing could be priced (see detail).",
    BillStatus.repriced: "Repriced by a fee schedule or contract at priced_amount: no negotiation needed.",
    BillStatus.agreed: "Provider and payer confirmed the terms: agreed_amount.",
    BillStatus.agreement_sent: "The settlement agreement was sent to the provider for signature.",
    BillStatus.signed: "The provider signed the settlement agreement.",
    BillStatus.settled: "Settled: the case is closed on the executed agreement.",
    BillStatus.closed: "The case closed without a settlement (see detail).",
    BillStatus.voided: "The partner voided the claim; work on it stopped.",
}


# The statuses a reopened case leaves: agreed and later (a declined signature) or repriced (re-priced into
# negotiation). Never voided or settled.
REOPENABLE = frozenset(
    {BillStatus.agreed, BillStatus.agreement_sent, BillStatus.signed, BillStatus.repriced, BillStatus.closed}
)


def advances(current: BillStatus, new: BillStatus) -> bool:
    return RANK[new] > RANK[current]
