"""The seal on executed agreements: one PAdES certification signature (pyHanko), and its verification.

Certification (DocMDP "no changes") rather than an approval signature: the seal is the first and only
signature, and any later change to the file — an incremental update, a new annotation, one changed byte —
makes validation fail. The certificate comes from a PKCS#12 file named in settings
(``PARLEY_AGREEMENTS_SEAL_P12_PATH`` and ``…_PASSPHRASE``). Without one, development and test make a
self-signed certificate ONCE (``cryptography``) and keep it under ``PARLEY_DATA_DIR/agreements/``, so
documents sealed before a restart still verify after it; production refuses to start without a real one.

Verification accepts a document as intact only if the signature is cryptographically valid, covers the
whole file (nothing appended), and was made with the certificate that sealed that agreement.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError, get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from services.agreements.config import AgreementsSettings

log = structlog.get_logger(__name__)

SEAL_FIELD = "ParleySeal"
REASON_PREFIX = "Executed settlement agreement "


class NotAPdf(ValueError):
    """The bytes are not a PDF the reader can open; the message says why (the parser's words)."""


class SealConfigurationError(RuntimeError):
    """The configured PKCS#12 cannot be read (missing file, wrong passphrase, no private key)."""


def generate_self_signed_p12(path: Path, passphrase: bytes, *, common_name: str, days: int = 3650) -> None:
    """Write a PKCS#12 with a new P-256 key and a self-signed certificate for document signing."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Parley"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        # A self-signed certificate is its own trust anchor: CA so validators accept it as a root.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    blob = pkcs12.serialize_key_and_certificates(
        common_name.encode(), key, cert, None, serialization.BestAvailableEncryption(passphrase)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.chmod(0o600)
    tmp.replace(path)  # atomic: a concurrent starter sees the whole file or none


def _development_p12(settings: AgreementsSettings) -> tuple[Path, bytes]:
    """The embedded default: made on first start, reused ever after."""
    folder = settings.data_dir.resolve() / "agreements"
    path, secret_file = folder / "seal.p12", folder / "seal.passphrase"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        passphrase = secrets.token_urlsafe(24).encode()
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(passphrase)
        generate_self_signed_p12(path, passphrase, common_name="Parley agreements (development, self-signed)")
        log.info("seal.development_certificate_created", path=str(path))
    return path, secret_file.read_bytes().strip()


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses its private key on every signature; for RSA that includes
    ``cryptography``'s key consistency check (≈ 100 ms for 2048 bits), most of a seal's time. This one
    parses the key once."""

    def __init__(self, loaded: signers.SimpleSigner) -> None:
        super().__init__(
            signing_cert=loaded.signing_cert,
            signing_key=loaded.signing_key,
            cert_registry=loaded.cert_registry,
        )
        self._key = serialization.load_der_private_key(loaded.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        return bytes(super().sign_raw(data, digest_algorithm))  # other mechanisms: pyHanko's own path


@dataclass(frozen=True)
class VerifiedSeal:
    intact: bool
    problems: list[str]
    agreement_hint: str | None  # the agreement id named in the seal's reason, if readable
    certificate_sha256: str | None
    certificate_subject: str | None
    signed_at: datetime | None


class Sealer:
    """Seals and verifies with one certificate, loaded once at start-up."""

    def __init__(self, p12_path: Path, passphrase: bytes | None) -> None:
        try:
            signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=passphrase)
        except (OSError, ValueError) as exc:
            raise SealConfigurationError(f"cannot read the signing PKCS#12 {p12_path}: {exc}") from exc
        if signer is None or signer.signing_cert is None:
            raise SealConfigurationError(f"the PKCS#12 {p12_path} has no usable key and certificate")
        self._signer = _LoadedKeySigner(signer)
        self.certificate: asn1_x509.Certificate = signer.signing_cert
        self.certificate_der = self.certificate.dump()
        self.certificate_sha256 = hashlib.sha256(self.certificate_der).hexdigest()
        self.subject = self.certificate.subject.human_friendly
        # Validation trusts exactly this certificate and the chain that came with it.
        self._roots = [self.certificate, *signer.cert_registry]

    @classmethod
    def from_settings(cls, settings: AgreementsSettings) -> Sealer:
        if settings.agreements_seal_p12_path is not None:
            secret = settings.agreements_seal_p12_passphrase
            return cls(
                settings.agreements_seal_p12_path, secret.get_secret_value().encode() if secret else None
            )
        return cls(*_development_p12(settings))

    def certificate_pem(self) -> bytes:
        cert = x509.load_der_x509_certificate(self.certificate_der)
        return cert.public_bytes(serialization.Encoding.PEM)

    def seal(self, pdf: bytes, agreement_id: str) -> bytes:
        """Certify ``pdf`` (an incremental update: the bytes before it stay as they were). Blocking, and
        runs its own event loop (pyHanko's): call it in a worker thread from async code."""
        meta = PdfSignatureMetadata(
            field_name=SEAL_FIELD,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            subfilter=SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=REASON_PREFIX + agreement_id,
            name="Parley",
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        try:
            out = signers.sign_pdf(writer, meta, signer=self._signer)
        except SigningError as exc:
            raise SealConfigurationError(f"sealing failed: {exc}") from exc
        return out.getvalue()

    def verify(self, pdf: bytes, expected_certificate_sha256: str | None = None) -> VerifiedSeal:
        """Check ``pdf``'s seal; ``expected_certificate_sha256`` is the certificate that sealed the
        agreement it claims to be (default: this sealer's). Raises :class:`NotAPdf` when the bytes
        cannot be read as a PDF. Blocking, and runs its own event loop (pyHanko's): call it in a worker
        thread from async code."""
        expected = expected_certificate_sha256 or self.certificate_sha256
        if b"%PDF-" not in pdf[:1024]:  # readers look for the header within the first kilobyte
            raise NotAPdf("it does not start with the %PDF- header")
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            signatures = reader.embedded_signatures
        except Exception as exc:  # any parser failure means "not a readable PDF", never a 500
            why = " ".join(str(exc).split())[:200] or "its structure cannot be read"
            raise NotAPdf(f"its structure cannot be read ({why})") from exc
        seals = [s for s in signatures if s.field_name == SEAL_FIELD]
        if not seals:
            return VerifiedSeal(False, ["the document carries no Parley seal"], None, None, None, None)
        if len(signatures) > 1:
            problems = [f"the document carries {len(signatures)} signatures; a Parley copy has one"]
        else:
            problems = []
        embedded = seals[0]
        reason = str(embedded.sig_object.get("/Reason", ""))
        hint = reason.removeprefix(REASON_PREFIX) if reason.startswith(REASON_PREFIX) else None
        cert = embedded.signer_cert
        cert_sha = hashlib.sha256(cert.dump()).hexdigest()
        try:
            status: PdfSignatureStatus = validate_pdf_signature(
                embedded, ValidationContext(trust_roots=self._roots, allow_fetching=False)
            )
        except Exception as exc:  # a mangled signature dictionary
            problems.append(f"the seal cannot be validated: {type(exc).__name__}")
            return VerifiedSeal(False, problems, hint, cert_sha, cert.subject.human_friendly, None)
        if not status.intact:
            problems.append("the signed bytes were changed after sealing")
        if not status.valid:
            problems.append("the seal's cryptographic signature does not verify")
        if status.coverage is None or status.coverage.name != "ENTIRE_FILE":
            problems.append("content was added to the file after sealing")
        if status.docmdp_ok is False:
            problems.append("changes after certification break its no-changes rule")
        if cert_sha != expected:
            problems.append("sealed with a certificate other than the one that sealed this agreement")
        return VerifiedSeal(
            intact=not problems,
            problems=problems,
            agreement_hint=hint,
            certificate_sha256=cert_sha,
            certificate_subject=cert.subject.human_friendly,
            signed_at=status.signer_reported_dt,
        )
