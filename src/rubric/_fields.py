"""Evidence field types: what an assessor records, how a value is checked, what it can be.

Each type is one class registered by its YAML ``type``. The same class validates a record's
value, writes its JSON Schema, names its possible values for static analysis, and is what the
hypothesis strategies in ``rubric.testing`` draw from.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ._domains import (
    Amounts,
    Marks,
    Present,
    assessed_all,
    assessed_amounts,
    assessed_size,
    assessed_values,
    checklist_all,
    checklist_size,
    checklist_value,
    checklist_values,
    counts,
)
from ._errors import Path, short_repr, suggest
from ._numbers import MAX_PLACES, ZERO, Counted, NonEmpty, Points, Whole, json_number, text

DEFAULT_COUNT_MAX = 1_000_000
MAX_TEXT = 2000
MAX_SUGGEST = 1000  # difflib over more names than this costs more than the hint is worth
MAX_LISTED = 10  # names quoted in a hint; a long list is cut with a count of the rest


@dataclass(frozen=True, slots=True)
class Defect:
    """One thing wrong with one value, relative to the field."""

    code: str
    message: str
    path: Path = ()
    hint: str = ""


class Invalid(Exception):
    """Raised by a field's ``check`` with every defect of the value."""

    def __init__(self, *defects: Defect) -> None:
        super().__init__(defects[0].message)
        self.defects = defects


def close_name(word: str, names: Sequence[str] | Mapping[str, Any]) -> str:
    """A did-you-mean hint, skipped among more names than ``MAX_SUGGEST`` (difflib is O(n) each)."""
    return suggest(word, names) if len(names) <= MAX_SUGGEST else ""


def listed(names: Iterable[str], sep: str = "、") -> str:
    """Names joined for a message, cut after the first few with a count of the rest."""
    rest = iter(names)
    shown = sep.join(itertools.islice(rest, MAX_LISTED))
    more = sum(1 for _ in rest)
    return shown + f"{sep}… and {more} more" if more else shown


@dataclass(frozen=True, slots=True)
class Assessment:
    """An amount chosen by the assessor inside a range, and why."""

    points: Decimal
    reason: str

    def as_json(self) -> dict[str, str]:
        """The JSON form: points as exact text."""
        return {"points": text(self.points), "reason": self.reason}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, str):
        return f"the text {short_repr(value)}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return f"a {type(value).__name__}"


def check_text(value: object, path: Path = ()) -> str:
    """Free text from a record: a string of printable characters that encodes as UTF-8."""
    if not isinstance(value, str):
        raise Invalid(Defect("wrong-type", f"expected text, got {_kind(value)}", path))
    if len(value) > MAX_TEXT:
        raise Invalid(Defect("too-long", f"text of {len(value)} characters (limit {MAX_TEXT})", path))
    for char in value:
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise Invalid(Defect("bad-text", "text holds a lone surrogate (not valid Unicode)", path))
        if unicodedata.category(char) == "Cc" and char not in "\n\t":
            raise Invalid(Defect("bad-text", f"text holds the control character {char!r}", path))
    return value


class FieldSpec(BaseModel):
    """Common part of every evidence field declaration."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type_name: ClassVar[str]

    label: str
    default: Any = None

    def check(self, value: Any) -> Any:
        """Return the canonical value, or raise Invalid naming every defect."""
        raise NotImplementedError

    def domain(self) -> tuple[Any, ...]:
        """A finite set of values that reaches every score the field can give (for analysis)."""
        raise NotImplementedError

    def fast(self) -> Callable[[Any], bool]:
        """A cheap test, built once: True when a value is valid and can be scored as it is
        (anything else goes through ``check``, which names the problem or normalises)."""
        return lambda value: False

    # Static analysis hooks: a small set of values (possibly stand-ins such as ``Present``) that
    # reaches every score the rules can give, given what they observe (``marks``), its size
    # without building it, and a real record value for a stand-in.
    def analysis_size(self, marks: Marks) -> int:
        """How many values ``analysis_values`` yields (computed, never built)."""
        return len(self.domain())

    def analysis_values(self, marks: Marks) -> Iterator[Any]:
        """Values, lazily, that reach every score the rules observing ``marks`` can give."""
        return iter(self.domain())

    def concrete(self, value: Any) -> Any:
        """A valid record value for an analysis value (a witness)."""
        return value

    def analysis_all(self, marks: Marks, limit: int) -> list[Any] | None:
        """Every value the rules can tell apart, or None when there are more than ``limit``."""
        values = self.domain()
        return list(values) if len(values) <= limit else None

    def canonical(self, value: Any) -> Any:
        """The one canonical form of a valid value (for hashing and the audit trail)."""
        return value

    # Hypothesis hooks: ``st`` is ``hypothesis.strategies``, passed in so that the core never
    # imports hypothesis; rubric.testing is the one caller.
    def values(self, st: Any) -> Any:
        """A strategy of valid values, as a caller would pass them."""
        raise NotImplementedError

    def defects(self, st: Any) -> Any:
        """A strategy of (bad value, expected problem code, path inside the value)."""
        raise NotImplementedError

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A strategy of raw declarations of this type (for random rubrics)."""
        raise NotImplementedError

    def value_schema(self) -> dict[str, Any]:
        """The JSON Schema of a value of this field."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """The JSON form of a canonical value."""
        return value


FIELD_TYPES: dict[str, type[FieldSpec]] = {}


def field_type(name: str) -> Callable[[type[FieldSpec]], type[FieldSpec]]:
    """Register an evidence field type under its YAML ``type``."""

    def register(cls: type[FieldSpec]) -> type[FieldSpec]:
        cls.type_name = name
        FIELD_TYPES[name] = cls
        return cls

    return register


@field_type("flag")
class Flag(FieldSpec):
    """A yes/no fact: ``true`` or ``false`` and nothing else (1 and "是" are refused)."""

    type: Literal["flag"]

    def check(self, value: Any) -> Any:
        """Accept only a boolean."""
        if value is True or value is False:
            return value
        hint = "write true or false" if isinstance(value, (int, str)) else ""
        raise Invalid(Defect("wrong-type", f"expected true or false, got {_kind(value)}", (), hint))

    def domain(self) -> tuple[Any, ...]:
        """Both values."""
        return (False, True)

    def fast(self) -> Callable[[Any], bool]:
        """A boolean."""
        return lambda value: value is True or value is False

    def values(self, st: Any) -> Any:
        """Both booleans."""
        return st.booleans()

    def defects(self, st: Any) -> Any:
        """Numbers, text and null where a boolean belongs."""
        return st.sampled_from(
            [
                (1, "wrong-type", ()),
                (0, "wrong-type", ()),
                ("true", "wrong-type", ()),
                (None, "wrong-type", ()),
            ]
        )

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A flag."""
        return st.just({"type": "flag", "label": "是否"})

    def value_schema(self) -> dict[str, Any]:
        """A JSON boolean."""
        return {"type": "boolean"}


@field_type("count")
class Count(FieldSpec):
    """A whole number of occurrences, 0 or more (true is never 1 incident)."""

    type: Literal["count"]
    max: Whole = Field(default=DEFAULT_COUNT_MAX, ge=0, le=10**9)

    def check(self, value: Any) -> Any:
        """Accept an int in [0, max]; refuse bools, fractions, text."""
        if type(value) is int and 0 <= value <= self.max:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            hint = "write the number without quotes" if isinstance(value, str) else ""
            raise Invalid(Defect("wrong-type", f"expected a whole number, got {_kind(value)}", (), hint))
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise Invalid(Defect("not-finite", f"expected a whole number, got {value}"))
            # Compare before any arithmetic: 1E+999999999 is a valid Decimal that overflows abs().
            if value < 0:
                raise Invalid(Defect("negative", f"a count cannot be negative, got {short_repr(value)}"))
            if value > self.max:
                raise Invalid(
                    Defect("out-of-range", f"a count must be at most {self.max}, got {short_repr(value)}")
                )
            if value != value.to_integral_value():
                raise Invalid(Defect("not-whole", f"a count is a whole number, got {short_repr(value)}"))
            value = int(value)
        if value < 0:
            raise Invalid(Defect("negative", f"a count cannot be negative, got {short_repr(value)}"))
        if value > self.max:
            raise Invalid(
                Defect("out-of-range", f"a count must be at most {self.max}, got {short_repr(value)}")
            )
        return value

    def domain(self) -> tuple[Any, ...]:
        """Zero, one, two and the maximum: scores are monotone in a count."""
        return tuple(sorted({0, min(1, self.max), min(2, self.max), self.max}))

    def analysis_size(self, marks: Marks) -> int:
        """The ends and each mark."""
        return len(counts({*self.domain()}, marks, self.max))

    def analysis_values(self, marks: Marks) -> Iterator[Any]:
        """0, 1, 2, the maximum and every count a rule marks."""
        return iter(counts({*self.domain()}, marks, self.max))

    def analysis_all(self, marks: Marks, limit: int) -> list[Any] | None:
        """Every count, when few."""
        return list(range(self.max + 1)) if self.max < limit else None

    def fast(self) -> Callable[[Any], bool]:
        """An int in range (bool is a subclass of int, hence the exact type test)."""
        most = self.max
        return lambda value: type(value) is int and 0 <= value <= most

    def values(self, st: Any) -> Any:
        """0 to max, with both ends likely."""
        return st.one_of(st.sampled_from(sorted({0, self.max})), st.integers(0, self.max))

    def defects(self, st: Any) -> Any:
        """Negative, boolean, text, fractional and too-large counts."""
        return st.sampled_from(
            [
                (-1, "negative", ()),
                (True, "wrong-type", ()),
                ("3", "wrong-type", ()),
                (Decimal("0.5"), "not-whole", ()),
                (self.max + 1, "out-of-range", ()),
            ]
        )

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A count with a small maximum."""
        return st.integers(1, 30).map(lambda m: {"type": "count", "label": "次数", "max": m})

    def value_schema(self) -> dict[str, Any]:
        """A bounded JSON integer."""
        return {"type": "integer", "minimum": 0, "maximum": self.max}


@field_type("checklist")
class Checklist(FieldSpec):
    """The named items found present; the rest are missing."""

    type: Literal["checklist"]
    items: NonEmpty[tuple[Annotated[str, Counted], ...]]

    _known: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="after")
    def _unique_items(self) -> Checklist:
        known = frozenset(self.items)
        if len(known) != len(self.items):
            seen: set[str] = set()
            for item in self.items:
                if item in seen:
                    raise ValueError(f"item '{item}' is listed twice")
                seen.add(item)
        # A set built once: membership in the tuple is O(n) and made check() O(n²).
        self._known = known
        return self

    def check(self, value: Any) -> Any:
        """Accept a list of distinct known items; return them in declared order."""
        if not isinstance(value, (list, tuple)):
            raise Invalid(
                Defect(
                    "wrong-type",
                    f"expected a list of items present, got {_kind(value)}",
                    (),
                    "write [] when none is present",
                )
            )
        defects: list[Defect] = []
        present: set[str] = set()
        known = self._known or frozenset(self.items)  # empty only if built without validation
        for index, item in enumerate(value):
            if not isinstance(item, str):
                defects.append(Defect("wrong-type", f"expected an item name, got {_kind(item)}", (index,)))
            elif item not in known:
                hint = close_name(item, self.items) or "known items: " + listed(self.items)
                defects.append(Defect("unknown-item", f"unknown item {short_repr(item)}", (index,), hint))
            elif item in present:
                defects.append(Defect("duplicate-item", f"item '{item}' is listed twice", (index,)))
            else:
                present.add(item)
        if defects:
            raise Invalid(*defects)
        return tuple(item for item in self.items if item in present)

    def domain(self) -> tuple[Any, ...]:
        """No item, and every item."""
        return ((), self.items)

    def _named(self, marks: Marks) -> list[str]:
        known = self._known or frozenset(self.items)
        return [item for item in sorted(marks.items) if item in known]

    def analysis_size(self, marks: Marks) -> int:
        """Subsets of the named items × the marked sizes (plus each subset's own ends)."""
        return checklist_size(len(self.items), len(self._named(marks)), marks)

    def analysis_values(self, marks: Marks) -> Iterator[Any]:
        """Stand-ins: each subset of the items a condition names, with each size it can have."""
        return checklist_values(len(self.items), self._named(marks), marks)

    def concrete(self, value: Any) -> Any:
        """The items of a stand-in, in declared order."""
        return checklist_value(self.items, value) if isinstance(value, Present) else value

    def analysis_all(self, marks: Marks, limit: int) -> list[Any] | None:
        """Each subset of the named items with every size."""
        return checklist_all(len(self.items), self._named(marks), limit)

    def values(self, st: Any) -> Any:
        """Any subset of the items, none and all included."""
        items = self.items
        subsets = st.sets(st.sampled_from(items)).map(lambda chosen: [i for i in items if i in chosen])
        return st.one_of(st.sampled_from([[], list(items)]), subsets)

    def defects(self, st: Any) -> Any:
        """An unknown item, a repeated item, a bare string."""
        return st.sampled_from(
            [
                (["未知项"], "unknown-item", (0,)),
                ([self.items[0], self.items[0]], "duplicate-item", (1,)),
                (self.items[0], "wrong-type", ()),
            ]
        )

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A checklist of a few named items."""
        names = ["计划", "部署", "报表", "总结", "台账", "指南"]
        return st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True).map(
            lambda items: {"type": "checklist", "label": "材料", "items": items}
        )

    def fast(self) -> Callable[[Any], bool]:
        """A list of distinct known items."""
        known = frozenset(self.items)

        def test(value: Any) -> bool:
            if type(value) is not list and type(value) is not tuple:
                return False
            try:
                present = set(value)
            except TypeError:
                return False
            return len(present) == len(value) and present <= known

        return test

    def canonical(self, value: Any) -> Any:
        """The items present, in declared order."""
        present = set(value)
        return tuple(item for item in self.items if item in present)

    def value_schema(self) -> dict[str, Any]:
        """A JSON array of distinct item names."""
        return {"type": "array", "items": {"enum": list(self.items)}, "uniqueItems": True}

    def to_json(self, value: Any) -> Any:
        """A list."""
        return list(value)


@field_type("choice")
class Choice(FieldSpec):
    """Exactly one of the named options (a tier)."""

    type: Literal["choice"]
    options: NonEmpty[tuple[Annotated[str, Counted], ...]]

    def check(self, value: Any) -> Any:
        """Accept one known option."""
        if isinstance(value, str) and value in self.options:
            return value
        if not isinstance(value, str):
            raise Invalid(Defect("wrong-type", f"expected one of the options, got {_kind(value)}"))
        hint = close_name(value, self.options) or "options: " + listed(self.options)
        raise Invalid(Defect("unknown-option", f"unknown option {short_repr(value)}", (), hint))

    def domain(self) -> tuple[Any, ...]:
        """Every option."""
        return self.options

    def values(self, st: Any) -> Any:
        """Any option."""
        return st.sampled_from(self.options)

    def defects(self, st: Any) -> Any:
        """An unknown option, a number."""
        return st.sampled_from([("不存在的档次", "unknown-option", ()), (1, "wrong-type", ())])

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A choice among a few options."""
        names = ["优", "良", "中", "差"]
        return st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True).map(
            lambda options: {"type": "choice", "label": "档次", "options": options}
        )

    def fast(self) -> Callable[[Any], bool]:
        """A known option."""
        known = frozenset(self.options)
        return lambda value: type(value) is str and value in known

    def value_schema(self) -> dict[str, Any]:
        """A JSON enum."""
        return {"enum": list(self.options)}


@field_type("assessed")
class Assessed(FieldSpec):
    """Amounts the assessor chose inside ``range``, each with a reason (酌情、视情节)."""

    type: Literal["assessed"]
    range: tuple[Points, Points]
    step: Points = Decimal("0.5")
    max_entries: Whole | None = Field(default=None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _sane_range(self) -> Assessed:
        low, high = self.range
        if low < 0 or low > high:
            raise ValueError("range must be [low, high] with 0 <= low <= high")
        if self.step <= 0:
            raise ValueError("step must be positive")
        if low % self.step or high % self.step:
            raise ValueError("both ends of the range must be multiples of step")
        return self

    def check(self, value: Any) -> Any:
        """Accept a list of {points, reason} with points in range on the step."""
        if not isinstance(value, (list, tuple)):
            raise Invalid(
                Defect(
                    "wrong-type",
                    f"expected a list of {{points, reason}}, got {_kind(value)}",
                    (),
                    "write [] when the assessor chose nothing",
                )
            )
        if self.max_entries is not None and len(value) > self.max_entries:
            raise Invalid(
                Defect(
                    "too-many",
                    f"at most {self.max_entries} amount(s) may be chosen, got {len(value)}",
                )
            )
        out: list[Assessment] = []
        defects: list[Defect] = []
        for index, entry in enumerate(value):
            try:
                out.append(self._entry(entry, (index,)))
            except Invalid as bad:
                defects.extend(bad.defects)
        if defects:
            raise Invalid(*defects)
        return tuple(out)

    def _entry(self, entry: Any, path: Path) -> Assessment:
        if isinstance(entry, Assessment):
            entry = {"points": entry.points, "reason": entry.reason}
        if not isinstance(entry, dict):
            raise Invalid(Defect("wrong-type", f"expected {{points, reason}}, got {_kind(entry)}", path))
        extra = sorted(set(entry) - {"points", "reason"}, key=str)
        if extra:
            raise Invalid(
                Defect(
                    "unknown-key",
                    f"unknown key {short_repr(extra[0])}",
                    (*path, extra[0]),
                    suggest(str(extra[0]), ["points", "reason"]),
                )
            )
        missing = [k for k in ("points", "reason") if k not in entry]
        if missing:
            raise Invalid(*(Defect("missing", f"'{k}' is required", (*path, k)) for k in missing))
        points = entry["points"]
        low, high = self.range
        if isinstance(points, bool) or not isinstance(points, (int, Decimal)):
            raise Invalid(
                Defect(
                    "wrong-type",
                    f"points must be a number, got {_kind(points)}",
                    (*path, "points"),
                    "write the number without quotes" if isinstance(points, str) else "",
                )
            )
        points = Decimal(points)
        if not points.is_finite():
            raise Invalid(Defect("not-finite", "points must be a finite number", (*path, "points")))
        if not low <= points <= high:
            raise Invalid(
                Defect(
                    "out-of-range",
                    f"{short_repr(points)} is outside the range {text(low)}–{text(high)}",
                    (*path, "points"),
                )
            )
        exponent = points.as_tuple().exponent
        too_fine = isinstance(exponent, int) and exponent < -MAX_PLACES  # and % would overflow
        if too_fine or points % self.step:
            raise Invalid(
                Defect(
                    "off-step",
                    f"{points if too_fine else text(points)} is not a multiple of {text(self.step)}",
                    (*path, "points"),
                )
            )
        reason = check_text(entry["reason"], (*path, "reason"))
        if not reason.strip():
            raise Invalid(Defect("missing", "give the reason for the amount chosen", (*path, "reason")))
        return Assessment(points=points, reason=reason)

    def amounts(self) -> Iterator[Decimal]:
        """Every amount on the step inside the range."""
        value = self.range[0]
        while value <= self.range[1]:
            yield value
            value += self.step

    def domain(self) -> tuple[Any, ...]:
        """None chosen, and one at the top of the range."""
        return ((), (Assessment(self.range[1], "analysis"),))

    def analysis_size(self, marks: Marks) -> int:
        """A few per marked number of entries, and two per sum mark for each."""
        return assessed_size(self.range[1], self.max_entries, marks)

    def analysis_values(self, marks: Marks) -> Iterator[Any]:
        """Stand-ins: (how many entries, what they add up to)."""
        return assessed_values(*self.range, self.step, self.max_entries, marks)

    def concrete(self, value: Any) -> Any:
        """``count`` entries inside the range adding up to the sum."""
        if not isinstance(value, Amounts):
            return value
        return tuple(Assessment(a, "analysis") for a in assessed_amounts(*self.range, value))

    def analysis_all(self, marks: Marks, limit: int) -> list[Any] | None:
        """Every (entries, total) pair, when there is a last count and few pairs."""
        return assessed_all(*self.range, self.step, self.max_entries, limit)

    def values(self, st: Any) -> Any:
        """Lists of amounts on the step inside the range (ends included), each with a reason.

        Amounts are drawn as a number of steps above the low end, so a fine step over a wide
        range is never listed."""
        low, high = self.range
        steps = int((high - low) / self.step)
        amount = st.one_of(
            st.sampled_from([low, high]), st.integers(0, steps).map(lambda n: low + n * self.step)
        )
        entry = st.builds(
            lambda p, r: {"points": p, "reason": r},
            amount,
            st.sampled_from(["情节较轻", "情节严重", "迟到3次"]),
        )
        return st.lists(entry, max_size=min(self.max_entries or 4, 8))

    def defects(self, st: Any) -> Any:
        """Amounts outside the range or off the step, blank reasons, too many entries."""
        low, high = self.range
        bad = [
            ([{"points": high + self.step, "reason": "r"}], "out-of-range", (0, "points")),
            ([{"points": low, "reason": " "}], "missing", (0, "reason")),
            ([{"points": "3", "reason": "r"}], "wrong-type", (0, "points")),
            ({"points": low, "reason": "r"}, "wrong-type", ()),
        ]
        if low + self.step / 2 < high:
            bad.append(([{"points": low + self.step / 2, "reason": "r"}], "off-step", (0, "points")))
        if self.max_entries is not None:
            bad.append(([{"points": low, "reason": "r"}] * (self.max_entries + 1), "too-many", ()))
        return st.sampled_from(bad)

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A range of a few points, with a step and maybe a limit on entries."""

        def build(low: int, extra: int, step: Decimal, most: int | None) -> dict[str, Any]:
            out: dict[str, Any] = {
                "type": "assessed",
                "label": "酌情",
                "range": [low, low + extra],
                "step": step,
            }
            if most is not None:
                out["max_entries"] = most
            return out

        return st.builds(
            build,
            st.integers(0, 5),
            st.integers(0, 5),
            st.sampled_from([Decimal("0.5"), Decimal(1)]),
            st.none() | st.integers(1, 3),
        )

    def fast(self) -> Callable[[Any], bool]:
        """No amount chosen (anything else is checked entry by entry)."""
        return lambda value: (type(value) is list or type(value) is tuple) and not value

    def canonical(self, value: Any) -> Any:
        """A tuple of Assessments."""
        return tuple(value)

    def value_schema(self) -> dict[str, Any]:
        """A JSON array of {points, reason}."""
        low, high = self.range
        schema: dict[str, Any] = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "points": {
                        "type": "number",
                        "minimum": json_number(low),
                        "maximum": json_number(high),
                        "multipleOf": json_number(self.step),
                    },
                    "reason": {"type": "string", "minLength": 1},
                },
                "required": ["points", "reason"],
                "additionalProperties": False,
            },
        }
        if self.max_entries is not None:
            schema["maxItems"] = self.max_entries
        return schema

    def to_json(self, value: Any) -> Any:
        """A list of {points, reason} with exact points."""
        return [entry.as_json() for entry in value]


def total(entries: tuple[Assessment, ...]) -> Decimal:
    """The sum of chosen amounts."""
    if isinstance(entries, Amounts):
        return entries.sum
    return sum((e.points for e in entries), ZERO)


# Quantity types live in their own module, which registers them into FIELD_TYPES; imported here,
# after everything it needs is defined, so that the union names every registered type.
from ._quantities import Date, Number  # noqa: E402

FieldUnion = Annotated[
    Flag | Count | Checklist | Choice | Assessed | Number | Date, Field(discriminator="type")
]
