"""Reading an X12 5010 837 interchange (837P professional, 837I institutional) into claims.

pyx12's reader does the X12 syntax: it takes the delimiters from the ISA segment (element separator,
ISA11 repetition, ISA16 component separator, segment terminator), splits segments, elements and
composites, and checks the envelope; :mod:`services.intake.x12_syntax` says what each of its findings
refuses or only warns about. This module walks the envelope (ISA, GS, ST/SE, GE, IEA) and hands each
transaction set's segments to its 837 loops (:mod:`services.intake.x12_loops`), which pick out what
Parley needs, remembering for every claim field the segment and element it came from
(:mod:`services.intake.x12_elements`), so that any problem found later (there, by the bill model, or by
the claim rules) is answered as "segment SV1 at position 28, element SV102". The HL tree is followed by
its parent references (:mod:`services.intake.x12_hierarchy`), and the loops read become the claim's
fields in :mod:`services.intake.x12_fields`.

What it decides:
- One claim (2300 loop, CLM) is one bill. Problems in a claim reject that claim only. A transaction set
  whose own integrity check fails (ST/SE) rejects its claims; an interchange that cannot be split is
  refused whole.
- A composite written with another separator than ISA16 declares (``SV1*HC>98940`` under ``ISA16 = :``)
  is an error naming the segment and element, unless an operator recorded that this partner writes
  composites with that character (``parley intake partners set``): then it is read so, with a warning
  on the claim. Parley never guesses separators: a guess that is wrong once produces wrong codes
  silently.
- Values are never copied into messages (they may be patient data); messages say what was expected.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pyx12.errors
import pyx12.segment
import pyx12.x12file
import structlog

from services.intake.x12_claims import ParsedClaim
from services.intake.x12_elements import Elements
from services.intake.x12_loops import TransactionSet
from services.intake.x12_syntax import (
    Location,
    X12FileError,
    X12Problem,
    check_empty_segments,
    check_segment_lengths,
    classify,
    isa_delimiters,
)
from shared.contracts import ClaimType, LineOfBusiness

log = structlog.get_logger(__name__)

VERSIONS: dict[str, ClaimType] = {
    "005010X222A1": ClaimType.professional,
    "005010X222A2": ClaimType.professional,
    "005010X223A1": ClaimType.institutional,
    "005010X223A2": ClaimType.institutional,
    "005010X223A3": ClaimType.institutional,
}


@dataclass
class Interchange:
    control_number: str
    sender: str
    receiver: str
    claims: list[ParsedClaim]
    warnings: list[X12Problem]


def read_837(
    text: str,
    *,
    client_id: str,
    line_of_business: LineOfBusiness | None,
    composite_separator: str | None = None,
) -> Interchange:
    """Read every claim of the interchange. Raises :class:`X12FileError` if the file cannot be read.

    ``composite_separator``: the partner's recorded setting (a character it writes between components
    although ISA16 declares another); None refuses such composites.
    """
    return _Walker(client_id, line_of_business, composite_separator).read(text)


class _Walker:
    def __init__(
        self, client_id: str, line_of_business: LineOfBusiness | None, composite_separator: str | None
    ) -> None:
        self.client_id = client_id
        self.line_of_business = line_of_business
        self.elements = Elements(composite_separator)
        self.file_problems: list[X12Problem] = []
        self.warnings: list[X12Problem] = []
        self.claims: list[ParsedClaim] = []
        self.header: dict[str, str] = {}
        self.current_id = "ISA"
        self.position = 0  # of the current segment, within its transaction set
        self.set_open = False
        # Segments out of place before the first ST are read into an empty set of their own.
        self.transaction_set = self._new_set("", ClaimType.professional)

    def _new_set(self, control: str, claim_type: ClaimType) -> TransactionSet:
        return TransactionSet(
            control,
            claim_type,
            client_id=self.client_id,
            line_of_business=self.line_of_business,
            elements=self.elements,
            interchange_claims=self.claims,
        )

    # --- the interchange -------------------------------------------------------------------------------

    def read(self, text: str) -> Interchange:
        stripped = text.lstrip("\ufeff \t\r\n")
        _, component, terminator, isa = isa_delimiters(stripped)
        self.header = {"sender": isa[6].strip(), "receiver": isa[8].strip(), "control": isa[13].strip()}
        skipped = len(text[: len(text) - len(stripped)].encode("utf-8"))
        check_empty_segments(stripped, terminator, skipped)
        check_segment_lengths(stripped, terminator, skipped)
        try:
            reader = pyx12.x12file.X12Reader(io.StringIO(stripped))
            reader.check_837_lx = True
            self.elements.sep = reader.subele_term or component
            self.elements.repetition = reader.repetition_term or ""
            self.elements.reserved = "".join(
                c for c in (reader.ele_term, reader.subele_term, reader.seg_term, reader.repetition_term) if c
            )
            for segment in reader:
                self.current_id = segment.get_seg_id() or ""
                self.position += 1
                if self.current_id == "ST":  # its errors belong to the transaction it starts
                    self._segment(segment)
                    self._reader_errors(reader.pop_errors())
                else:
                    self._reader_errors(reader.pop_errors())
                    self._segment(segment)
            reader.cleanup()
            self._reader_errors(reader.pop_errors())
        except (pyx12.errors.X12Error, pyx12.errors.EngineError, IndexError, ValueError) as exc:
            # The reader gave up part way: nothing in the file can be trusted to be complete.
            log.info("x12.unreadable", error_type=type(exc).__name__)
            self.file_problems.append(
                X12Problem(Location("ISA", 1), "the interchange could not be read as X12", "x12_syntax")
            )
        if self.set_open:
            self._missing_se()
        if self.file_problems:
            raise X12FileError(self.file_problems)
        if not self.claims:
            raise X12FileError(
                [X12Problem(Location("ST", 1), "the interchange holds no claim (CLM)", "empty")]
            )
        return Interchange(
            control_number=self.header.get("control", ""),
            sender=self.header.get("sender", ""),
            receiver=self.header.get("receiver", ""),
            claims=self.claims,
            warnings=self.warnings,
        )

    def _reader_errors(self, errors: list[Any]) -> None:
        for kind, code, message, _value, _line in errors:
            check = classify(str(kind), str(code), str(message))
            problem = X12Problem(
                Location(self.current_id, self.position, check.element), check.message, check.type
            )
            if check.action == "own":
                continue
            if check.action == "warn":
                self.warnings.append(problem)
            elif check.action == "line" and self.transaction_set.claim is not None:
                self.transaction_set.claim.warnings.append(problem)
            elif check.action == "file":
                self.file_problems.append(problem)
            elif check.action == "claim" and self.transaction_set.claim is not None:
                self.transaction_set.claim.problems.append(problem)
            else:
                self.transaction_set.problems.append(problem)

    # --- the envelope's segments -----------------------------------------------------------------------

    def _segment(self, seg: pyx12.segment.Segment) -> None:
        sid = self.current_id
        if sid == "ISA":
            return
        if sid == "GS":
            if self.elements.text(seg, 1) != "HC":
                self.file_problems.append(
                    X12Problem(Location("GS", 0, "GS01"), "only health care claims (GS01 = HC) are taken")
                )
            return
        if sid == "ST":
            self._start_transaction(seg)
            return
        if sid == "SE":
            self._end_transaction()
            return
        if sid in ("GE", "IEA"):
            if self.set_open:
                self._missing_se()
            return
        self.transaction_set.segment(seg, Location(sid, self.position))

    def _start_transaction(self, seg: pyx12.segment.Segment) -> None:
        if self.set_open:
            self._missing_se()
        version = self.elements.text(seg, 3)
        claim_type = VERSIONS.get(version)
        self.transaction_set = self._new_set(self.elements.text(seg, 2), claim_type or ClaimType.professional)
        self.set_open = True
        self.position = 1
        if self.elements.text(seg, 1) != "837" or claim_type is None:
            self.file_problems.append(
                X12Problem(
                    Location("ST", 1, "ST03"),
                    "only 837 claims in 5010 (005010X222A1/A2 professional, 005010X223A1-A3 institutional)"
                    " are taken",
                    "version",
                )
            )

    def _missing_se(self) -> None:
        self.transaction_set.problems.append(
            X12Problem(
                Location("ST", 1),
                "this transaction set has no SE trailer, so its claims may be cut short",
                "missing_se",
            )
        )
        self._end_transaction()

    def _end_transaction(self) -> None:
        self.transaction_set.end()
        self.set_open = False
