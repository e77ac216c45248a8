"""Test data builders and polling helpers."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine
from shared.settings import Settings

T = TypeVar("T")
# (partner id, clients) -> a new API key for that partner; clients ["*"] means all of its clients.
KeyMaker = Callable[[str, list[str]], Coroutine[Any, Any, str]]
# (roles, clients[, user id]) -> the token of a new internal user, once every service accepts it.
UserMaker = Callable[..., Coroutine[Any, Any, str]]
ROLES = ("negotiator", "supervisor", "auditor", "admin", "viewer")

PROVIDER = {"npi": "1912301953", "tin": "587654321", "name": "Ben Kildare Service"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def line(code: str = "99214", charge: str = "310.00", **extra: Any) -> dict[str, Any]:
    service_date = (datetime.now(UTC).date() - timedelta(days=20)).isoformat()
    return {"procedure_code": code, "units": 1, "charge": charge, "service_date": service_date, **extra}


def bill(
    *,
    client_id: str | None = None,
    claim: str | None = None,
    state: str = "FL",
    zip_code: str = "33111",
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    lines = lines or [line("99214", "310.00"), line("73030", "120.00")]
    total = sum((Decimal(str(x["charge"])) for x in lines), Decimal("0"))
    return {
        "partner_claim_id": claim or unique("CLM"),
        "client_id": client_id or unique("client"),
        "provider": dict(PROVIDER),
        "facility": {"state": state, "zip": zip_code},
        "place_of_service": "11",
        "lines": lines,
        "total_charge": f"{total:.2f}",
    }


# --- negotiation ---------------------------------------------------------------------------------
# U&C targets from tests/fixtures/negotiation/observations.csv (see its README): per unit, nationally.
UC_CODE = "27447"  # target 1,000.00
UC_CODE_2 = "29827"  # target 500.00


def new_tin() -> str:
    """A provider TIN no other test uses: the provider database (and its history) is keyed by TIN."""
    return f"9{uuid.uuid4().int % 10**8:08d}"


def negotiable_bill(
    *,
    client_id: str | None = None,
    tin: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    patient: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A WY bill (no fee schedule, no network) priced by U&C from the negotiation fixture: one line of
    27447 billed 2,500.00 against a target of 1,000.00 by default, so it routes to negotiate."""
    body = bill(client_id=client_id, state="WY", zip_code="82001", lines=lines or [line(UC_CODE, "2500.00")])
    body["provider"]["tin"] = tin or new_tin()
    body["patient"] = patient or {
        "first_name": "Ted",
        "last_name": "Smith",
        "birth_date": "1973-05-01",
        "member_id": unique("M"),
    }
    return body


async def case_of_bill(http: httpx.AsyncClient, urls: dict[str, str], bill_id: str) -> dict[str, Any] | None:
    found = (await http.get(f"{urls['negotiation']}/v1/cases", params={"bill_id": bill_id})).json()
    return found["items"][0] if found.get("items") else None


async def agree_case(
    negotiator: httpx.AsyncClient, urls: dict[str, str], case_id: str, amount: str | None = None
) -> dict[str, Any]:
    """Drive an open negotiate case to agreed: a payer offer (the strategy's, or ``amount``), the provider
    accepts it, both sides confirm. Returns the agreed case."""
    base = f"{urls['negotiation']}/v1/cases/{case_id}"
    offered = await negotiator.post(f"{base}/offers", json={} if amount is None else {"amount": amount})
    assert offered.status_code == 201, offered.text
    accepted = await negotiator.post(
        f"{base}/responses", json={"party": "provider", "decision": "accept", "contact": "Pat Lee"}
    )
    assert accepted.status_code == 200, accepted.text
    for party in ({"party": "provider", "contact": "Pat Lee"}, {"party": "payer"}):
        confirmed = await negotiator.post(f"{base}/confirmations", json=party)
        assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()  # type: ignore[no-any-return]


def auth_header(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def submit_bill(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    key: str | None = None,
) -> httpx.Response:
    """POST a bill to intake the way a partner does. The one place tests submit bills.

    ``http`` (the fixture) already carries the suite's partner key; ``key`` submits as another partner.
    """
    extra = {**(headers or {}), **(auth_header(key) if key else {})}
    return await http.post(f"{urls['intake']}/v1/bills", json=body, headers=extra)


@contextlib.asynccontextmanager
async def rolled_back_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on ``settings``' database inside one transaction that is rolled back at the end, so
    what a test writes through it leaves nothing behind."""
    engine = create_engine(settings)
    async with async_sessionmaker(engine)() as session:
        await session.begin()
        try:
            yield session
        finally:
            await session.rollback()
    await engine.dispose()


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 60.0, interval: float = 0.2, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        await asyncio.sleep(interval)


# --- agreements -------------------------------------------------------------------------------------

# The PKCS#12 the test stack's agreements service seals with (made by the stack fixture).
SEAL_P12 = "test-seal.p12"
SEAL_PASSPHRASE = "test-seal-passphrase"


def seal_certificate(stack_root: Path) -> Any:
    """The configured sealing certificate, as pyHanko's validator takes it (asn1crypto)."""
    from asn1crypto import x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    _, cert, _ = pkcs12.load_key_and_certificates(
        (stack_root / SEAL_P12).read_bytes(), SEAL_PASSPHRASE.encode()
    )
    assert cert is not None
    return x509.Certificate.load(cert.public_bytes(Encoding.DER))


async def signing_link(http: httpx.AsyncClient, urls: dict[str, str], agreement_id: str, role: str) -> str:
    """A fresh signing link for ``role`` (provider or countersigner), the way staff resend one."""
    issued = await http.post(f"{urls['agreements']}/v1/agreements/{agreement_id}/recipients/{role}/link")
    assert issued.status_code == 201, issued.text
    url: str = issued.json()["url"]
    return url


async def sign_by_link(
    http: httpx.AsyncClient, url: str, name: str, title: str = "Authorized signer", **headers: str
) -> httpx.Response:
    """Sign on the signing page as a browser form post does (consent ticked, name and title typed)."""
    form = {"consent": "yes", "signer_name": name, "signer_title": title}
    return await http.post(url, data=form, headers=headers)


async def execute_agreement(http: httpx.AsyncClient, urls: dict[str, str], agreement_id: str) -> None:
    """The provider signs, then the payer countersigns: the agreement is executed. ``http`` is a staff
    client (it issues the links); the signing pages need no credentials."""
    base = f"{urls['agreements']}/v1/agreements/{agreement_id}"
    signed = await sign_by_link(http, await signing_link(http, urls, agreement_id, "provider"), "Dana Smith")
    assert signed.status_code == 200, signed.text

    # A countersigner with an address is invited by a job, with a fresh link that would supersede one
    # issued before it: wait for it.
    async def countersigners_turn() -> bool:
        found = (await http.get(base)).json()
        payer = next(r for r in found["recipients"] if r["role"] == "countersigner")
        return not payer["email"] or any(s["step"] == "invited" for s in found["steps"])

    await wait_until(countersigners_turn, what="the countersigner's turn")
    countersigned = await sign_by_link(
        http, await signing_link(http, urls, agreement_id, "countersigner"), "Sam Ortiz"
    )
    assert countersigned.status_code == 200, countersigned.text


def mailbox_link(stack_root: Path, to: str) -> str | None:
    """The newest signing link e-mailed to ``to`` (the dev and test mailbox is a folder of .eml files)."""
    found = []
    for path in (stack_root / "mailbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            body = message.get_body(preferencelist=("plain",))
            match = re.search(r"https?://\S+/sign/[A-Za-z0-9_-]{43}", body.get_content() if body else "")
            if match:
                found.append((path.stat().st_mtime_ns, match.group(0)))
    return max(found)[1] if found else None


async def published(settings: Any, topic: str, subject: str) -> list[Any]:
    """Every event on ``topic`` whose subject (the bill id) is ``subject``, read from the broker."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from shared.contracts import Envelope

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # load the metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    if record.key == subject.encode():
                        events.append(Envelope.from_bytes(record.value or b""))
        return events
    finally:
        await consumer.stop()


# --- X12 837 builders -------------------------------------------------------------------------------

X12_FIXTURES = Path(__file__).parent / "fixtures" / "x12"
VALID_NPI = "1912301953"  # passes the NPI check digit


def x12_fixture(name: str) -> str:
    return (X12_FIXTURES / name).read_text()


def x12_claim(
    claim_id: str,
    lines: list[tuple[str, str, str]] | None = None,
    *,
    frequency: str = "1",
    npi: str = VALID_NPI,
    hl: int = 1,
    diagnoses: str = "HI*ABK:S83511A*ABF:M25561",
    service_date: str | None = None,
) -> list[str]:
    """Segments of one 837P billing provider + subscriber + claim; lines are (composite, charge, units)."""
    lines = lines or [("HC:99214", "210", "1"), ("HC:73560:RT:59", "100", "1")]
    day = service_date or (datetime.now(UTC).date() - timedelta(days=20)).strftime("%Y%m%d")
    total = sum(
        (Decimal(charge) for _, charge, _ in lines if charge.replace(".", "").isdigit()), Decimal("0")
    )
    segments = [
        f"HL*{hl}**20*1",
        "PRV*BI*PXC*207X00000X",
        f"NM1*85*2*BEN KILDARE SERVICE*****XX*{npi}",
        "N3*234 SEAWAY ST",
        "N4*MIAMI*FL*33111",
        "REF*EI*587654321",
        f"HL*{hl + 1}*{hl}*22*0",
        "SBR*P*18*******WC",
        "NM1*IL*1*SMITH*TED****MI*JS001",
        "DMG*D8*19730501*M",
        "NM1*PR*2*ACME EMPLOYERS*****PI*ACME",
        f"CLM*{claim_id}*{total:.2f}***11:B:{frequency}*Y*A*Y*Y",
        diagnoses,
    ]
    for n, (composite, charge, units) in enumerate(lines, start=1):
        segments += [f"LX*{n}", f"SV1*{composite}*{charge}*UN*{units}***1", f"DTP*472*D8*{day}"]
    return segments


def x12_interchange(*claims: list[str], version: str = "005010X222A2", separator: str = ":") -> str:
    """Wrap claims (from :func:`x12_claim`, renumbering HL) in ISA/GS/ST … SE/GE/IEA with right counts."""
    body = [
        "BHT*0019*00*0001*20251103*1200*CH",
        "NM1*41*2*PARTNER TPA*****46*PARTNER",
        "NM1*40*2*PARLEY*****46*P",
    ]
    hl = 0
    for claim in claims:
        base = hl
        for segment in claim:
            if segment.startswith("HL*"):
                parts = segment.split("*")
                parts[1] = str(int(parts[1]) - 1 + base + 1)
                if parts[2]:
                    parts[2] = str(int(parts[2]) - 1 + base + 1)
                hl = max(hl, int(parts[1]))
                segment = "*".join(parts)
            body.append(
                segment.replace(":", separator) if segment.startswith(("CLM", "SV1", "HI")) else segment
            )
    st = [f"ST*837*0001*{version}", *body]
    segments = [
        "ISA*00*          *00*          *ZZ*PARTNER        *ZZ*PARLEY         "
        "*251103*1200*^*00501*000000101*0*P*:",
        f"GS*HC*PARTNER*PARLEY*20251103*1200*101*X*{version}",
        *st,
        f"SE*{len(st) + 1}*0001",
        "GE*1*101",
        "IEA*1*000000101",
    ]
    return "~\n".join(segments) + "~\n"


def x12_sets(*transaction_sets: list[str], version: str = "005010X222A2", terminator: str = "~\r\n") -> str:
    """An interchange of several transaction sets, each given as its segments between ST and SE.

    Unlike :func:`x12_interchange`, HL ids are kept as written (so a test can number them as a
    clearinghouse does); ST/SE, GE and IEA counts and control numbers are right.
    """
    segments = [
        "ISA*00*          *00*          *01*987654321      *ZZ*PARLEY         "
        "*251103*1200*^*00501*000000202*1*P*:",
        f"GS*HC*CLEARINGHOUSE*PARLEY*20251103*1200*202*X*{version}",
    ]
    for n, body in enumerate(transaction_sets, start=1):
        st = [
            f"ST*837*{n:09d}*{version}",
            "BHT*0019*00*7349063984*20251103*1200*CH",
            "NM1*41*2*CLEARINGHOUSE LLC*****46*987654321",
            "NM1*40*2*PARLEY*****46*P",
            *body,
        ]
        segments += [*st, f"SE*{len(st) + 1}*{n:09d}"]
    segments += [f"GE*{len(transaction_sets)}*202", "IEA*1*000000202"]
    return terminator.join(segments) + terminator


# A clearinghouse's interchange as in shared/data/x12/multi-transaction-hl-continued.837: five transaction
# sets of one claim each whose HL ids continue from set to set (1/2, then 63/64, 49/50, 75/76, 79/80),
# CRLF after every terminator. Claim numbers are Parley's own; codes, charges, units and pointers are
# the file's.
CONTINUED_HL = [
    (1, "CH-1", [("HC:H0003", "20", "1")], "1"),
    (63, "CH-2", [("HC:96153:HF", "50.1", "6")], "1:2"),
    (49, "CH-3", [("HC:T1017:HF", "11.64", "1")], "1:2"),
    (75, "CH-4", [("HC:90853", "234", "120")], "1"),
    (79, "CH-5", [("HC:H0003", "20", "1")], "1:2"),
]


def x12_continued_hl(prefix: str = "") -> str:
    """The five-set clearinghouse interchange; ``prefix`` makes its claim numbers unique."""
    sets = []
    for hl, claim_id, lines, pointers in CONTINUED_HL:
        segments = x12_claim(prefix + claim_id, lines, hl=hl, service_date="20180427")
        sets.append([s.replace("***1", f"***{pointers}") if s.startswith("SV1") else s for s in segments])
    return x12_sets(*sets)


# The sample inpatient stay of the shared data (x12/inpatient-revenue-codes-drg.837i): a psychiatric
# stay 2018-06-28 to 2018-07-02 billed by revenue code only, MS-DRG 885, $17,166.70 over nine lines.
# Built here (envelope, names and ids are Parley's own) because that file's licence does not allow
# copying it into the project.
STAY_LINES = [
    ("0124", "9148", "4"),  # psychiatric room and board, 4 days
    ("0250", "48.1", "28"),
    ("0260", "133", "1"),
    ("0300", "32.9", "1"),
    ("0301", "798.5", "4"),
    ("0305", "200.6", "2"),
    ("0306", "175", "1"),
    ("0307", "113.6", "2"),
    ("0351", "6517", "2"),
]


def inpatient_stay_837i(claim_id: str = "STAY-885", *, drg: str = "885", unit: str = "UN") -> str:
    """The sample inpatient stay as an 837I (005010X223A2): MS-DRG in HI*DR, discharge status 01."""
    body = [
        "HL*1**20*1",
        "PRV*BI*PXC*273R00000X",
        f"NM1*85*2*LAKESIDE BEHAVIORAL HOSPITAL*****XX*{VALID_NPI}",
        "N3*123 MAIN STREET",
        "N4*WOODSTOCK*IL*600980000",
        "REF*EI*587654321",
        "HL*2*1*22*0",
        "SBR*P*18*******CI",
        "NM1*IL*1*DOE*JANE****MI*U0000000001",
        "DMG*D8*19800101*F",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*421406317",
        f"CLM*{claim_id}*17166.7***11:A:1**A*Y*Y",
        "DTP*096*TM*0900",
        "DTP*434*RD8*20180628-20180702",
        "DTP*435*DT*201806280800",
        "CL1*1*1*01",
        "HI*ABK:F39:::::::Y",
        "HI*ABJ:F39",
        f"HI*DR:{drg}",
        "HI*ABF:F1319:::::::Y*ABF:F419:::::::Y",
        "HI*BE:01:::1563*BE:80:::4",  # value codes: amounts, not charges
        "NM1*77*2*LAKESIDE BEHAVIORAL HOSPITAL",
        "N3*240 WILSON RD",
        "N4*CHICAGO*IL*606400000",
    ]
    for n, (revenue, charge, units) in enumerate(STAY_LINES, start=1):
        body += [f"LX*{n}", f"SV2*{revenue}**{charge}*{unit}*{units}", "DTP*472*RD8*20180628-20180702"]
    return x12_sets(body, version="005010X223A2")


# --- hand-built events (reporting tests publish them onto the real broker) ---------------------------


class EventStory:
    """Events of one bill, built by hand in the shape the services emit, to publish in order.

    Amounts are strings of dollars; times are ISO strings or datetimes. Each method appends one payload;
    :meth:`envelopes` wraps them (the Kafka key is the bill id, as every service does)."""

    def __init__(
        self,
        client_id: str,
        billed: str,
        received_at: datetime,
        *,
        npi: str = "1912301953",
        provider_name: str = "Ben Kildare Service",
        state: str = "FL",
    ) -> None:
        from shared.contracts import ProviderRef

        self.bill_id = uuid.uuid4()
        self.case_id = uuid.uuid4()
        self.client_id = client_id
        self.billed = Decimal(billed)
        self.provider = ProviderRef(npi=npi, tin="587654321", name=provider_name)
        self.state = state
        self.payloads: list[Any] = []
        self.offers: list[uuid.UUID] = []
        self.received(received_at)

    def received(self, at: datetime) -> None:
        from shared.contracts import BillLineV1, BillReceivedV1, ClaimType, FacilityRef, LineOfBusiness

        # One line of a code no other test prices (0591T), so pricing's reaction to this bill adds no
        # observation another test's usual-and-customary figures could feel.
        self.payloads.append(
            BillReceivedV1(
                bill_id=self.bill_id,
                client_id=self.client_id,
                partner_claim_id=f"HB-{self.bill_id.hex[:8]}",
                claim_type=ClaimType.professional,
                provider=self.provider,
                facility=FacilityRef(state=self.state, zip="33111"),
                total_charge=self.billed,
                lines=[
                    BillLineV1(
                        line_number=1,
                        procedure_code="0591T",
                        units=Decimal(1),
                        charge=self.billed,
                        service_date=(at - timedelta(days=10)).date(),
                    )
                ],
                received_at=at,
                line_of_business=LineOfBusiness.workers_compensation,
            )
        )

    def priced(
        self,
        at: datetime,
        method: str,
        allowed: str,
        findings: Sequence[tuple[str, str, list[str], str]] = (),
    ) -> None:
        """``findings``: (rule, code, modifiers, amount at stake), one priced line each. Revision 9 so
        this pricing outranks pricing's own reaction to the bill (revision 1)."""
        from shared.contracts import BillPricedV2, FindingV2, PricedLineV2, PricingMethod

        lines = [
            PricedLineV2(
                line_number=n,
                code=code,
                modifiers=mods,
                units=Decimal(1),
                billed=Decimal(amount),
                method_amount=None,
                allowed=None,
                basis="hand-built",
            )
            for n, (_, code, mods, amount) in enumerate(findings, start=2)
        ]
        self.payloads.append(
            BillPricedV2(
                bill_id=self.bill_id,
                pricing_id=uuid.uuid4(),
                revision=9,
                trigger="hand-built",
                client_id=self.client_id,
                provider=self.provider,
                method=PricingMethod(method),
                jurisdiction=self.state,
                total_billed=self.billed,
                total_allowed=Decimal(allowed),
                unpriced_billed=Decimal("0.00"),
                lines=lines,
                decision=[],
                findings=[
                    FindingV2(rule=rule, line_number=n, amount_at_stake=Decimal(amount), detail="hand-built")
                    for n, (rule, _, _, amount) in enumerate(findings, start=2)
                ],
                statement_sha256="",
                priced_at=at,
            )
        )

    def opened(
        self,
        at: datetime,
        route: str,
        method: str = "usual_and_customary",
        target: str | None = None,
        *,
        v1: bool = False,
    ) -> None:
        from shared.contracts import CaseOpenedV1, CaseOpenedV2, CaseRoute, PricingMethod

        if v1:
            self.payloads.append(
                CaseOpenedV1(
                    case_id=self.case_id,
                    bill_id=self.bill_id,
                    client_id=self.client_id,
                    provider=self.provider,
                    billed=self.billed,
                    opening_offer=Decimal(target or "0"),
                    opened_at=at,
                )
            )
            return
        self.payloads.append(
            CaseOpenedV2(
                case_id=self.case_id,
                bill_id=self.bill_id,
                client_id=self.client_id,
                provider=self.provider,
                route=CaseRoute(route),
                route_reason="hand-built",
                method=PricingMethod(method),
                billed=self.billed,
                target=Decimal(target) if target else None,
                findings_at_stake=Decimal("0.00"),
                opening_offer=None,
                pricing_revision=9,
                statement_sha256="",
                opened_at=at,
            )
        )

    def offer(
        self, at: datetime, party: str, amount: str, *, quick_pay: bool = False, v1: bool = False
    ) -> None:
        from shared.contracts import OfferMadeV1, OfferMadeV2, Party, QuickPayTerms

        offer_id = uuid.uuid4()
        self.offers.append(offer_id)
        if v1:
            self.payloads.append(
                OfferMadeV1(
                    case_id=self.case_id,
                    bill_id=self.bill_id,
                    offer_id=offer_id,
                    party=Party(party),
                    amount=Decimal(amount),
                    made_at=at,
                )
            )
            return
        qp = QuickPayTerms(
            discount_percent=Decimal(5),
            pay_within_days=10,
            amount=(Decimal(amount) * Decimal("0.95")).quantize(Decimal("0.01")),
        )
        self.payloads.append(
            OfferMadeV2(
                case_id=self.case_id,
                bill_id=self.bill_id,
                client_id=self.client_id,
                offer_id=offer_id,
                seq=len(self.offers),
                party=Party(party),
                amount=Decimal(amount),
                billed=self.billed,
                basis="hand-built",
                statement_sha256=None,
                quick_pay=qp if quick_pay else None,
                expires_at=None,
                made_by="tests",
                made_at=at,
            )
        )

    def approval(self, requested: datetime, decided: datetime | None, approved: bool) -> None:
        from shared.contracts import ApprovalDecidedV1, ApprovalRequestedV1

        approval_id = uuid.uuid4()
        self.payloads.append(
            ApprovalRequestedV1(
                case_id=self.case_id,
                bill_id=self.bill_id,
                client_id=self.client_id,
                approval_id=approval_id,
                action="accept",
                amount=self.billed,
                limit=Decimal("1.00"),
                rule="hand-built",
                reason="hand-built",
                requested_by="tests",
                requested_at=requested,
            )
        )
        if decided is not None:
            self.payloads.append(
                ApprovalDecidedV1(
                    case_id=self.case_id,
                    bill_id=self.bill_id,
                    client_id=self.client_id,
                    approval_id=approval_id,
                    approved=approved,
                    reason="hand-built",
                    decided_by="tests",
                    decided_at=decided,
                )
            )

    def agreed(self, at: datetime, amount: str, *, first_offer: bool, quick_pay: bool = False) -> None:
        from shared.contracts import CaseAgreedV2, PaymentTerms, PricingMethod, QuickPayTerms

        qp = QuickPayTerms(
            discount_percent=Decimal(5),
            pay_within_days=10,
            amount=(Decimal(amount) * Decimal("0.95")).quantize(Decimal("0.01")),
        )
        self.payloads.append(
            CaseAgreedV2(
                case_id=self.case_id,
                bill_id=self.bill_id,
                client_id=self.client_id,
                partner_claim_id=None,
                provider=self.provider,
                patient=None,
                service_from=None,
                service_to=None,
                jurisdiction=self.state,
                line_of_business=None,
                method=PricingMethod.usual_and_customary,
                billed=self.billed,
                target=None,
                agreed_amount=Decimal(amount),
                offer_id=self.offers[-1] if self.offers else uuid.uuid4(),
                terms=PaymentTerms(pay_within_days=30, quick_pay=qp if quick_pay else None),
                statement_sha256=None,
                provider_signer=None,
                payer_signer=None,
                provider_confirmed_by="provider",
                payer_confirmed_by="tests",
                first_offer_accepted=first_offer,
                offers=len(self.offers),
                agreed_at=at,
            )
        )

    def executed(self, at: datetime, amount: str) -> None:
        from shared.contracts import AgreementExecutedV1

        self.payloads.append(
            AgreementExecutedV1(
                agreement_id=uuid.uuid4(),
                case_id=self.case_id,
                bill_id=self.bill_id,
                client_id=self.client_id,
                agreed_amount=Decimal(amount),
                document_sha256="",
                executed_sha256="",
                provider_signer="Dana Smith",
                countersigner="tests",
                executed_at=at,
            )
        )

    def closed(self, at: datetime, outcome: str, amount: str | None = None) -> None:
        from shared.contracts import CaseClosedV2, CaseOutcome

        self.payloads.append(
            CaseClosedV2(
                case_id=self.case_id,
                bill_id=self.bill_id,
                client_id=self.client_id,
                outcome=CaseOutcome(outcome),
                reason="hand-built",
                agreed_amount=Decimal(amount) if amount else None,
                closed_at=at,
            )
        )

    def voided(self, at: datetime) -> None:
        from shared.contracts import BillVoidedV1

        self.payloads.append(
            BillVoidedV1(
                bill_id=self.bill_id,
                client_id=self.client_id,
                partner_claim_id="HB",
                reason="hand-built",
                voided_at=at,
            )
        )

    def envelopes(self) -> list[Any]:
        from shared.contracts import Envelope

        return [
            Envelope.wrap(p, source="/tests/hand-built", subject=str(self.bill_id)) for p in self.payloads
        ]


async def publish(settings: Any, envelopes: list[Any]) -> None:
    """Publish envelopes onto their topics, keyed by bill id, in the order given."""
    from shared.bus.kafka import make_producer
    from shared.contracts import PAYLOADS

    producer = make_producer(settings)
    await producer.start()
    try:
        for envelope in envelopes:
            topic = PAYLOADS[(envelope.event_type, envelope.version)].topic.value
            await producer.send_and_wait(topic, envelope.to_bytes(), key=envelope.subject.encode())
    finally:
        await producer.stop()
