"""The rubric document: pydantic models of a rubric file and a composite file.

The rule union is built from the clause registry, so the schema knows every kind without naming
any. Models are frozen and forbid unknown keys; cross-references (a rule naming a field, a tier
naming options) are checked after validation in ``_loading``.
"""

from __future__ import annotations

import functools
import operator
import unicodedata
from collections.abc import Iterator
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
from ._conditions import Condition, Not
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


INFINITY = Decimal("Infinity")


class Criterion(_Model):
    """One numbered line of the table (序号)."""

    id: _Id
    number: Whole | Annotated[str, Strict()]
    content: str = Field(min_length=1)
    # Required in the base categories; in a bonus section it defaults to the section's cap (no
    # limit without one), in a penalty section to 0. The rubric resolves these (``resolved``).
    points: Points | None = Field(default=None, ge=0)
    standard: str = Field(min_length=1)
    method: str = ""
    start: Literal["full", "zero"] = "full"
    floor: Points | None = ZERO  # None: no floor of its own (the group above still has one)
    cap: Points | None = None
    notes: tuple[Note, ...] = ()
    evidence: Names[dict[_Id, _Field]] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @property
    def maximum(self) -> Decimal:
        """The declared points (unbounded for a bonus item without points or cap)."""
        return INFINITY if self.points is None else self.points

    @property
    def upper(self) -> Decimal:
        """The cap that applies: declared, else the points."""
        return self.maximum if self.cap is None else self.cap

    @property
    def lower(self) -> Decimal:
        """The floor that applies (minus infinity when it has none of its own)."""
        return -INFINITY if self.floor is None else self.floor

    @property
    def base(self) -> Decimal:
        """Where scoring starts."""
        return self.maximum if self.start == "full" else ZERO

    def clauses(self) -> tuple[Clause, ...]:
        """The rules, typed as clauses."""
        return tuple(self.rules)


class GroupVeto(_Model):
    """单项否决 on a category: when the rubric's own facts (or computed scores) say so, the
    subtotal is ``score``. A gate (「基础指标得分达到85分以上的单位方可申报加分」) is written
    ``only_if:``: the subtotal is ``score`` unless the condition holds."""

    when: Condition | None = None
    only_if: Condition | None = None
    clause: str = Field(min_length=1)
    score: Points = ZERO
    note: str | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> GroupVeto:
        if (self.when is None) == (self.only_if is None):
            raise ValueError("give when: (the veto's condition) or only_if: (a gate's), one of them")
        return self

    @property
    def condition(self) -> Condition:
        """The condition under which the subtotal is fixed (a gate's, negated)."""
        if self.only_if is not None:
            return Not.model_validate({"not": self.only_if})
        assert self.when is not None
        return self.when

    @property
    def tested(self) -> tuple[str, Condition]:
        """The key the file gave (when/only_if) and its condition, for paths into the document."""
        if self.only_if is not None:
            return "only_if", self.only_if
        assert self.when is not None
        return "when", self.when


class Category(_Model):
    """A 考核项目 (or an 一级/二级 指标): criteria, or categories one level down, with an optional
    floor and cap on its subtotal and vetoes that fix the subtotal."""

    id: _Id
    name: str = Field(min_length=1)
    points: Points | None = None
    floor: Points | None = ZERO
    cap: Points | None = None
    notes: tuple[Note, ...] = ()
    vetoes: tuple[GroupVeto, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    categories: tuple[Category, ...] = ()

    @model_validator(mode="after")
    def _one_kind_of_children(self) -> Category:
        if bool(self.criteria) == bool(self.categories):
            raise ValueError(
                "a category holds either criteria or categories (one level down), and at least one"
            )
        return self

    @property
    def children(self) -> tuple[Criterion | Category, ...]:
        """Its criteria, or its categories."""
        return self.criteria or self.categories

    @property
    def maximum(self) -> Decimal:
        """The sum of the children's points."""
        return sum((c.maximum for c in self.children), ZERO)

    @property
    def upper(self) -> Decimal:
        """The cap that applies: declared, else the sum of the children."""
        return self.maximum if self.cap is None else self.cap

    @property
    def lower(self) -> Decimal:
        """The floor that applies (minus infinity when it has none)."""
        return -INFINITY if self.floor is None else self.floor

    def all_criteria(self) -> Iterator[Criterion]:
        """Every criterion below, in document order."""
        for child in self.children:
            if isinstance(child, Category):
                yield from child.all_criteria()
            else:
                yield child


def _section_item(criterion: Criterion, kind: str, cap: Decimal | None) -> Criterion:
    """A bonus or penalty item with the section's defaults filled in where the file left them."""
    given = criterion.model_fields_set
    update: dict[str, Any] = {}
    if "start" not in given:
        update["start"] = "zero"
    if criterion.points is None:
        update["points"] = cap if kind == "bonus" else ZERO
    if kind == "penalty" and "floor" not in given:
        update["floor"] = None
    return criterion.model_copy(update=update) if update else criterion


def _section(category: Category, kind: str) -> Category:
    cap = category.cap if kind == "bonus" else None
    update: dict[str, Any] = {}
    if category.criteria:
        update["criteria"] = tuple(_section_item(c, kind, cap) for c in category.criteria)
    else:
        update["categories"] = tuple(_section(c, kind) for c in category.categories)
    if kind == "penalty" and "floor" not in category.model_fields_set:
        update["floor"] = None
    return category.model_copy(update=update)


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


class TableVeto(_Model):
    """一票否决: when the rubric's own facts say so, the grade and/or the total are fixed."""

    when: Condition
    clause: str = Field(min_length=1)
    grade: str | None = Field(default=None, min_length=1)
    score: Points | None = None
    note: str | None = None

    @property
    def condition(self) -> Condition:
        """The condition under which the veto fires."""
        return self.when

    @property
    def tested(self) -> tuple[str, Condition]:
        """The key the file gave and its condition, for paths into the document."""
        return "when", self.when

    @model_validator(mode="after")
    def _fixes_something(self) -> TableVeto:
        if self.grade is None and self.score is None:
            raise ValueError("a table-wide veto fixes the grade, the score, or both: give grade: or score:")
        return self


class RubricDoc(_Header):
    """A rubric file: metadata, categories of criteria (any depth), bonus and penalty sections
    outside the declared total, the rubric's own facts and its table-wide vetoes."""

    floor: Points = ZERO
    cap: Points | None = None
    grade_on: Literal["total", "base"] = "total"
    evidence: dict[_Id, FieldUnion] = Field(default_factory=dict)
    vetoes: tuple[TableVeto, ...] = ()
    categories: NonEmpty[tuple[Category, ...]]
    bonus: Category | None = None
    penalty: Category | None = None

    @model_validator(mode="after")
    def _resolve_sections(self) -> RubricDoc:
        # Items of a section take the section's defaults (start at 0; a bonus item's points are the
        # section's cap, a penalty item's are 0 with no floor): resolved once, so every tool reads
        # concrete values.
        for key in ("bonus", "penalty"):
            section = getattr(self, key)
            if section is not None:
                object.__setattr__(self, key, _section(section, key))
        return self

    @property
    def upper(self) -> Decimal:
        """The base's cap: declared, else the declared points."""
        return self.points if self.cap is None else self.cap

    def sections(self) -> Iterator[tuple[str, Category]]:
        """The bonus and penalty sections that exist, as (kind, section)."""
        for key in ("bonus", "penalty"):
            section = getattr(self, key)
            if section is not None:
                yield key, section

    def all_criteria(self) -> Iterator[Criterion]:
        """Every criterion, in document order: the base categories, then the sections."""
        for category in self.categories:
            yield from category.all_criteria()
        for _, section in self.sections():
            yield from section.all_criteria()

    def walk(self) -> Iterator[tuple[tuple[str | int, ...], Category | Criterion]]:
        """Every category and criterion with its path in the document, parents first."""

        def down(
            path: tuple[str | int, ...], node: Category
        ) -> Iterator[tuple[tuple[str | int, ...], Category | Criterion]]:
            yield path, node
            key = "criteria" if node.criteria else "categories"
            for index, child in enumerate(node.children):
                if isinstance(child, Category):
                    yield from down((*path, key, index), child)
                else:
                    yield (*path, key, index), child

        for index, category in enumerate(self.categories):
            yield from down(("categories", index), category)
        for key, section in self.sections():
            yield from down((key,), section)


class Branch(_Model):
    """One way of combining the parts, under a condition on the composite's facts (none: always)."""

    when: Condition | None = None
    clause: str = Field(min_length=1)
    weights: Names[NonEmpty[dict[_Id, Annotated[Points, Counted]]]]


class CompositeDoc(_Header):
    """A composite file: rubrics combined with weights under conditions (表一×60% + 表二×40%)."""

    parts: Names[NonEmpty[dict[_Id, Annotated[str, Counted]]]]
    evidence: Names[dict[_Id, _Field]] = Field(default_factory=dict)
    branches: tuple[Branch, ...] = ()
    # Plain weights (书面材料占70%、现场检查占30%): one branch that always applies.
    weights: Names[dict[_Id, Annotated[Points, Counted]]] | None = None
    clause: str = ""
    # 折算: a part's total rescaled to this many points before it is weighted (75分制折算为100分),
    # rounded half up to ``places`` decimals; the rounding is in the audit.
    scale: Names[dict[_Id, Points]] = Field(default_factory=dict)
    places: Whole = Field(default=2, ge=0, le=4)
    # Where the parts' bonus and penalty sections count: inside each part's total before its
    # weight (the default), or ``outside``: each part weighs its base, and its sections' points are
    # added to the weighted sum as they are (加分项、扣分项在加权之外).
    sections: Literal["weighted", "outside"] = "weighted"

    @model_validator(mode="after")
    def _one_way_of_weighting(self) -> CompositeDoc:
        if bool(self.branches) == (self.weights is not None):
            raise ValueError(
                "give either branches: (weights under conditions) or weights: (always applied), not both"
            )
        if self.weights is not None:
            plain = Branch(clause=self.clause or "按权重合成", weights=self.weights)
            object.__setattr__(self, "branches", (plain,))
        return self
