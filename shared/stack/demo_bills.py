"""The demo's bills and its clients' negotiation settings: what ``make up`` submits and configures.

Each bill is paired with its plan (what the demo does with it once it is priced: see
:data:`DEMO_BILLS`); :mod:`shared.stack.demo` drives them through the real APIs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

PROVIDER = {"npi": "1912301953", "tin": "587654321", "name": "Ben Kildare Service"}
CASCADE = {"npi": "1823456789", "tin": "912345678", "name": "Cascade Orthopedics"}
SUMMIT = {"npi": "1543219871", "tin": "923456789", "name": "Summit Emergency Physicians"}
LAKESIDE = {"npi": "1654321987", "tin": "934567890", "name": "Lakeside Arthroscopy"}


def _line(code: str, charge: str, days_ago: int = 30, **extra: Any) -> dict[str, Any]:
    return {
        "procedure_code": code,
        "units": 1,
        "charge": charge,
        "service_date": (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat(),
        **extra,
    }


def _bill(
    claim: str,
    client: str,
    state: str,
    zip_code: str,
    lines: list[dict[str, Any]],
    provider: dict[str, str] = PROVIDER,
    member: str = "DM-1",
) -> dict[str, Any]:
    total = sum((Decimal(str(line["charge"])) for line in lines), Decimal("0"))
    return {
        "partner_claim_id": claim,
        "client_id": client,
        "provider": provider,
        "patient": {"first_name": "Demo", "last_name": f"Patient {member}", "member_id": member},
        "facility": {"state": state, "zip": zip_code},
        "place_of_service": "11",
        "lines": lines,
        "total_charge": f"{total:.2f}",
    }


# A psychiatric stay billed by revenue code with its MS-DRG (885), priced per stay at 140% of IPPS.
STAY_LINES = (
    ("0124", "9148.00", 4),
    ("0250", "48.10", 28),
    ("0260", "133.00", 1),
    ("0300", "32.90", 1),
    ("0301", "798.50", 4),
    ("0305", "200.60", 2),
    ("0306", "175.00", 1),
    ("0307", "113.60", 2),
    ("0351", "6517.00", 2),
)


def _stay(claim: str, client: str, state: str, zip_code: str) -> dict[str, Any]:
    admitted = datetime.now(UTC).date() - timedelta(days=40)
    lines = [
        {"revenue_code": code, "units": units, "charge": charge, "service_date": admitted.isoformat()}
        for code, charge, units in STAY_LINES
    ]
    body = _bill(claim, client, state, zip_code, lines)
    body.pop("place_of_service")
    body["facility"]["npi"] = PROVIDER["npi"]
    body.update(
        claim_type="institutional",
        type_of_bill="0111",
        admission_date=admitted.isoformat(),
        discharge_date=(admitted + timedelta(days=4)).isoformat(),
        drg="885",
        discharge_status="01",
    )
    return body


# Per-client negotiation settings, set by the admin (README "Configuration per client").
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "acme-employers": {
        "audit_threshold": "150.00",
        "quick_pay_tiers": [
            {"discount_percent": "5", "pay_within_days": 10},
            {"discount_percent": "3", "pay_within_days": 20},
        ],
        "countersigner": {
            "name": "Riley Chen",
            "email": "riley@acme-employers.example",
            "title": "Claims director",
        },
    },
    "harbor-comp": {
        "auto_offer_ceiling": "1500.00",
        "authority": {
            "max_percent_of_billed": "75",
            "max_percent_over_target": "5",
            "max_amount": "10000.00",
        },
        "countersigner": {"name": "Jordan Reyes", "email": "jordan@harbor-comp.example", "title": "Adjuster"},
    },
}

WA = ("WA", "98101")
# (bill, plan). Plans: "none" (no case is negotiated: repriced or review), "settle:<amount>" (offer that
# amount, the provider accepts, both confirm, the provider signs and the countersigner signs: executed),
# "sign:<amount>" (the same up to the agreement, which waits for the provider: its link is printed),
# "link" (send the strategy's
# opening and issue the provider's link), "approval" (send the opening; the provider counters 1,200.00,
# above the negotiator's authority: ask a supervisor), "audit" and "auto" (nothing to do yet).
DEMO_BILLS: list[tuple[dict[str, Any], str]] = [
    (
        _bill(
            "DEMO-1001", "acme-employers", "FL", "33111", [_line("99214", "310.00"), _line("73030", "120.00")]
        ),
        "none",
    ),
    (
        # Unlisted services (Medicare status C, carrier-priced): on no schedule, so nothing to negotiate on.
        _bill("DEMO-1004", "harbor-comp", "TX", "75201", [_line("99199", "90.00"), _line("97799", "60.00")]),
        "none",
    ),
    (_bill("DEMO-1005", "harbor-comp", "GA", "30303", [_line("99213", "50.00")]), "none"),
    # Anesthesia for 61 minutes, medically directed (QK), in Miami (ZIP 33125 → locality 04).
    (
        _bill(
            "DEMO-1006",
            "acme-employers",
            "FL",
            "33125",
            [_line("00142", "1200.00", modifiers=["QK", "P2"], units=61, unit_of_measure="minutes")],
        ),
        "none",
    ),
    (_stay("DEMO-1007", "acme-employers", "FL", "33125"), "none"),
    *[
        (
            _bill(
                f"DEMO-200{n}",
                "acme-employers",
                *WA,
                [_line("29888", "4800.00", 90 - 20 * n)],
                CASCADE,
                f"DC-{n}",
            ),
            f"settle:{amount}",
        )
        for n, amount in ((1, "2050.00"), (2, "2000.00"), (3, "2100.00"))
    ],
    (_bill("DEMO-2004", "acme-employers", *WA, [_line("29888", "5200.00", 10)], CASCADE, "DC-4"), "link"),
    (
        _bill(
            "DEMO-3001",
            "acme-employers",
            *WA,
            [_line("99285", "2400.00"), _line("99285", "2400.00")],
            SUMMIT,
            "DS-1",
        ),
        "audit",
    ),
    (_bill("DEMO-3002", "acme-employers", *WA, [_line("99285", "2400.00", 12)], SUMMIT, "DS-2"), "approval"),
    (_bill("DEMO-3003", "harbor-comp", *WA, [_line("99285", "1400.00", 8)], SUMMIT, "DS-3"), "auto"),
    (
        _bill("DEMO-4001", "harbor-comp", *WA, [_line("29888", "4800.00", 15)], LAKESIDE, "DL-1"),
        "sign:2100.00",
    ),
]
