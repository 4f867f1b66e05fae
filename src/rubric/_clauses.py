"""Clause kinds: one small class per kind of scoring rule, registered by its YAML key.

Every kind has the same four methods, and everything else is driven from ``CLAUSES``: the rubric
schema (the rule union is built from it), the evaluator (it calls ``compile`` once per rule at
load), the static checks (``check`` and ``bounds``) and the test strategies. A new kind is one
class here.

Signs: a rule's function returns the signed points it contributes (awards positive, deductions
negative), or ``None`` when it does not apply to the record. A veto returns 0 when it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._conditions import All, AnyOf, Condition, Facts, Not, Test, compile_condition, flag_test
from ._conditions import check as check_condition
from ._conditions import reads as condition_reads
from ._conditions import samples as condition_samples
from ._domains import Marks
from ._fields import Assessed, Checklist, Choice, Count, Defect, FieldSpec, close_name, listed, total
from ._numbers import ZERO, Counted, NonEmpty, Points
from ._quantities import Number

INFINITY = Decimal("Infinity")
POINTS = (Decimal("0.5"), Decimal(1), Decimal(2), Decimal(3), Decimal(5))


def _caps(st: Any) -> Any:
    return st.one_of(st.just({}), st.sampled_from(POINTS[2:]).map(lambda c: {"cap": c}))


Apply = Callable[[Facts], Decimal | None]


def condition_marks(cond: Condition, out: dict[str, Marks]) -> None:
    """Add what a condition observes: the sizes either side of each threshold, the items named."""
    if isinstance(cond, Not):
        condition_marks(cond.not_, out)
    elif isinstance(cond, (All, AnyOf)):
        for inner in cond.all_ if isinstance(cond, All) else cond.any_:
            condition_marks(inner, out)
    elif isinstance(cond, Test):
        marks = out.setdefault(cond.field, Marks())
        # A decimal threshold (number fields only) is marked as such: the field tries one
        # step either side of it.
        for bound, near in ((cond.at_least, -1), (cond.at_most, 1)):
            if isinstance(bound, Decimal):
                marks.sums.add(bound)
            elif bound is not None:
                marks.counts |= {bound, bound + near}
        if cond.has is not None:
            marks.items.add(cond.has)


def _quotient(cap: Decimal, per: Decimal) -> set[int]:
    """The whole numbers of units either side of where ``per`` points a unit reach ``cap``."""
    q = cap / per
    return {int(q.to_integral_value(ROUND_FLOOR)), int(q.to_integral_value(ROUND_CEILING))}


class Clause(BaseModel):
    """What every rule has: the clause it quotes, an optional id and note."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]
    vetoes: ClassVar[bool] = False
    target_type: ClassVar[type[FieldSpec] | None] = None

    clause: str = Field(min_length=1)
    id: str | None = None
    note: str | None = None

    def target(self) -> str:
        """The evidence field the kind key names (for kinds that name one)."""
        value = getattr(self, self.kind)
        assert isinstance(value, str)
        return value

    def reads(self) -> tuple[str, ...]:
        """The evidence fields this rule reads."""
        return (self.target(),)

    def conditions(self) -> tuple[Condition, ...]:
        """The conditions this rule tests (static analysis takes its thresholds from them)."""
        return ()

    def fixed_awards(self) -> dict[str, Decimal]:
        """Named amounts the rule can award at once (tiers' levels), for the cap check."""
        return {}

    def marks(self, fields: Mapping[str, FieldSpec]) -> dict[str, Marks]:
        """What this rule observes of each field it reads: the values either side of which its
        result can change (static analysis tries those and the ends of each field)."""
        out: dict[str, Marks] = {}
        for cond in self.conditions():
            condition_marks(cond, out)
        return out

    def check(self, fields: Mapping[str, FieldSpec]) -> Iterator[Defect]:
        """Defects of this rule against the criterion's declared fields."""
        if self.target_type is None:
            return
        name = self.target()
        spec = fields.get(name)
        if spec is None:
            declared = listed(fields, ", ") or "none"
            yield Defect(
                "unknown-field",
                f"'{name}' is not a declared evidence field of this criterion; declared: {declared}",
                (self.kind,),
                close_name(name, fields),
            )
        elif not isinstance(spec, self.target_type):
            yield Defect(
                "wrong-field-type",
                f"{self.kind} needs a {self.target_type.type_name} field; '{name}' is a {spec.type_name}",
                (self.kind,),
            )

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """The function applied to each record's facts (fields have passed ``check``)."""
        raise NotImplementedError

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """The least and most signed points this rule can contribute, before its cap."""
        raise NotImplementedError

    @property
    def rule_cap(self) -> Decimal | None:
        """The most this one rule may add or take off, if it is capped."""
        return None

    @classmethod
    def samples(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        """A hypothesis strategy of raw rules of this kind over ``fields`` (None if none fits).

        ``st`` is ``hypothesis.strategies``, passed in so the core never imports hypothesis.
        """
        if cls.target_type is None:
            return None
        names = [n for n, spec in fields.items() if isinstance(spec, cls.target_type)]
        if not names:
            return None
        extra = cls._sample_extra(st, fields)
        return st.builds(
            lambda name, more, cap: {cls.kind: name, "clause": cls.kind, **more, **cap},
            st.sampled_from(names),
            extra,
            _caps(st) if issubclass(cls, _Capped) else st.just({}),
        )

    @classmethod
    def _sample_extra(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        return st.sampled_from(POINTS).map(lambda p: {"points": p})


CLAUSES: dict[str, type[Clause]] = {}


def clause(key: str) -> Callable[[type[Clause]], type[Clause]]:
    """Register a clause kind under its YAML key."""

    def register(cls: type[Clause]) -> type[Clause]:
        cls.kind = key
        CLAUSES[key] = cls
        return cls

    return register


class _Conditional(Clause):
    when: Condition

    def conditions(self) -> tuple[Condition, ...]:
        """The ``when`` condition."""
        return (self.when,)

    @classmethod
    def samples(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        """``deduct``/``award`` of a few points under a random condition."""
        conditions = condition_samples(st, fields)
        if conditions is None:
            return None
        return st.builds(
            lambda p, c: {cls.kind: p, "when": c, "clause": cls.kind}, st.sampled_from(POINTS), conditions
        )

    def reads(self) -> tuple[str, ...]:
        """The fields the condition reads, once each."""
        return tuple(dict.fromkeys(condition_reads(self.when)))

    def check(self, fields: Mapping[str, FieldSpec]) -> Iterator[Defect]:
        """The condition's defects, under ``when``."""
        for d in check_condition(self.when, fields):
            yield Defect(d.code, d.message, ("when", *d.path), d.hint)


def _when(cond: Condition, fields: Mapping[str, FieldSpec], points: Decimal) -> Apply:
    simple = flag_test(cond)
    if simple is not None:  # the common case, one call per record instead of two
        name, expected = simple
        return lambda facts: points if facts[name] is expected else None
    holds = compile_condition(cond, fields)
    return lambda facts: points if holds(facts) else None


@clause("deduct")
class Deduct(_Conditional):
    """Take fixed points off when the condition holds (不健全扣2分)."""

    deduct: Points = Field(gt=0)

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """-points when the condition holds."""
        return _when(self.when, fields, -self.deduct)

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """[-points, 0]."""
        return -self.deduct, ZERO


@clause("award")
class Award(_Conditional):
    """Add fixed points when the condition holds (编制目录得2分)."""

    award: Points = Field(gt=0)

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """+points when the condition holds."""
        return _when(self.when, fields, self.award)

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """[0, points]."""
        return ZERO, self.award


class _Capped(Clause):
    sign: ClassVar[int] = -1
    cap: Points | None = Field(default=None, gt=0)

    @property
    def rule_cap(self) -> Decimal | None:
        """The rule's own cap."""
        return self.cap

    def _span(self, uncapped: Decimal) -> tuple[Decimal, Decimal]:
        """[−most, 0] for a deduction, [0, most] for an award; most is within the rule's cap."""
        most = uncapped if self.cap is None else min(uncapped, self.cap)
        return (-most, ZERO) if self.sign < 0 else (ZERO, most)


@clause("per_missing")
class PerMissing(_Capped):
    """Take ``points`` off for each checklist item not present (缺一项扣1分)."""

    target_type = Checklist
    per_missing: str
    points: Points = Field(gt=0)

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """-points × missing items."""
        name, per = self.per_missing, self.points
        size = len(fields[name].items)  # type: ignore[attr-defined]

        def apply(facts: Facts) -> Decimal | None:
            missing = size - len(facts[name])
            return -per * missing if missing else None

        return apply

    def marks(self, fields: Mapping[str, FieldSpec]) -> dict[str, Marks]:
        """Where the missing items reach the cap, as a number of items present."""
        size = len(fields[self.per_missing].items)  # type: ignore[attr-defined]
        counts = set() if self.cap is None else {size - q for q in _quotient(self.cap, self.points)}
        return {self.per_missing: Marks(counts=counts)}

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """[-points × items, 0]."""
        spec = fields[self.per_missing]
        assert isinstance(spec, Checklist)
        return self._span(self.points * len(spec.items))


class _Each(_Capped):
    target_type = Count
    points: Points = Field(gt=0)

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """±points × count."""
        name, per = self.target(), self.points * self.sign
        return lambda facts: per * facts[name] if facts[name] else None

    def marks(self, fields: Mapping[str, FieldSpec]) -> dict[str, Marks]:
        """Where the count reaches the cap."""
        counts = set() if self.cap is None else _quotient(self.cap, self.points)
        return {self.target(): Marks(counts=counts)}

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """0 to ±points × the count's maximum."""
        spec = fields[self.target()]
        assert isinstance(spec, Count)
        return self._span(self.points * spec.max)


@clause("deduct_each")
class DeductEach(_Each):
    """Take ``points`` off per counted occurrence (每人次扣5分)."""

    sign = -1
    deduct_each: str


@clause("award_each")
class AwardEach(_Each):
    """Add ``points`` per counted occurrence (每件奖3分)."""

    sign = 1
    award_each: str


class _Assessed(_Capped):
    target_type = Assessed

    @classmethod
    def _sample_extra(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        return st.just({})

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """± the sum of the amounts the assessor chose."""
        name, sign = self.target(), self.sign
        return lambda facts: sign * total(facts[name]) if facts[name] else None

    def marks(self, fields: Mapping[str, FieldSpec]) -> dict[str, Marks]:
        """Where the amounts add up to the cap."""
        return {self.target(): Marks(sums=set() if self.cap is None else {self.cap})}

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """0 to ± the top of the range × the most entries (unbounded without max_entries)."""
        spec = fields[self.target()]
        assert isinstance(spec, Assessed)
        return self._span(INFINITY if spec.max_entries is None else spec.range[1] * spec.max_entries)


@clause("deduct_assessed")
class DeductAssessed(_Assessed):
    """Take off the amounts the assessor chose inside a range (酌情扣3—5分)."""

    sign = -1
    deduct_assessed: str


@clause("award_assessed")
class AwardAssessed(_Assessed):
    """Add the amounts the assessor chose inside a range (每项各加3-5分)."""

    sign = 1
    award_assessed: str


@clause("tiers")
class Tiers(Clause):
    """Add the points of the one level that applies (得5分 / 得3分 / 不得分)."""

    target_type = Choice
    tiers: str
    levels: NonEmpty[dict[str, Annotated[Points, Counted]]]

    @model_validator(mode="after")
    def _non_negative(self) -> Tiers:
        for name, points in self.levels.items():
            if points < 0:
                raise ValueError(f"level '{name}' has negative points; use a deduct rule instead")
        return self

    def check(self, fields: Mapping[str, FieldSpec]) -> Iterator[Defect]:
        """The field must be a choice whose options are exactly the levels."""
        yield from super().check(fields)
        spec = fields.get(self.tiers)
        if not isinstance(spec, Choice):
            return
        for option in spec.options:
            if option not in self.levels:
                yield Defect(
                    "missing-level",
                    f"option '{option}' of '{self.tiers}' has no level",
                    ("levels",),
                    "give every option its points (0 for 不得分)",
                )
        for level in self.levels:
            if level not in spec.options:
                yield Defect(
                    "unknown-level",
                    f"level '{level}' is not an option of '{self.tiers}'",
                    ("levels", level),
                    close_name(level, spec.options),
                )

    @classmethod
    def samples(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        """Tiers over a choice field, each option with its points."""
        choices = [(n, spec.options) for n, spec in fields.items() if isinstance(spec, Choice)]
        if not choices:
            return None
        levels = (Decimal(0), Decimal(1), Decimal("2.5"), Decimal(5))
        return st.sampled_from(choices).flatmap(
            lambda c: st.lists(st.sampled_from(levels), min_size=len(c[1]), max_size=len(c[1])).map(
                lambda pts: {"tiers": c[0], "levels": dict(zip(c[1], pts, strict=True)), "clause": "tiers"}
            )
        )

    def fixed_awards(self) -> dict[str, Decimal]:
        """Each level's points."""
        return dict(self.levels)

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """The chosen level's points."""
        name, levels = self.tiers, dict(self.levels)
        return lambda facts: levels[facts[name]]

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """[lowest level, highest level]."""
        return min(self.levels.values()), max(self.levels.values())


@clause("veto")
class Veto(Clause):
    """The criterion scores 0 when the condition holds (有就不得分)."""

    vetoes = True
    veto: Condition

    def reads(self) -> tuple[str, ...]:
        """The fields the condition reads."""
        return tuple(dict.fromkeys(condition_reads(self.veto)))

    def conditions(self) -> tuple[Condition, ...]:
        """The veto's condition."""
        return (self.veto,)

    def check(self, fields: Mapping[str, FieldSpec]) -> Iterator[Defect]:
        """The condition's defects, under ``veto``."""
        for d in check_condition(self.veto, fields):
            yield Defect(d.code, d.message, ("veto", *d.path), d.hint)

    @classmethod
    def samples(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        """A veto under a random condition."""
        conditions = condition_samples(st, fields)
        return None if conditions is None else conditions.map(lambda c: {"veto": c, "clause": "veto"})

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """0 when the veto holds."""
        holds = compile_condition(self.veto, fields)
        return lambda facts: ZERO if holds(facts) else None

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """A veto moves no points itself; the evaluator zeroes the criterion."""
        return ZERO, ZERO


def kind_of(value: Any) -> str | None:
    """The registered kind of a raw rule mapping (or model): its one kind key, else None."""
    if isinstance(value, Clause):
        return value.kind
    if isinstance(value, dict):
        keys = [key for key in CLAUSES if key in value]
        if len(keys) == 1:
            return keys[0]
    return None


MAX_STEPS = 1000  # step boundaries static analysis tries one by one; more is a missing max or cap


class _Steps(_Capped):
    """A stepped series on a number field with no upper end: ``first`` once the value exceeds
    ``over``, then ``each`` more for every further ``every`` it exceeds (此后每再超过…)."""

    target_type = Number
    over: Points
    first: Points = Field(gt=0)
    every: Points = Field(gt=0)
    each: Points = Field(ge=0)

    def _extra(self, value: Decimal) -> int:
        """Further steps exceeded: ceil((value − over) / every) − 1, in exact integers."""
        scale = Decimal(10) ** 8
        q, r = divmod(int((value - self.over) * scale), int(self.every * scale))
        return q if r else q - 1

    def _amount(self, value: Decimal) -> Decimal:
        return self.first + self.each * self._extra(value) if value > self.over else ZERO

    def _boundaries(self, spec: Number) -> list[Decimal]:
        """Where the series steps, up to the field's max (or where the cap is reached)."""
        out: list[Decimal] = []
        mark = self.over
        while mark < spec.max and len(out) <= MAX_STEPS:
            out.append(mark)
            if self.cap is not None and self._amount(mark + spec.step) >= self.cap:
                break
            mark += self.every
        return out

    def check(self, fields: Mapping[str, FieldSpec]) -> Iterator[Defect]:
        """The field must be a number; over and every on its places; the steps few enough."""
        found = list(super().check(fields))
        yield from found
        spec = fields.get(self.target())
        if found or not isinstance(spec, Number):
            return
        for key in ("over", "every"):
            value: Decimal = getattr(self, key)
            if value != value.quantize(spec.step):
                yield Defect(
                    "off-step",
                    f"{key} {value} has more decimal places than '{self.target()}' (places: {spec.places})",
                    (key,),
                )
        if len(self._boundaries(spec)) > MAX_STEPS:
            yield Defect(
                "too-many-steps",
                f"more than {MAX_STEPS} steps of {self.every} up to the max of '{self.target()}'",
                ("every",),
                "give the number field a max, or the rule a cap",
            )

    def compile(self, fields: Mapping[str, FieldSpec]) -> Apply:
        """±(first + each × further steps) once the value exceeds ``over``."""
        name, sign = self.target(), self.sign

        def apply(facts: Facts) -> Decimal | None:
            value = facts[name]
            return sign * self._amount(value) if value > self.over else None

        return apply

    def marks(self, fields: Mapping[str, FieldSpec]) -> dict[str, Marks]:
        """Every step boundary (the field tries one step either side of each)."""
        spec = fields[self.target()]
        assert isinstance(spec, Number)
        return {self.target(): Marks(sums=set(self._boundaries(spec)))}

    def bounds(self, fields: Mapping[str, FieldSpec]) -> tuple[Decimal, Decimal]:
        """0 to ± the series at the field's max."""
        spec = fields[self.target()]
        assert isinstance(spec, Number)
        return self._span(self._amount(spec.max))

    @classmethod
    def _sample_extra(cls, st: Any, fields: Mapping[str, FieldSpec]) -> Any:
        return st.builds(
            lambda over, first, every, each: {"over": over, "first": first, "every": every, "each": each},
            st.sampled_from([Decimal(0), Decimal(1), Decimal(5)]),
            st.sampled_from(POINTS),
            st.sampled_from([Decimal(1), Decimal(2)]),
            st.sampled_from((ZERO, *POINTS)),
        )


@clause("award_steps")
class AwardSteps(_Steps):
    """Add points in steps above a threshold (完成率超过110%加1分，此后每再超过10%加0.5分)."""

    sign = 1
    award_steps: str


@clause("deduct_steps")
class DeductSteps(_Steps):
    """Take points off in steps above a threshold (逾期1天扣1分，每再逾期5天加扣1分)."""

    sign = -1
    deduct_steps: str
