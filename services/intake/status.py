"""The partner-facing lifecycle of a bill, driven by downstream events.

Events of one bill arrive on several topics, and topics are not ordered with respect to each other, so a
status only moves forward: a late ``bill.priced`` never overwrites ``settled``. Every change is kept in
the bill's history whatever its order of arrival.
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
}


def advances(current: BillStatus, new: BillStatus) -> bool:
    return RANK[new] > RANK[current]
