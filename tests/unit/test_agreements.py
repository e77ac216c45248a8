"""Agreements without the stack: amounts in words, the terms from case.agreed v1 and v2, the signing
deadline, link tokens, template checks at upload, and the seal (made, verified, broken)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.agreements.config import AgreementsSettings
from services.agreements.lifecycle import signing_deadline
from services.agreements.links import TOKEN_SHAPE, new_token, token_hash
from services.agreements.sealing import NotAPdf, Sealer, generate_self_signed_p12
from services.agreements.templates import SHIPPED_PATH, check_template, sample_data
from services.agreements.terms import (
    AgreementTerms,
    figures,
    governing_law,
    patient_reference,
    words,
)
from shared.contracts import CaseAgreedV1, PatientRef, ProviderRef, RecipientRole
from shared.documents import Template, render_pdf
from shared.errors import Unprocessable


@pytest.mark.parametrize(
    ("amount", "figure", "spelled"),
    [
        ("475", "$475.00", "Four Hundred Seventy-Five and 00/100 Dollars"),
        ("1234.5", "$1,234.50", "One Thousand, Two Hundred Thirty-Four and 50/100 Dollars"),
        ("0.99", "$0.99", "Zero and 99/100 Dollars"),
        ("21.07", "$21.07", "Twenty-One and 07/100 Dollars"),
        ("1000000", "$1,000,000.00", "One Million and 00/100 Dollars"),
        ("110.005", "$110.01", "One Hundred Ten and 01/100 Dollars"),  # half a cent rounds up
    ],
)
def test_amounts_in_figures_and_in_words(amount: str, figure: str, spelled: str) -> None:
    assert figures(Decimal(amount)) == figure
    assert words(Decimal(amount)) == spelled


def test_governing_law_names_the_state_the_way_its_laws_do() -> None:
    assert governing_law("FL") == "the State of Florida"
    assert governing_law("PA") == "the Commonwealth of Pennsylvania"
    assert governing_law("DC") == "the District of Columbia"
    assert governing_law("PR") == "Puerto Rico"


def test_patient_reference_is_the_minimum_necessary() -> None:
    assert patient_reference(None) == ""
    assert patient_reference(
        PatientRef(first_name="Ted", last_name="Smith", birth_date=date(1973, 5, 1))
    ) == ("Ted Smith, born May 1, 1973")
    assert patient_reference(PatientRef(member_id="M-77")) == "member reference M-77"


def test_v1_terms_use_honest_defaults() -> None:
    agreed = CaseAgreedV1(
        case_id=uuid.uuid4(),
        bill_id=uuid.uuid4(),
        client_id="acme",
        provider=ProviderRef(npi="1912301953", tin="587654321", name="Ben Kildare Service"),
        billed=Decimal("475.00"),
        agreed_amount=Decimal("380.00"),
        offer_id=uuid.uuid4(),
        agreed_at=datetime.now(UTC),
    )
    terms = AgreementTerms.from_event(agreed, default_pay_within_days=30)
    assert (terms.contract_version, terms.payment.pay_within_days, terms.payment.quick_pay) == (1, 30, None)
    assert (terms.patient, terms.partner_claim_id, terms.jurisdiction) == (None, None, None)
    assert [(role, signer.name) for role, signer in terms.recipients()] == [
        (RecipientRole.provider, "Authorized representative of Ben Kildare Service"),
        (RecipientRole.countersigner, "Authorized signer for acme"),
    ]


def test_signing_deadline_counts_us_business_days() -> None:
    # Sent Friday 2026-11-20; Thanksgiving (Thursday 2026-11-26) is not a business day: 10 business days
    # are Nov 23, 24, 25, 27, 30, Dec 1, 2, 3, 4, 7.
    sent = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert signing_deadline(sent, 10) == datetime(2026, 12, 7, 23, 59, 59, tzinfo=UTC)


def test_link_tokens_are_256_bits_and_only_their_hash_is_kept() -> None:
    token = new_token()
    assert TOKEN_SHAPE.match(token)
    assert len(token) == 43  # 32 bytes, URL-safe base64 without padding
    assert len(token_hash(token)) == 32
    assert token_hash(token) != token.encode()
    assert new_token() != token


def test_the_shipped_template_passes_the_upload_check_and_shows_the_terms() -> None:
    source = SHIPPED_PATH.read_bytes()
    check_template(source, 5_000_000)
    pdf = render_pdf(Template(source, SHIPPED_PATH.parent), sample_data(complete=False, executed=False))
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Eight Thousand, Seven Hundred Sixty-Five and 43/100 Dollars ($8,765.43)" in text
    assert "as identified on the claim referenced above" in text  # no patient on the minimal sample
    assert "the state where the services were rendered" in text


def test_a_template_that_does_not_compile_is_refused_with_line_and_column() -> None:
    source = (
        b"#let data = json(bytes(sys.inputs.data))\n#data.claim.partner_claim_id #data.agreed.figures\n"
        b"#data.nope"
    )
    with pytest.raises(Unprocessable) as caught:
        check_template(source, 5_000_000)
    assert "line 3, column 7" in caught.value.detail
    assert 'does not contain key "nope"' in caught.value.detail


def test_a_template_that_hides_the_signers_is_refused() -> None:
    source = b"#let data = json(bytes(sys.inputs.data))\n#data.claim.partner_claim_id #data.agreed.figures\n"
    with pytest.raises(Unprocessable) as caught:
        check_template(source, 5_000_000)
    assert "signer's name" in caught.value.detail
    assert caught.value.errors[0]["message"].startswith("complete sample, executed")


def test_a_template_may_not_read_files() -> None:
    source = b'#read("pyproject.toml")\n'
    with pytest.raises(Unprocessable) as caught:
        check_template(source, 5_000_000)
    assert "file not found" in caught.value.detail


def test_the_development_certificate_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = AgreementsSettings(data_dir=tmp_path)
    first = Sealer.from_settings(settings)
    again = Sealer.from_settings(settings)
    assert first.certificate_sha256 == again.certificate_sha256
    assert (tmp_path / "agreements" / "seal.p12").stat().st_mode & 0o077 == 0  # only the owner reads it


def test_a_seal_verifies_and_any_change_breaks_it(tmp_path: Path) -> None:
    sealer = Sealer.from_settings(AgreementsSettings(data_dir=tmp_path))
    original = render_pdf(Template(b"= Agreement\nThe provider accepts \\$380.00."), {})
    sealed = sealer.seal(original, "a1")
    assert sealed.startswith(original)  # an incremental update: the document as stamped is untouched
    good = sealer.verify(sealed)
    assert (good.intact, good.problems, good.agreement_hint) == (True, [], "a1")

    flipped = bytearray(sealed)
    at = sealed.index(b"stream") + 20
    flipped[at] ^= 0x01
    assert sealer.verify(bytes(flipped)).problems == ["the signed bytes were changed after sealing"]
    assert sealer.verify(sealed + b"%\n").problems == ["content was added to the file after sealing"]
    assert sealer.verify(original).problems == ["the document carries no Parley seal"]
    # Not a PDF, or not a readable one: said as such, with why (it was "not intact: PdfReadError").
    with pytest.raises(NotAPdf, match=r"^it does not start with the %PDF- header$"):
        sealer.verify(b"GIF89a, a picture")
    with pytest.raises(NotAPdf, match=r"^its structure cannot be read \(.+\)$"):
        sealer.verify(sealed[:400])

    other_p12 = tmp_path / "other.p12"
    generate_self_signed_p12(other_p12, b"pw", common_name="Someone else")
    forged = Sealer(other_p12, b"pw").seal(original, "a1")
    assert (
        "sealed with a certificate other than the one that sealed this agreement"
        in sealer.verify(forged).problems
    )


def test_an_rsa_certificate_from_a_ca_style_pkcs12_seals_and_verifies(tmp_path: Path) -> None:
    # Production certificates are often RSA; Parley's signer keeps the parsed key (see sealing.py).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA seal")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "rsa.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"rsa", key, cert, None, serialization.BestAvailableEncryption(b"pw")
        )
    )
    sealer = Sealer(path, b"pw")
    sealed = sealer.seal(render_pdf(Template(b"= Agreement"), {}), "r1")
    verified = sealer.verify(sealed)
    assert (verified.intact, verified.certificate_subject) == (True, "Common Name: RSA seal")
