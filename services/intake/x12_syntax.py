"""X12 syntax and envelope: where a problem is, and what each envelope finding does to the claims.

pyx12's reader splits the interchange and checks its envelope as it goes. Each of its findings is
classified here by one rule: **a finding refuses only what it makes unreadable**, and everything else is
a warning that names the segment. What makes a claim unreadable is losing the guarantee that its
segments are the ones the sender wrote: the interchange cannot be split (ISA), pyx12 would stop reading
(an empty segment, or one too long for its reader), a segment cannot be identified, or a transaction
set's own integrity check (ST/SE: SE01 segment count, SE02 = ST02, the SE present) fails. Each
transaction set carries that check for its own claims, so the counts and control numbers of the wrappers
around it (GS/GE, ISA/IEA), duplicate control numbers and the numbering of HL and LX segments are style:
the claims inside are complete without them. The HL hierarchy itself is Parley's own check
(:mod:`services.intake.x12_hierarchy`).

Messages are Parley's own, never pyx12's: those quote segment contents, which may be patient data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import pyx12.rawx12file

# pyx12's reader fetches the file 8 KiB at a time and stops, without a word, when a segment does not end
# within the next read: a segment this long (or longer) may end the reading there.
MAX_SEGMENT_CHARACTERS = pyx12.rawx12file.DEFAULT_BUFSIZE - 1

# What a finding does:
#   file   the interchange cannot be read: 422, nothing stored
#   set    the claims of the transaction set it is in are refused
#   claim  the claim it is in is refused (outside a claim: the claims of its transaction set)
#   warn   reported in the file's `warnings`; nothing refused
#   line   a warning on the claim it is in (kept with the bill)
#   own    Parley checks this itself, more precisely (HL hierarchy, a set without its SE)
Action = Literal["file", "set", "claim", "warn", "line", "own"]


@dataclass(frozen=True)
class Location:
    segment: str
    position: int  # within its transaction set, ST = 1 (as a 999 acknowledgment counts)
    element: str | None = None


@dataclass(frozen=True)
class X12Problem:
    location: Location
    message: str
    type: str = "x12"
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment": self.location.segment,
            "position": self.location.position,
            "element": self.location.element,
            "field": self.field,
            "message": self.message,
            "type": self.type,
        }


class X12FileError(Exception):
    """The interchange cannot be read at all; no claim in it is taken."""

    def __init__(self, problems: list[X12Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Check:
    """One envelope check pyx12's reader makes, and what Parley does with its finding."""

    kind: str  # pyx12's error level: isa, gs, st, seg
    code: str  # pyx12's code (the X12 TA1/999 code where it has one)
    match: str  # the start of pyx12's message, where one code covers several checks
    action: Action
    type: str  # Parley's stable problem type
    message: str  # Parley's message: what is wrong and what is expected
    why: str  # why it refuses or warns (shown in the README)
    element: str | None = None  # the element it concerns, when one does


CHECKS: tuple[Check, ...] = (
    Check("seg", "8", "", "file", "empty_segment", "the file contains an empty segment (two terminators)",
          "pyx12 stops reading at an empty segment, so everything after it would be lost silently; "
          "Parley refuses the file instead (its own check runs first and names the byte)"),
    Check("seg", "1", "Segment contains a leading space", "warn", "leading_space",
          "a segment starts with a space; it was read without it", "spacing, not content"),
    Check("seg", "1", "", "claim", "segment_id",
          "this segment's identifier is not 2-3 letters or digits, so Parley cannot tell what it is",
          "an unidentifiable segment may be one of the claim's charges, lines or dates"),
    Check("seg", "SEG1", "", "warn", "trailing_separator",
          "the segment ends with element separators (empty trailing elements)", "style, not content"),
    Check("seg", "HL1", "", "own", "hl_numbering", "",
          "pyx12 expects HL01 to count 1, 2, 3… from each ST; numbering is style: Parley warns and "
          "reads the hierarchy from the parent references (HL02)"),
    Check("seg", "HL2", "", "own", "hierarchy_parent", "",
          "pyx12 compares HL02 with its own count, not with the HL ids; Parley refuses a claim only "
          "when its HL's parent is missing, of the wrong level or ambiguous"),
    Check("seg", "LX", "", "line", "lx_numbering",
          "LX01 does not count the claim's service lines 1, 2, 3…; the line numbers are kept as written",
          "LX01 is the line number Parley keeps; a skip is style (a repeated number is refused by "
          "the bill rules, since lines must be told apart)", element="LX01"),
    Check("st", "23", "", "warn", "duplicate_control_number",
          "this transaction set's control number (ST02) repeats an earlier one in its group",
          "the content of each set is intact; only acknowledgments would be ambiguous", element="ST02"),
    Check("st", "2", "", "own", "missing_se", "",
          "a set without its SE trailer is refused by Parley's own check (its claims may be cut short)"),
    Check("st", "3", "", "set", "se_control_number",
          "SE02 does not match this transaction set's ST02",
          "ST/SE is the only integrity check a transaction set carries: a mismatch means the set may be "
          "spliced from two, so its claims are refused", element="SE02"),
    Check("st", "4", "", "set", "se_count",
          "SE01 does not equal the number of segments from ST to SE",
          "a wrong count means a segment of the set was lost or added; its claims are refused",
          element="SE01"),
    Check("gs", "6", "", "warn", "duplicate_control_number",
          "this functional group's control number (GS06) repeats an earlier one in the interchange",
          "the content is intact; only acknowledgments would be ambiguous", element="GS06"),
    Check("gs", "3", "Unterminated", "own", "missing_se", "",
          "a GE while a transaction set is open: Parley refuses that set (its SE is missing)"),
    Check("gs", "3", "", "warn", "missing_trailer",
          "the functional group has no GE trailer: the file may be cut short after its last complete "
          "transaction set; the sets before it were read", "every set read is complete by its own SE"),
    Check("gs", "4", "", "warn", "trailer_control_number", "GE02 does not match the group's GS06",
          "the sets inside are complete by their own SE", element="GE02"),
    Check("gs", "5", "", "warn", "trailer_count",
          "GE01 does not equal the number of transaction sets in the group: a set may be missing from "
          "the file", "the sets that are here are complete by their own SE; the warning says one may "
          "be missing", element="GE01"),
    Check("isa", "025", "", "warn", "duplicate_control_number",
          "this interchange's control number (ISA13) repeats an earlier one in the file",
          "the content is intact; claims received twice are answered as duplicates claim by claim",
          element="ISA13"),
    Check("isa", "024", "", "warn", "missing_trailer",
          "a group was still open at IEA (its GE is missing)",
          "every set read is complete by its own SE"),
    Check("isa", "001", "", "warn", "trailer_control_number", "IEA02 does not match ISA13",
          "the sets inside are complete by their own SE", element="IEA02"),
    Check("isa", "021", "", "warn", "trailer_count",
          "IEA01 does not equal the number of functional groups: a group may be missing from the file",
          "the groups that are here are complete", element="IEA01"),
    Check("isa", "023", "", "warn", "missing_trailer",
          "the interchange has no IEA trailer: the file may be cut short after its last complete "
          "transaction set; the sets before it were read", "every set read is complete by its own SE"),
)  # fmt: skip

# Checks Parley makes before pyx12 reads, because pyx12 would fail on them or read nothing (README).
FILE_CHECKS: tuple[tuple[str, str], ...] = (
    ("ISA present, 106 characters, 16 elements, three distinct delimiters", "refuse: nothing can be split"),
    ("ISA12 = 00501", "refuse: Parley reads 5010 only"),
    ("GS01 = HC; ST01 = 837 and ST03 a 5010 837P/837I version", "refuse: not a claim file Parley reads"),
    ("no empty segment inside the interchange", "refuse, naming the byte (pyx12 would stop there)"),
    ("at least one claim (CLM)", "refuse: nothing to take"),
)

_FALLBACK = Check("seg", "", "", "claim", "x12", "this segment could not be read", "")


def classify(kind: str, code: str, message: str) -> Check:
    """The rule for one pyx12 finding (an unknown one refuses what it is in: never silently passed)."""
    for check in CHECKS:
        if check.kind == kind and check.code == code and message.startswith(check.match):
            return check
    return _FALLBACK if kind == "seg" else Check(kind, code, "", "set", "x12", "envelope error", "")


def isa_delimiters(text: str) -> tuple[str, str, str, list[str]]:
    """Element separator, component separator (ISA16), segment terminator and the ISA's elements.

    Raises :class:`X12FileError` naming the ISA when they cannot be taken from it.
    """
    where = Location("ISA", 1)
    if not text.startswith("ISA") or len(text) < 106:
        raise X12FileError([X12Problem(where, "an X12 interchange starts with an ISA segment", "no_isa")])
    element, component, terminator = text[3], text[104], text[105]
    isa = text[:106].split(element)
    if len(isa) != 17 or len({element, component, terminator}) != 3 or component.isalnum():
        raise X12FileError(
            [
                X12Problem(
                    where,
                    "the ISA segment must be 106 characters with 16 fixed-width elements; Parley reads "
                    "the element separator (4th character), the component separator (ISA16) and the "
                    "segment terminator from it",
                    "isa_layout",
                )
            ]
        )
    if isa[12] != "00501":
        raise X12FileError(
            [X12Problem(Location("ISA", 1, "ISA12"), "only X12 version 00501 (5010) is taken", "version")]
        )
    return element, component, terminator, isa


def check_empty_segments(text: str, terminator: str, offset: int = 0) -> None:
    """Refuse an empty segment inside the interchange, naming its byte (pyx12 stops reading there).

    ``offset``: characters stripped before ``text`` (a byte-order mark, blank lines); X12 is ASCII, so
    characters are bytes. Two terminators after the IEA (a trailing blank segment) end nothing that
    matters and are ignored.
    """
    end = text.rfind("IEA")
    for found in re.finditer(re.escape(terminator) + r"[\r\n ]*" + re.escape(terminator), text):
        if end != -1 and found.start() > end:
            break
        raise X12FileError(
            [
                X12Problem(
                    Location("ISA", 1),
                    "the file contains an empty segment (two segment terminators); the second "
                    f"terminator is at byte {offset + found.end() - 1} (counted from 0)",
                    "empty_segment",
                )
            ]
        )


def check_segment_lengths(text: str, terminator: str, offset: int = 0) -> None:
    """Refuse a segment longer than :data:`MAX_SEGMENT_CHARACTERS` inside the interchange, naming the byte
    where it starts: pyx12 would stop reading there, and every claim after it would be lost silently (the
    file would look cut short). No 837 element is that long, so such a segment is never a real one.

    ``offset`` as for :func:`check_empty_segments`; text after the IEA is ignored.
    """
    end = text.rfind("IEA")
    inside = text if end == -1 else text[:end]
    segments = inside.split(terminator)
    if max(map(len, segments)) <= MAX_SEGMENT_CHARACTERS:  # the usual case, at C speed
        return
    start = 0
    for segment in segments:
        if len(segment) > MAX_SEGMENT_CHARACTERS:
            begins = start + len(segment) - len(segment.lstrip("\r\n "))  # line breaks belong to no segment
            raise X12FileError(
                [
                    X12Problem(
                        Location("ISA", 1),
                        f"the segment starting at byte {offset + begins} (counted from 0) has no segment "
                        f"terminator within {MAX_SEGMENT_CHARACTERS} characters: no 837 segment is that "
                        "long, and the file cannot be read past it",
                        "segment_too_long",
                    )
                ]
            )
        start += len(segment) + len(terminator)
