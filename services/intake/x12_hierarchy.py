"""The HL hierarchy of an 837 transaction set: billing provider (20) → subscriber (22) → patient (23).

A claim belongs to the subscriber or patient HL it follows, and through the parent references (HL02) to
one billing provider. Parley follows those references by id, within the transaction set:

- HL ids that do not start at 1, skip, or continue from the previous transaction set (clearinghouses
  that number a whole interchange) are a warning: the implementation guide advises 1, 2, 3… but the
  tree is just as clear.
- A claim is refused for its hierarchy only when the tree cannot be read: its HL (or an ancestor)
  names a parent that does not come before it in the set, a parent of the wrong level, an id two HLs
  share, or has no usable id or level; or the claim follows no subscriber or patient HL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.intake.x12_syntax import Location, X12Problem

LEVELS = {"20": "billing provider", "22": "subscriber", "23": "patient"}
PARENT_LEVEL = {"22": "20", "23": "22"}


@dataclass
class Entity:
    """An NM1 loop and the N3/N4/REF/DMG/PRV/SBR values that follow it: (value, where it was read)."""

    code: str
    values: dict[str, tuple[str, Location]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[str, Location] | None:
        return self.values.get(name)


@dataclass
class Level:
    """One HL, with the billing provider, subscriber and patient its claims belong to."""

    id: str
    code: str  # HL03: 20, 22 or 23
    where: Location
    problems: list[X12Problem]  # why its claims cannot be placed (its own and its ancestors')
    billing: Entity = field(default_factory=lambda: Entity("85"))
    subscriber: Entity | None = None
    patient: Entity | None = None


class Hierarchy:
    """The HL levels of one transaction set, by id."""

    def __init__(self) -> None:
        self.levels: dict[str, Level] = {}
        self.shared: set[str] = set()  # ids two HLs carry
        self.last = 0
        self.warnings: list[X12Problem] = []

    def add(self, hl01: str, hl02: str, hl03: str, position: int) -> Level:
        """Place an HL segment; its problems are kept on the level (and so on its claims)."""
        where = Location("HL", position, "HL01")
        problems: list[X12Problem] = []
        own_id, parent_id, code = hl01.strip(), hl02.strip(), hl03.strip()

        def problem(element: str, message: str, kind: str) -> None:
            problems.append(X12Problem(Location("HL", position, element), message, kind))

        if not own_id.isdigit():
            problem("HL01", "HL01 (the hierarchical id) must be a number", "hierarchy")
        elif own_id in self.levels:
            self.shared.add(own_id)
            problem(
                "HL01",
                "two HLs of this transaction set carry this id, so which one a later HL02 means is ambiguous",
                "hierarchy_ambiguous",
            )
        else:
            self._numbering(int(own_id), position)
        if code not in LEVELS:
            problem(
                "HL03", "HL03 must be 20 (billing provider), 22 (subscriber) or 23 (patient)", "hierarchy"
            )
        parent = self._parent(code, parent_id, position, problem)
        level = Level(own_id, code, where, problems + (parent.problems if parent is not None else []))
        if code == "22":
            level.billing = parent.billing if parent is not None else Entity("85")
            level.subscriber = Entity("IL")
        elif code == "23":
            level.billing = parent.billing if parent is not None else Entity("85")
            level.subscriber = parent.subscriber if parent is not None else Entity("IL")
            level.patient = Entity("QC")
        if own_id.isdigit() and own_id not in self.levels:
            self.levels[own_id] = level
        return level

    def _parent(
        self, code: str, parent_id: str, position: int, problem: Callable[[str, str, str], None]
    ) -> Level | None:
        if code == "20":
            if parent_id:
                self.warnings.append(
                    X12Problem(
                        Location("HL", position, "HL02"),
                        "a billing provider HL (20) has no parent; HL02 was ignored",
                        "hierarchy_style",
                    )
                )
            return None
        if code not in PARENT_LEVEL:
            return None
        expected = PARENT_LEVEL[code]
        if not parent_id:
            problem(
                "HL02",
                f"a {LEVELS[code]} HL names its {LEVELS[expected]} HL in HL02; the parent is missing",
                "hierarchy_parent",
            )
            return None
        if parent_id in self.shared:
            problem("HL02", "HL02 names an id two HLs carry: the parent is ambiguous", "hierarchy_ambiguous")
            return None
        parent = self.levels.get(parent_id)
        if parent is None:
            problem(
                "HL02",
                "HL02 names no HL that comes before it in this transaction set: the parent is missing",
                "hierarchy_parent",
            )
            return None
        if parent.code != expected:
            problem(
                "HL02",
                f"the parent of a {LEVELS[code]} HL ({code}) must be a {LEVELS[expected]} HL ({expected})",
                "hierarchy_parent",
            )
            return None
        return parent

    def _numbering(self, number: int, position: int) -> None:
        expected = self.last + 1
        self.last = max(self.last, number)
        if number != expected and not self.warnings_of("hl_numbering"):
            first = "starts at" if expected == 1 else "goes on with"
            self.warnings.append(
                X12Problem(
                    Location("HL", position, "HL01"),
                    f"HL numbering {first} {number} where {expected} was expected: the guide numbers HLs "
                    "1, 2, 3… in each transaction set; Parley reads the hierarchy from the parent "
                    "references (HL02)",
                    "hl_numbering",
                )
            )

    def warnings_of(self, kind: str) -> list[X12Problem]:
        return [w for w in self.warnings if w.type == kind]
