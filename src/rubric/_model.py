"""The rubric document: pydantic models of a rubric file and a composite file.

The rule union is built from the clause registry, so the schema knows every kind without naming
any. Models are frozen and forbid unknown keys; cross-references (a rule naming a field, a tier
naming options) are checked after validation in ``_loading``.
"""

from __future__ import annotations

import functools
import operator
import unicodedata
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    Strict,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._clauses import CLAUSES, Clause, kind_of
from ._conditions import Condition
from ._fields import FieldUnion
from ._numbers import ZERO, Counted, NonEmpty, Points, Whole, counted


def _rule_union() -> Any:
    members = [Annotated[cls, Tag(key)] for key, cls in CLAUSES.items()]
    return Annotated[
        functools.reduce(operator.or_, members),
        Discriminator(
            kind_of,
            custom_error_type="unknown-kind",
            custom_error_message="a rule needs exactly one kind key: " + ", ".join(CLAUSES),
        ),
        Counted,
    ]


if TYPE_CHECKING:
    Rule = Clause
else:
    Rule = _rule_union()

# Ids and names are compared as people read them: NFKC-normalised (full-width 'Ａ' is 'A', so two
# spellings of one id meet the duplicate-id check), and characters that show nothing (zero-width,
# bidi controls, other format and control characters) are refused: 'A' and 'A'+U+200B must not be
# two different criteria that look the same.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _visible_name(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in _INVISIBLE:
            raise PydanticCustomError(
                "invisible-character",
                "an id or name cannot hold the invisible character U+{code} (write it without it)",
                {"code": f"{ord(char):04X}"},
            )
    return unicodedata.normalize("NFKC", value)


_Id = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[^\s]+$"), AfterValidator(_visible_name), Counted
]
_Field = Annotated[FieldUnion, Counted]

Named = TypeVar("Named")


def _distinct_names(value: Named) -> Named:
    """Refuse a mapping whose keys become the same name once normalised ('A' and 'Ａ')."""
    if isinstance(value, dict):
        seen: dict[str, str] = {}
        for key in value:
            if isinstance(key, str):
                same = seen.setdefault(unicodedata.normalize("NFKC", key), key)
                if same != key:
                    raise PydanticCustomError(
                        "duplicate-id",
                        "'{first}' and '{second}' are the same name once normalised (NFKC)",
                        {"first": same, "second": key},
                    )
    return value


Names = Annotated[Named, BeforeValidator(_distinct_names)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _budgeted(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        return counted(data, handler)


# Findings of ``rubric check`` that a note may waive (its reading is then quoted as the reason).
Waivable = Literal["unreachable-max"]


class Note(_Model):
    """An interpretation: the original words, how this file reads them, and the check findings
    this reading explains (``waives``), which ``check`` then reports as warnings."""

    quote: str = Field(min_length=1)
    reading: str = Field(min_length=1)
    waives: tuple[Waivable, ...] = ()


class Criterion(_Model):
    """One numbered line of the table (序号)."""

    id: _Id
    number: Whole | Annotated[str, Strict()]
    content: str = Field(min_length=1)
    points: Points = Field(ge=0)
    standard: str = Field(min_length=1)
    method: str = ""
    start: Literal["full", "zero"] = "full"
    floor: Points = ZERO
    cap: Points | None = None
    notes: tuple[Note, ...] = ()
    evidence: Names[dict[_Id, _Field]] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @property
    def upper(self) -> Decimal:
        """The cap that applies: declared, else the points."""
        return self.points if self.cap is None else self.cap

    @property
    def base(self) -> Decimal:
        """Where scoring starts."""
        return self.points if self.start == "full" else ZERO

    def clauses(self) -> tuple[Clause, ...]:
        """The rules, typed as clauses."""
        return tuple(self.rules)


class Category(_Model):
    """A 考核项目: a group of criteria with an optional floor and cap on its subtotal."""

    id: _Id
    name: str = Field(min_length=1)
    points: Points | None = None
    floor: Points = ZERO
    cap: Points | None = None
    notes: tuple[Note, ...] = ()
    criteria: NonEmpty[tuple[Criterion, ...]]

    @property
    def maximum(self) -> Decimal:
        """The sum of the criteria's points."""
        return sum((c.points for c in self.criteria), ZERO)

    @property
    def upper(self) -> Decimal:
        """The cap that applies: declared, else the sum of the criteria."""
        return self.maximum if self.cap is None else self.cap


class Grade(_Model):
    """A named band: a total at or above ``min`` gets ``name`` (the first band that fits)."""

    name: str = Field(min_length=1)
    min: Points


class _Header(_Model):
    id: _Id
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    issuer: str = ""
    year: Whole | None = None
    source: str = ""
    points: Points = Field(gt=0)
    grades: tuple[Grade, ...] = ()
    notes: tuple[Note, ...] = ()


class RubricDoc(_Header):
    """A rubric file: metadata and categories of criteria."""

    floor: Points = ZERO
    cap: Points | None = None
    categories: NonEmpty[tuple[Category, ...]]

    @property
    def upper(self) -> Decimal:
        """The total's cap: declared, else the declared points."""
        return self.points if self.cap is None else self.cap


class Branch(_Model):
    """One way of combining the parts, under a condition on the composite's facts."""

    when: Condition
    clause: str = Field(min_length=1)
    weights: Names[NonEmpty[dict[_Id, Annotated[Points, Counted]]]]


class CompositeDoc(_Header):
    """A composite file: rubrics combined with weights under conditions (表一×60% + 表二×40%)."""

    parts: Names[NonEmpty[dict[_Id, Annotated[str, Counted]]]]
    evidence: Names[dict[_Id, _Field]] = Field(default_factory=dict)
    branches: NonEmpty[tuple[Branch, ...]]
