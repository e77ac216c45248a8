"""Settlement agreements against the real services: the document, signing in order, the sealed executed copy,
verification, decline, expiry across a restart, and the abuse answers of the signing links.

Most tests publish hand-built ``case.agreed`` v2 events onto the real broker for a real bill's case, so the
document's every field is known; one drives negotiation itself through agreement, decline, a new
agreement and settlement.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

import asyncpg
import httpx
import pytest
from playwright.async_api import Page
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from shared.bus.kafka import make_producer
from shared.contracts import (
    Address,
    CaseAgreedV2,
    Envelope,
    PatientRef,
    PaymentTerms,
    PricingMethod,
    ProviderRef,
    QuickPayTerms,
    Signer,
)
from shared.settings import Settings
from shared.stack.devstack import DevStack
from tests.browser import screenshot
from tests.helpers import (
    PROVIDER,
    UserMaker,
    agree_case,
    bill,
    case_of_bill,
    execute_agreement,
    line,
    mailbox_link,
    negotiable_bill,
    published,
    seal_certificate,
    sign_by_link,
    signing_link,
    submit_bill,
    unique,
    wait_until,
)

pytestmark = pytest.mark.e2e

Staff = dict[str, httpx.AsyncClient]  # the staff fixture: an authenticated client per role


@pytest.fixture
async def signer() -> AsyncIterator[httpx.AsyncClient]:
    """A signer's client: no Parley credentials at all (the link's token is the only key)."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        yield client


async def _json(http: httpx.AsyncClient, url: str) -> Any:
    response = await http.get(url)
    return response.json() if response.status_code == 200 else None


async def _open_case(
    http: httpx.AsyncClient, staff: Staff, urls: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real bill through intake and pricing to an open negotiation case: (the bill body, the case)."""
    body = bill(lines=[line("99214", "310.00"), line("73030", "120.00")])
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]

    async def case() -> Any:
        found = await _json(staff["negotiator"], f"{urls['negotiation']}/v1/cases?bill_id={bill_id}")
        return found["items"][0] if found and found["items"] else None

    return body, await wait_until(case, what="case")


def _agreed_v2(body: dict[str, Any], case: dict[str, Any], tag: str, agreed: str = "380.00") -> CaseAgreedV2:
    """What negotiation v2 will emit once both sides confirmed: everything the document needs."""
    return CaseAgreedV2(
        case_id=uuid.UUID(case["id"]),
        bill_id=uuid.UUID(case["bill_id"]),
        client_id=body["client_id"],
        partner_claim_id=body["partner_claim_id"],
        provider=ProviderRef(
            npi=PROVIDER["npi"],
            tin=PROVIDER["tin"],
            name=PROVIDER["name"],
            address=Address(line1="234 Seaway St", city="Miami", state="FL", zip="33111"),
        ),
        patient=PatientRef(first_name="Ted", last_name="Smith", birth_date=date(1973, 5, 1)),
        service_from=date(2025, 10, 3),
        service_to=date(2025, 10, 4),
        jurisdiction="FL",
        line_of_business=None,
        method=PricingMethod.fee_schedule,
        billed=Decimal("430.00"),
        target=None,
        agreed_amount=Decimal(agreed),
        offer_id=uuid.uuid4(),
        terms=PaymentTerms(
            pay_within_days=30,
            quick_pay=QuickPayTerms(
                discount_percent=Decimal("5"), pay_within_days=10, amount=Decimal("361.00")
            ),
        ),
        statement_sha256="ab" * 32,
        provider_signer=Signer(name="Dana Smith", email=f"dana-{tag}@provider.example", title="CFO"),
        payer_signer=Signer(name="Sam Ortiz", email=f"sam-{tag}@payer.example", title="Claims supervisor"),
        provider_confirmed_by="dana@provider.example",
        payer_confirmed_by="negotiator@parley.example",
        first_offer_accepted=False,
        offers=2,
        agreed_at=datetime.now(UTC),
    )


async def _publish(settings: Settings, payload: CaseAgreedV2) -> Envelope:
    envelope = Envelope.wrap(payload, source="/tests/negotiation", subject=str(payload.bill_id))
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            "negotiation.events", value=envelope.to_bytes(), key=envelope.subject.encode()
        )
    finally:
        await producer.stop()
    return envelope


async def _agreement_for(http: httpx.AsyncClient, urls: dict[str, str], case_id: str) -> dict[str, Any]:
    async def found() -> Any:
        body = await _json(http, f"{urls['agreements']}/v1/agreements?case_id={case_id}")
        return body["items"][0] if body and body["items"] else None

    return await wait_until(found, what="agreement")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_v2_terms_make_the_document_signed_in_order_sealed_verified_and_the_case_settles(
    http: httpx.AsyncClient,
    staff: Staff,
    make_user: UserMaker,
    signer: httpx.AsyncClient,
    urls: dict[str, str],
    settings: Settings,
    stack: DevStack,
) -> None:
    body, case = await _open_case(http, staff, urls)
    tag = uuid.uuid4().hex[:8]
    agreed = _agreed_v2(body, case, tag)
    await _publish(settings, agreed)
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    base = f"{urls['agreements']}/v1/agreements/{agreement['id']}"
    assert agreement["status"] == "sent"
    assert (agreement["template_id"], agreement["partner_claim_id"]) == ("parley", body["partner_claim_id"])
    assert [(r["order"], r["role"], r["name"]) for r in agreement["recipients"]] == [
        (1, "provider", "Dana Smith"),
        (2, "countersigner", "Sam Ortiz"),
    ]
    # The document as sent: the v2 terms in words and figures, the claim, the promise, the law.
    sent = await staff["negotiator"].get(f"{base}/document")
    assert sent.status_code == 200
    assert sent.headers["x-document-kind"] == "original"
    text = _text(sent.content)
    assert "Three Hundred Eighty and 00/100 Dollars ($380.00)" in text
    assert "Four Hundred Thirty and 00/100 Dollars ($430.00)" in text
    assert body["partner_claim_id"] in text
    assert "agrees not to balance-bill the patient" in text
    assert "Ted Smith, born May 1, 1973" in text
    assert "October 3, 2025 through October 4, 2025" in text
    assert "NPI 1912301953" in text
    assert "TIN 587654321" in text
    assert "234 Seaway St, Miami, FL 33111" in text
    assert "further discount of 5%" in text
    assert "($361.00)" in text
    assert "laws of the State of Florida" in text
    assert "ab" * 32 in text

    # The provider was e-mailed a link; the countersigner is invited only when it is their turn, and a
    # link for them (staff can issue one) cannot go first.
    provider_url = mailbox_link(stack.root, f"dana-{tag}@provider.example")
    assert provider_url
    assert mailbox_link(stack.root, f"sam-{tag}@payer.example") is None
    early_url = await signing_link(staff["negotiator"], urls, agreement["id"], "countersigner")
    early = await sign_by_link(signer, early_url, "Sam Ortiz")
    assert early.status_code == 409
    assert "provider signs first" in early.text

    # The provider views and signs (consent, name, title); signing again is 409.
    page = await signer.get(provider_url, headers={"user-agent": "pytest-provider"})
    assert page.status_code == 200
    assert "$380.00" in page.text
    assert "ESIGN" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    signed = await sign_by_link(
        signer, provider_url, "Dana Smith", "CFO", **{"user-agent": "pytest-provider"}
    )
    assert signed.status_code == 200, signed.text
    assert (await sign_by_link(signer, provider_url, "Dana Smith")).status_code == 409

    # Now the countersigner is invited (a job): a fresh link by e-mail; the one staff issued is dead.
    async def invited() -> Any:
        found = await _json(staff["negotiator"], base)
        return found if any(s["step"] == "invited" for s in found["steps"]) else None

    await wait_until(invited, what="the countersigner's invitation")
    payer_url = mailbox_link(stack.root, f"sam-{tag}@payer.example")
    assert payer_url
    assert (await signer.get(early_url)).status_code == 404
    countersigned = await sign_by_link(
        signer, payer_url, "Sam Ortiz", "Claims supervisor", **{"user-agent": "pytest-payer"}
    )
    assert countersigned.status_code == 200, countersigned.text
    assert "executed" in countersigned.text

    executed = await _json(staff["negotiator"], base)
    assert executed["status"] == "executed"
    steps = [s["step"] for s in executed["steps"]]
    assert steps[:2] == ["drafted", "sent"]
    assert steps[2:] == ["link_reissued", "viewed", "signed", "invited", "countersigned", "executed"]
    viewed = next(s for s in executed["steps"] if s["step"] == "viewed")
    assert (viewed["ip"], viewed["user_agent"]) == ("127.0.0.1", "pytest-provider")

    # The executed copy: signatures stamped in, the as-sent hash in the footer, one certification seal
    # that validates against the configured certificate and covers the whole file.
    document = await staff["negotiator"].get(f"{base}/document")
    assert document.headers["x-document-kind"] == "executed"
    pdf = document.content
    assert document.headers["x-document-sha256"] == executed["executed_sha256"]
    stamped = _text(pdf)
    assert "Signed electronically by Dana Smith, CFO" in stamped
    assert "Signed electronically by Sam Ortiz, Claims supervisor" in stamped
    assert executed["document_sha256"] in stamped
    original = await staff["negotiator"].get(f"{base}/document", params={"version": "original"})
    assert original.content == sent.content
    assert original.headers["x-document-sha256"] == executed["document_sha256"]
    (seal,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    configured = seal_certificate(stack.root)
    status = await async_validate_pdf_signature(seal, ValidationContext(trust_roots=[configured]))
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage is not None
    assert status.coverage.name == "ENTIRE_FILE"
    assert seal.sig_object["/Reason"] == f"Executed settlement agreement {agreement['id']}"
    assert seal.docmdp_level is MDPPerm.NO_CHANGES  # a certification: any later change breaks it

    # The certificate of completion names both hashes and every step with IP and user agent.
    certificate = await staff["negotiator"].get(f"{base}/certificate")
    assert certificate.status_code == 200
    lines = _text(certificate.content)
    assert executed["document_sha256"] in lines
    assert executed["executed_sha256"] in lines
    assert "pytest-provider" in lines
    assert "pytest-payer" in lines
    assert "countersigned" in lines

    # Verify: the stored copy is intact and names its signers; one changed byte is not intact.
    verified = (
        await staff["negotiator"].post(f"{urls['agreements']}/v1/agreements/verify", content=pdf)
    ).json()
    assert (verified["verdict"], verified["agreement_id"], verified["matches_stored_copy"]) == (
        "intact",
        agreement["id"],
        True,
    )
    assert [(s["role"], s["name"]) for s in verified["signatories"]] == [
        ("provider", "Dana Smith"),
        ("countersigner", "Sam Ortiz"),
    ]
    tampered = bytearray(pdf)
    at = pdf.index(b"stream") + 40  # inside the first content stream: signed bytes
    tampered[at] = tampered[at] ^ 0x01
    broken = (
        await staff["negotiator"].post(f"{urls['agreements']}/v1/agreements/verify", content=bytes(tampered))
    ).json()
    assert broken["verdict"] == "not intact"
    assert broken["agreement_id"] == agreement["id"]
    assert not broken["matches_stored_copy"]
    appended = (
        await staff["negotiator"].post(f"{urls['agreements']}/v1/agreements/verify", content=pdf + b"%x\n")
    ).json()
    assert appended["verdict"] == "not intact"
    # The copy as sent is named as such (it said "no Parley agreement matches"); only the executed verifies.
    as_sent = (
        await staff["negotiator"].post(f"{urls['agreements']}/v1/agreements/verify", content=sent.content)
    ).json()
    assert (as_sent["verdict"], as_sent["agreement_id"], as_sent["stored_as"]) == (
        "not intact",
        agreement["id"],
        "as_sent",
    )
    executed_on = executed["executed_at"][:10]
    assert as_sent["problems"] == [
        f"this is agreement {agreement['id']} as sent for signature, not its executed copy: only the "
        f"executed, sealed copy verifies (executed {executed_on}; "
        f"GET /v1/agreements/{agreement['id']}/document returns it)",
        "the document carries no Parley seal",
    ]
    assert verified["stored_as"] == "executed"
    # Not a PDF at all, or not a readable one: 422 naming why (it was 200 "not intact: PdfReadError").
    for body, why in (
        (b"hello, I am not a PDF", "not a PDF: it does not start with the %PDF- header"),
        (pdf[:600], "not a PDF: its structure cannot be read ("),
    ):
        refused = await staff["negotiator"].post(f"{urls['agreements']}/v1/agreements/verify", content=body)
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert (error["field"], error["type"]) == ("body", "not_pdf")
        assert error["message"].startswith(why), error["message"]
        assert "Error" not in error["message"].split("(")[0]

    # Reading the documents (they name the patient) and issuing links are audited, per reader.
    audit = (
        await staff["auditor"].get(
            f"{urls['agreements']}/v1/audit",
            params={"object_type": "agreement", "object_id": agreement["id"]},
        )
    ).json()
    actions = {(e["action"], e["actor"]) for e in audit["items"]}
    assert ("read:agreement_document", "negotiator@staff.test") in actions
    assert ("read:agreement_certificate", "negotiator@staff.test") in actions
    assert ("verify:agreement_document", "negotiator@staff.test") in actions
    # Another client's negotiator: the agreement does not exist for them.
    other = await make_user(["negotiator"], ["some-other-client"])
    outsider = {"Authorization": f"Bearer {other}"}
    assert (await signer.get(base, headers=outsider)).status_code == 404
    assert (await signer.get(f"{base}/document", headers=outsider)).status_code == 404
    hidden = await signer.post(f"{urls['agreements']}/v1/agreements/verify", content=pdf, headers=outsider)
    assert (hidden.json()["agreement_id"], hidden.json()["verdict"]) == (None, "not intact")

    # The events, in order, on the real broker.
    types = [
        (e.event_type, e.version) for e in await published(settings, "agreements.events", case["bill_id"])
    ]
    assert types == [
        ("agreement.sent", 2),
        ("agreement.viewed", 1),
        ("agreement.signed", 2),
        ("agreement.countersigned", 1),
        ("agreement.executed", 1),
    ]
    # Settling the case on agreement.executed, with negotiation's own agreed terms: the next test.


async def test_decline_takes_a_reason_and_is_an_event(
    http: httpx.AsyncClient, staff: Staff, signer: httpx.AsyncClient, urls: dict[str, str], settings: Settings
) -> None:
    body, case = await _open_case(http, staff, urls)
    await _publish(settings, _agreed_v2(body, case, uuid.uuid4().hex[:8]))
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    url = await signing_link(staff["negotiator"], urls, agreement["id"], "provider")
    missing = await signer.post(f"{url}/decline", data={"reason": "  "})
    assert missing.status_code == 422
    assert "reason" in missing.text
    declined = await signer.post(f"{url}/decline", data={"reason": "the amount leaves out the second visit"})
    assert declined.status_code == 200
    assert (await sign_by_link(signer, url, "Dana Smith")).status_code == 409
    found = await _json(staff["negotiator"], f"{urls['agreements']}/v1/agreements/{agreement['id']}")
    assert (found["status"], found["end_reason"]) == ("declined", "the amount leaves out the second visit")

    async def declined_event() -> Any:
        events = await published(settings, "agreements.events", case["bill_id"])
        return [e for e in events if e.event_type == "agreement.declined"]

    (event,) = await wait_until(declined_event, what="agreement.declined")
    data = event.data
    assert (data["role"], data["reason"]) == ("provider", "the amount leaves out the second visit")
    # Sending the case back to negotiation is negotiation's handler (issue 8, in progress): not asserted.

    # Agreed again (a new offer): a new agreement is sent; the declined one stays as it was. The same
    # agreed offer delivered again changes nothing.
    terms = _agreed_v2(body, case, uuid.uuid4().hex[:8])
    again = terms.model_copy(update={"offer_id": uuid.uuid4(), "agreed_amount": Decimal("395.00")})
    await _publish(settings, again)

    async def two() -> Any:
        found = await _json(staff["negotiator"], f"{urls['agreements']}/v1/agreements?case_id={case['id']}")
        return found["items"] if found and len(found["items"]) == 2 else None

    newest, declined_one = await wait_until(two, what="a second agreement")
    assert (newest["status"], Decimal(newest["agreed_amount"])) == ("sent", Decimal("395.00"))
    assert declined_one["id"] == agreement["id"]
    await _publish(settings, again)  # a repeat of the same agreed offer (a new event id)
    await asyncio.sleep(1.0)
    found = await _json(staff["negotiator"], f"{urls['agreements']}/v1/agreements?case_id={case['id']}")
    assert len(found["items"]) == 2


async def test_links_answer_404_410_409_and_413_and_a_resend_kills_the_old_link(
    http: httpx.AsyncClient,
    staff: Staff,
    signer: httpx.AsyncClient,
    urls: dict[str, str],
    settings: Settings,
    stack: DevStack,
) -> None:
    body, case = await _open_case(http, staff, urls)
    await _publish(settings, _agreed_v2(body, case, uuid.uuid4().hex[:8]))
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    base = urls["agreements"]
    # Unknown tokens, well-formed or not: 404.
    assert (await signer.get(f"{base}/sign/{'A' * 43}")).status_code == 404
    assert (await signer.get(f"{base}/sign/short")).status_code == 404
    first = await signing_link(staff["negotiator"], urls, agreement["id"], "provider")
    second = await signing_link(staff["negotiator"], urls, agreement["id"], "provider")
    assert (await signer.get(first)).status_code == 404  # resent: the old link is dead
    assert (await signer.get(second)).status_code == 200
    # Too large a form: 413 before anything is looked at.
    big = await signer.post(second, data={"consent": "yes", "signer_name": "x" * 20_000})
    assert big.status_code == 413
    # No consent: 422 naming it; nothing is signed.
    no_consent = await signer.post(second, data={"signer_name": "Dana Smith"})
    assert no_consent.status_code == 422
    assert "consent" in no_consent.text
    # A NUL in a field (the database cannot store it) answered JSON: now the page again, naming the field.
    for url, form, field in (
        (second, {"consent": "yes", "signer_name": "Dana\u0000Smith"}, "signer_name"),
        (f"{second}/decline", {"reason": "wrong\u0000amount"}, "reason"),
    ):
        nul = await signer.post(url, data=form)
        assert nul.status_code == 422, nul.text
        assert nul.headers["content-type"].startswith("text/html")
        assert f"{field}: contains the NUL character (U+0000), which cannot be stored" in nul.text
    assert (await _json(staff["negotiator"], f"{base}/v1/agreements/{agreement['id']}"))["status"] == "sent"
    # The deadline moved into the near past: the link expires (410).
    moved = await staff["supervisor"].post(
        f"{base}/v1/agreements/{agreement['id']}/deadline",
        json={"expires_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()},
    )
    assert moved.status_code == 200, moved.text
    await asyncio.sleep(2.2)
    assert (await signer.get(second)).status_code == 410
    assert (await sign_by_link(signer, second, "Dana Smith")).status_code == 410
    assert (
        await staff["negotiator"].get(f"{base}/v1/agreements/{agreement['id']}/certificate")
    ).status_code == 409


async def test_expiry_is_an_event_that_survives_a_restart(
    http: httpx.AsyncClient,
    staff: Staff,
    signer: httpx.AsyncClient,
    urls: dict[str, str],
    settings: Settings,
    stack: DevStack,
) -> None:
    body, case = await _open_case(http, staff, urls)
    await _publish(settings, _agreed_v2(body, case, uuid.uuid4().hex[:8]))
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    base = f"{urls['agreements']}/v1/agreements/{agreement['id']}"
    due = datetime.now(UTC) + timedelta(seconds=3)
    assert (
        await staff["supervisor"].post(f"{base}/deadline", json={"expires_at": due.isoformat()})
    ).status_code == 200
    stack.stop_service("agreements")  # down before it is due, back after: the job is a row
    try:
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)
    finally:
        stack.start_service("agreements")
        await stack.wait_ready(["agreements"])

    async def expired() -> Any:
        found = await _json(staff["negotiator"], base)
        return found if found and found["status"] == "expired" else None

    found = await wait_until(expired, what="expired agreement")
    assert "not signed by the deadline" in found["end_reason"]
    events = await wait_until(
        lambda: _events_of(settings, case["bill_id"], "agreement.expired"), what="agreement.expired"
    )
    assert events[0].data["waiting_for"] == "provider"


async def _events_of(settings: Settings, bill_id: str, event_type: str) -> list[Envelope]:
    return [e for e in await published(settings, "agreements.events", bill_id) if e.event_type == event_type]


async def test_a_client_template_is_versioned_used_and_a_broken_one_refused_at_upload(
    http: httpx.AsyncClient, staff: Staff, signer: httpx.AsyncClient, urls: dict[str, str], settings: Settings
) -> None:
    body, case = await _open_case(http, staff, urls)
    client_id = body["client_id"]
    templates = f"{urls['agreements']}/v1/agreements/templates"
    broken = b"#let data = json(bytes(sys.inputs.data))\n= Settlement\n#data.no_such_field\n"
    refused = await staff["admin"].post(templates, params={"client_id": client_id}, content=broken)
    assert refused.status_code == 422
    assert "line 3, column 7" in refused.json()["detail"]
    assert 'does not contain key "no_such_field"' in refused.json()["detail"]
    silent = b"#let data = json(bytes(sys.inputs.data))\n= Settlement for #data.agreed.figures\n"
    lacking = await staff["admin"].post(templates, params={"client_id": client_id}, content=silent)
    assert lacking.status_code == 422
    assert "claim number" in lacking.json()["detail"]
    form = (
        b"#let data = json(bytes(sys.inputs.data))\n"
        b"= " + client_id.encode() + b" form of settlement agreement\n"
        b"Claim #data.claim.partner_claim_id: #data.agreed.figures (#data.agreed.words).\n"
        b"#for s in data.signatures [ #s.label: #s.name #linebreak() ]\n"
    )
    for version in (1, 2):
        uploaded = await staff["admin"].post(
            templates, params={"client_id": client_id, "note": f"v{version}"}, content=form
        )
        assert uploaded.status_code == 201, uploaded.text
        assert (uploaded.json()["template_id"], uploaded.json()["version"]) == (
            f"client:{client_id}",
            version,
        )
    await _publish(settings, _agreed_v2(body, case, unique("t")))
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    assert (agreement["template_id"], agreement["template_version"]) == (f"client:{client_id}", 2)
    text = _text(
        (
            await staff["negotiator"].get(f"{urls['agreements']}/v1/agreements/{agreement['id']}/document")
        ).content
    )
    assert f"{client_id} form of settlement agreement" in text
    assert "Three Hundred Eighty and 00/100 Dollars" in text


async def test_the_signing_page_in_headless_chromium(
    http: httpx.AsyncClient,
    staff: Staff,
    urls: dict[str, str],
    settings: Settings,
    stack: DevStack,
    page: Page,
) -> None:
    body, case = await _open_case(http, staff, urls)
    tag = uuid.uuid4().hex[:8]
    await _publish(settings, _agreed_v2(body, case, tag))
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    provider_url = await signing_link(staff["negotiator"], urls, agreement["id"], "provider")

    # The provider opens the link: no sign-in, the terms and the document.
    await page.goto(provider_url)
    assert "Settlement & Release Agreement" in await page.title()
    assert await page.text_content("[data-testid=agreed]") == (
        "$380.00 (Three Hundred Eighty and 00/100 Dollars)"
    )
    assert await page.locator("iframe.document").count() == 1
    pdf = await page.request.get(urljoin(provider_url + "/", "document"))
    assert pdf.headers["content-type"] == "application/pdf"
    assert "Sign in" not in await page.inner_text("header")
    await screenshot(page, stack, "signing-page")

    # Signing without the consent is refused, naming it; the typed name is kept.
    await page.fill("#signer_name", "Dana Smith")
    await page.fill("#signer_title", "CFO")
    await page.click("[data-testid=sign]")
    assert "consent" in await page.inner_text("[data-testid=errors]")
    assert await page.input_value("#signer_name") == "Dana Smith"
    await page.check("[data-testid=consent]")
    await page.click("[data-testid=sign]")
    assert "your signature is recorded" in await page.inner_text("[data-testid=notice]")

    # The countersigner, invited by e-mail now, signs in the browser too: executed.
    async def invited() -> str | None:
        found = await _json(staff["negotiator"], f"{urls['agreements']}/v1/agreements/{agreement['id']}")
        invitation_sent = any(s["step"] == "invited" for s in found["steps"])
        return mailbox_link(stack.root, f"sam-{tag}@payer.example") if invitation_sent else None

    payer_url = await wait_until(invited, what="the countersigner's invitation")
    await page.goto(payer_url)
    await page.fill("#signer_name", "Sam Ortiz")
    await page.fill("#signer_title", "Claims supervisor")
    await page.check("[data-testid=consent]")
    await page.click("[data-testid=sign]")
    assert "executed" in await page.inner_text("[data-testid=notice]")
    await screenshot(page, stack, "signing-done")
    found = await _json(staff["negotiator"], f"{urls['agreements']}/v1/agreements/{agreement['id']}")
    assert found["status"] == "executed"
    signers = {r["role"]: (r["signed_name"], r["signed_title"]) for r in found["recipients"]}
    assert signers == {"provider": ("Dana Smith", "CFO"), "countersigner": ("Sam Ortiz", "Claims supervisor")}
    viewed = next(s for s in found["steps"] if s["step"] == "viewed")
    assert "Chrome" in viewed["user_agent"]

    # The link again: already signed.
    answer = await page.goto(provider_url)
    assert answer is not None
    assert answer.status == 409


async def test_an_agreement_is_sent_with_all_its_links_or_not_at_all(
    http: httpx.AsyncClient,
    staff: Staff,
    urls: dict[str, str],
    settings: Settings,
    stack: DevStack,
    db: asyncpg.Connection,
) -> None:
    # The invitations cannot be written (the mailbox is a file, not a folder): the send fails after the
    # document, the links and the expiry job were written, so all of it rolls back, and the event is
    # retried until the mailbox is back.
    body, case = await _open_case(http, staff, urls)
    mailbox = stack.root / "mailbox"
    aside = stack.root / "mailbox-aside"
    mailbox.mkdir(exist_ok=True)
    mailbox.rename(aside)
    mailbox.write_text("not a folder")
    try:
        event = await _publish(settings, _agreed_v2(body, case, uuid.uuid4().hex[:8]))

        async def failed_twice() -> bool:
            lines = (stack.logs / "agreements.log").read_text().splitlines()
            retries = [
                x for x in lines if "event.retry" in x and str(event.id) in x and "FileExistsError" in x
            ]
            return len(retries) >= 2

        await wait_until(failed_twice, what="the send to fail and be retried")
        case_id = uuid.UUID(case["id"])
        assert (
            await db.fetchval("SELECT count(*) FROM agreements.agreements WHERE case_id = $1", case_id) == 0
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM agreements.outbox WHERE key = $1 AND event_type LIKE '%agreement.sent'",
                case["bill_id"],
            )
            == 0
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM agreements.scheduled_jobs WHERE subject = $1", case["bill_id"]
            )
            == 0
        )
    finally:
        mailbox.unlink()
        aside.rename(mailbox)
    agreement = await _agreement_for(staff["negotiator"], urls, case["id"])
    links = await db.fetchval(
        "SELECT count(*) FROM agreements.signing_links l JOIN agreements.agreement_recipients r "
        "ON r.id = l.recipient_id WHERE r.agreement_id = $1 AND l.revoked_at IS NULL",
        uuid.UUID(agreement["id"]),
    )
    assert links == 2
    assert (
        await db.fetchval(
            "SELECT count(*) FROM agreements.scheduled_jobs WHERE key = $1 AND status = 'pending'",
            agreement["id"],
        )
        == 1
    )


async def test_negotiations_agreement_is_declined_on_the_page_reopened_agreed_again_executed_and_settled(
    http: httpx.AsyncClient,
    staff: Staff,
    signer: httpx.AsyncClient,
    urls: dict[str, str],
    uc_reference: None,
) -> None:
    negotiator = staff["negotiator"]
    body = negotiable_bill()
    bill_id = (await submit_bill(http, urls, body)).json()["id"]
    case = await wait_until(lambda: case_of_bill(negotiator, urls, bill_id), what="case")
    agreed = await agree_case(negotiator, urls, case["id"])
    agreement = await _agreement_for(negotiator, urls, case["id"])
    assert Decimal(agreement["agreed_amount"]) == Decimal(agreed["agreed_amount"])
    document = await negotiator.get(f"{urls['agreements']}/v1/agreements/{agreement['id']}/document")
    text = _text(document.content)
    assert body["partner_claim_id"] in text
    assert "Ted Smith" in text  # the patient reference negotiation confirmed
    assert f"${Decimal(agreed['agreed_amount']):,.2f}" in text

    # The provider declines on the page: negotiation takes the case back with the reason.
    url = await signing_link(negotiator, urls, agreement["id"], "provider")
    reason = "the amount leaves out the second visit"
    assert (await signer.post(f"{url}/decline", data={"reason": reason})).status_code == 200
    base = f"{urls['negotiation']}/v1/cases/{case['id']}"

    async def reopened() -> Any:
        found = await _json(negotiator, base)
        return found if found and found["status"] == "open" else None

    back = await wait_until(reopened, what="the case back in negotiation")
    assert reason in back["attention"]

    # A new offer, accepted and confirmed: a new agreement; both parties sign; the case settles.
    await agree_case(negotiator, urls, case["id"], amount="1050.00")

    async def second() -> Any:
        found = await _json(negotiator, f"{urls['agreements']}/v1/agreements?case_id={case['id']}")
        return found["items"] if found and len(found["items"]) == 2 else None

    newest, first = await wait_until(second, what="the second agreement")
    assert (first["id"], first["status"]) == (agreement["id"], "declined")
    assert (newest["status"], newest["agreed_amount"]) == ("sent", "1050.00")
    await execute_agreement(negotiator, urls, newest["id"])

    async def settled() -> Any:
        found = await _json(negotiator, base)
        return found if found and found["status"] == "settled" else None

    final = await wait_until(settled, what="the case settled on agreement.executed")
    assert "agreement executed" in final["close_reason"]
