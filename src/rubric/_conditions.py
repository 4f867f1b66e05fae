"""Conditions: structured tests on a criterion's evidence fields, compiled to predicates at load.

A condition is data (a field name, or a mapping with ``not``/``all``/``any``/``field``/``score``);
it is checked against the declared fields once, and turned into a plain Python closure once, so
that scoring a record only calls closures.

A ``score`` test reads a computed score (a criterion's, a category's, the base's or the total's)
instead of a fact: 「基础指标得分达到85分以上的单位方可申报加分」. The evaluator puts the scores a
condition needs into the facts it is given under keys no field can have (``score_key``), computed
in dependency order; ``_loading`` checks that the names exist and that no score depends on itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ._fields import Assessed, Checklist, Choice, Count, Defect, FieldSpec, Flag, close_name, listed
from ._numbers import Counted, NonEmpty, Points, Whole
from ._quantities import Number

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Not(_Base):
    """True when the inner condition is false."""

    not_: Condition = Field(alias="not")


class All(_Base):
    """True when every inner condition is true."""

    all_: NonEmpty[tuple[Annotated[Condition, Counted], ...]] = Field(alias="all")


class AnyOf(_Base):
    """True when at least one inner condition is true."""

    any_: NonEmpty[tuple[Annotated[Condition, Counted], ...]] = Field(alias="any")


class Test(_Base):
    """A test on one field: ``is``, ``at_least``, ``at_most`` or ``has``."""

    field: str
    is_: bool | str | None = Field(default=None, alias="is")
    # A decimal threshold is only for a number field; ``check`` says so for the others.
    at_least: Annotated[Whole, Field(ge=0)] | Points | None = None
    at_most: Annotated[Whole, Field(ge=0)] | Points | None = None
    has: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Test:
        if self.is_ is None and self.at_least is None and self.at_most is None and self.has is None:
            raise ValueError("give one of: is, at_least, at_most, has")
        return self


class ScoreTest(_Base):
    """A test on a computed score: ``at_least``/``at_most`` (inclusive), ``below``/``above`` (strict)."""

    score: str = Field(min_length=1)
    at_least: Points | None = None
    at_most: Points | None = None
    below: Points | None = None
    above: Points | None = None

    @model_validator(mode="after")
    def _one_test(self) -> ScoreTest:
        if (self.at_least, self.at_most, self.below, self.above) == (None, None, None, None):
            raise ValueError("give one of: at_least, at_most, below, above (低于60分 is below: 60)")
        return self


BASE, TOTAL = "base", "total"  # score names that are not ids: the base (before sections), the total


def score_key(name: str) -> str:
    """The key under which a needed score sits among facts (ids hold no space, so no field has it)."""
    return f"score {name}"


def _tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "flag"
    if isinstance(value, dict):
        for key in ("not", "all", "any", "field", "score"):
            if key in value:
                return key
        return None
    tags: dict[type, str] = {Not: "not", All: "all", AnyOf: "any", Test: "field", ScoreTest: "score"}
    return tags.get(type(value))


Condition = Annotated[
    Annotated[str, Tag("flag")]
    | Annotated[Not, Tag("not")]
    | Annotated[All, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Test, Tag("field")]
    | Annotated[ScoreTest, Tag("score")],
    Discriminator(
        _tag,
        custom_error_type="bad-condition",
        custom_error_message="a condition is a flag field's name, or a mapping with one of: "
        "not, all, any, field, score",
    ),
]

for _model in (Not, All, AnyOf, Test, ScoreTest):
    _model.model_rebuild()


def _leaves(cond: Condition) -> Iterator[str | Test | ScoreTest]:
    if isinstance(cond, Not):
        yield from _leaves(cond.not_)
    elif isinstance(cond, (All, AnyOf)):
        for inner in cond.all_ if isinstance(cond, All) else cond.any_:
            yield from _leaves(inner)
    else:
        yield cond


def reads(cond: Condition) -> Iterator[str]:
    """The field names a condition reads (not the scores: ``scores_read``)."""
    for leaf in _leaves(cond):
        if isinstance(leaf, str):
            yield leaf
        elif isinstance(leaf, Test):
            yield leaf.field


def scores_read(cond: Condition) -> Iterator[str]:
    """The names of the computed scores a condition reads, in order."""
    for leaf in _leaves(cond):
        if isinstance(leaf, ScoreTest):
            yield leaf.score


def _holds(t: Decimal, lo: Decimal, hi: Decimal, strict: bool) -> bool | None:
    """Whether x ≥ t (x > t when strict) for every x in [lo, hi]: True, False, or None (for some)."""
    if lo > t or (lo == t and not strict):
        return True
    return None if hi > t or (hi == t and not strict) else False


def settled(cond: Condition, scores: Mapping[str, tuple[Decimal, Decimal]]) -> bool | None:
    """True or False when the condition has that value for every score in the given ranges (by
    name), None when it depends on facts or on where in its range a score falls."""
    if isinstance(cond, Not):
        inner = settled(cond.not_, scores)
        return None if inner is None else not inner
    if isinstance(cond, (All, AnyOf)):
        values = [settled(c, scores) for c in (cond.all_ if isinstance(cond, All) else cond.any_)]
        decisive = isinstance(cond, AnyOf)  # any true settles AnyOf; any false settles All
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    if not isinstance(cond, ScoreTest) or cond.score not in scores:
        return None
    low, high = scores[cond.score]
    # Each test as "x ≥ t" (or "x > t"), x the score or its negation; every test given must hold.
    values = [
        _holds(t, lo, hi, strict)
        for t, lo, hi, strict in (
            (cond.at_least, low, high, False),
            (None if cond.at_most is None else -cond.at_most, -high, -low, False),
            (None if cond.below is None else -cond.below, -high, -low, True),
            (cond.above, low, high, True),
        )
        if t is not None
    ]
    return False if False in values else None if None in values else True


def check(cond: Condition, fields: Mapping[str, FieldSpec], *, scores: bool = False) -> Iterator[Defect]:
    """Defects of a condition against the declared fields (paths relative to the condition).

    ``scores``: whether the condition may read computed scores (a veto's may; a rule's reads its
    criterion's facts only). The names read are checked against the rubric in ``_loading``."""
    if isinstance(cond, ScoreTest):
        if not scores:
            yield Defect(
                "bad-condition",
                "a rule's condition reads its criterion's evidence; a score is read by a veto",
                ("score",),
                "put the test under the category's or the rubric's vetoes: (only_if: for a gate)",
            )
    elif isinstance(cond, str):
        yield from _known(cond, fields, ())
        if cond in fields and not isinstance(fields[cond], Flag):
            yield Defect(
                "bad-condition",
                f"'{cond}' is a {fields[cond].type_name} field; a bare name tests a flag",
                (),
                f"use {{field: {cond}, ...}}",
            )
    elif isinstance(cond, Not):
        yield from _nested(check(cond.not_, fields, scores=scores), "not")
    elif isinstance(cond, (All, AnyOf)):
        key, inner = ("all", cond.all_) if isinstance(cond, All) else ("any", cond.any_)
        for index, sub in enumerate(inner):
            yield from _nested(check(sub, fields, scores=scores), key, index)
    else:
        yield from _check_test(cond, fields)


def _nested(defects: Iterator[Defect], *prefix: str | int) -> Iterator[Defect]:
    for d in defects:
        yield Defect(d.code, d.message, (*prefix, *d.path), d.hint)


def _known(name: str, fields: Mapping[str, FieldSpec], path: tuple[str, ...]) -> Iterator[Defect]:
    if name not in fields:
        declared = listed(fields, ", ") or "none"
        yield Defect(
            "unknown-field",
            f"'{name}' is not a declared evidence field of this criterion; declared: {declared}",
            path,
            close_name(name, fields),
        )


def _check_test(test: Test, fields: Mapping[str, FieldSpec]) -> Iterator[Defect]:
    spec = fields.get(test.field)
    if spec is None:
        yield from _known(test.field, fields, ("field",))
        return
    if test.is_ is not None:
        if isinstance(spec, Flag) and not isinstance(test.is_, bool):
            yield Defect("bad-condition", "a flag is compared with true or false", ("is",))
        elif isinstance(spec, Choice) and test.is_ not in spec.options:
            yield Defect(
                "bad-condition",
                f"'{test.is_}' is not an option of '{test.field}'",
                ("is",),
                close_name(str(test.is_), spec.options),
            )
        elif not isinstance(spec, (Flag, Choice)):
            yield Defect(
                "bad-condition",
                f"'is' tests a flag or choice; '{test.field}' is a {spec.type_name}",
                ("is",),
                "use at_least / at_most",
            )
    for key, bound in (("at_least", test.at_least), ("at_most", test.at_most)):
        if bound is not None and not isinstance(spec, (Count, Checklist, Assessed, Number)):
            yield Defect(
                "bad-condition",
                f"'{key}' tests a count, checklist, assessed or number field; "
                f"'{test.field}' is a {spec.type_name}",
                (key,),
            )
        elif bound is not None and type(bound) is not int and not isinstance(spec, Number):
            yield Defect(
                "int-type",
                f"a whole number is needed here, got {bound}",
                (key,),
                "counts and their thresholds are whole numbers (at_least: 3 means 3 or more); "
                "a decimal threshold is for a number field",
            )
    if test.has is not None:
        if not isinstance(spec, Checklist):
            yield Defect(
                "bad-condition",
                f"'has' tests a checklist; '{test.field}' is a {spec.type_name}",
                ("has",),
            )
        elif test.has not in spec.items:
            yield Defect(
                "bad-condition",
                f"'{test.has}' is not an item of '{test.field}'",
                ("has",),
                close_name(test.has, spec.items),
            )


def flag_test(cond: Condition) -> tuple[str, bool] | None:
    """(field, value) when the condition only asks whether one flag is true or false."""
    if isinstance(cond, str):
        return cond, True
    if isinstance(cond, Not) and isinstance(cond.not_, str):
        return cond.not_, False
    return None


def compile_condition(cond: Condition, fields: Mapping[str, FieldSpec]) -> Predicate:
    """A predicate over a criterion's validated facts (the condition has passed ``check``)."""
    simple = flag_test(cond)
    if simple is not None:
        name, expected = simple
        return lambda facts: facts[name] is expected
    if isinstance(cond, str):
        name = cond
        return lambda facts: facts[name] is True
    if isinstance(cond, Not):
        inner = compile_condition(cond.not_, fields)
        return lambda facts: not inner(facts)
    if isinstance(cond, All):
        parts = tuple(compile_condition(c, fields) for c in cond.all_)
        return lambda facts: all(p(facts) for p in parts)
    if isinstance(cond, AnyOf):
        parts = tuple(compile_condition(c, fields) for c in cond.any_)
        return lambda facts: any(p(facts) for p in parts)
    if isinstance(cond, ScoreTest):
        return _compile_score_test(cond)
    return _compile_test(cond, fields[cond.field])


def _compile_score_test(test: ScoreTest) -> Predicate:
    key = score_key(test.score)
    least, most, below, above = test.at_least, test.at_most, test.below, test.above
    return lambda facts: (
        (least is None or facts[key] >= least)
        and (most is None or facts[key] <= most)
        and (below is None or facts[key] < below)
        and (above is None or facts[key] > above)
    )


def _compile_test(test: Test, spec: FieldSpec) -> Predicate:
    name = test.field
    size: Callable[[Any], Any] = (lambda v: v) if isinstance(spec, (Count, Number)) else len
    checks: list[Predicate] = []
    if test.is_ is not None:
        expected = test.is_
        checks.append(lambda facts: facts[name] == expected)
    if test.at_least is not None:
        low = test.at_least
        checks.append(lambda facts: size(facts[name]) >= low)
    if test.at_most is not None:
        high = test.at_most
        checks.append(lambda facts: size(facts[name]) <= high)
    if test.has is not None:
        item = test.has
        checks.append(lambda facts: item in facts[name])
    if len(checks) == 1:
        return checks[0]
    both = tuple(checks)
    return lambda facts: all(c(facts) for c in both)


def samples(st: Any, fields: Mapping[str, FieldSpec]) -> Any:
    """A hypothesis strategy of raw conditions over ``fields``, or None if none can be written."""
    leaves = []
    for name, spec in fields.items():
        if isinstance(spec, Flag):
            leaves.append(st.just(name))
        elif isinstance(spec, Count):
            leaves.append(st.integers(0, spec.max).map(lambda n, f=name: {"field": f, "at_least": n}))
        elif isinstance(spec, Checklist):
            leaves.append(st.sampled_from(spec.items).map(lambda i, f=name: {"field": f, "has": i}))
            leaves.append(st.integers(0, len(spec.items)).map(lambda n, f=name: {"field": f, "at_most": n}))
        elif isinstance(spec, Choice):
            leaves.append(st.sampled_from(spec.options).map(lambda o, f=name: {"field": f, "is": o}))
        elif isinstance(spec, Number):
            leaves.append(spec.values(st).map(lambda n, f=name: {"field": f, "at_least": n}))
        elif isinstance(spec, Assessed):
            leaves.append(st.integers(0, 2).map(lambda n, f=name: {"field": f, "at_least": n}))
    if not leaves:
        return None
    return st.recursive(
        st.one_of(leaves),
        lambda inner: st.one_of(
            inner.map(lambda c: {"not": c}),
            st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"all": cs}),
            st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"any": cs}),
        ),
        max_leaves=4,
    )
