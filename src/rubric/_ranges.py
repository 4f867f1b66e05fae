"""Reachable score ranges: exact while a group of rules is small, a sound bound beyond.

Rules of a criterion are grouped by the evidence fields they share; groups are independent, so
a criterion's range is the clamp of the sum of its groups' ranges. A group is enumerated when its
combinations of values × its rules stay within ``BUDGET`` rule evaluations. The values tried per
field are what the rules can observe of it (``FieldSpec.analysis_values`` given the ``marks`` each
clause reports): never a whole domain, so a 100,000-item checklist or a fine-step assessed range
costs what its marks cost. Such a range is exact, and its ends are attained by the witnesses.

Beyond the budget a group's range is the sum of its rules' own ``bounds`` (each clamped by its
cap), and the criterion's range is then marked ``exact=False``: never narrower than the truth,
possibly wider. The cost of a criterion is O(rules × BUDGET) at worst, whatever its domains.

Partial evidence narrows a field to its known value, which answers "what totals are still
possible?" half-way through an assessment.
"""

from __future__ import annotations

import bisect
import copy
import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ._clauses import INFINITY, Apply, Clause
from ._conditions import BASE, TOTAL, Condition, scores_read, settled
from ._domains import Marks
from ._fields import FieldSpec
from ._model import Category, Criterion, RubricDoc
from ._numbers import ZERO, exact

BUDGET = 100_000  # rule evaluations per group of rules: combinations × rules
MAX_SUMS = 10_000  # distinct sums of other groups kept exactly (beyond: their interval)
MAX_EXACT_GROUPS = 16  # beyond this many groups, other groups are summed as intervals


@dataclass(frozen=True, slots=True)
class Range:
    """The lowest and highest score reachable; ``exact`` when evidence attains both ends
    (the witnesses), else a sound bound that contains every score."""

    low: Decimal
    high: Decimal
    exact: bool = True
    low_facts: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    high_facts: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    fields: Mapping[str, FieldSpec] = field(default_factory=dict, repr=False, compare=False)

    @property
    def low_witness(self) -> dict[str, Any]:
        """Facts that score ``low`` (when the range is exact)."""
        return {k: self.fields[k].concrete(v) for k, v in self.low_facts.items()}

    @property
    def high_witness(self) -> dict[str, Any]:
        """Facts that score ``high`` (when the range is exact)."""
        return {k: self.fields[k].concrete(v) for k, v in self.high_facts.items()}


def _capped(raw: Decimal, cap: Decimal | None) -> Decimal:
    return raw if cap is None else max(-cap, min(cap, raw))


@dataclass(slots=True)
class _Group:
    rules: list[int]
    fields: list[str]
    combinations: int = 0  # 0 when over the budget


@dataclass(slots=True)
class _Summary:
    """A group's outcome: its least and most points without a veto, and whether it can veto."""

    low: Decimal
    high: Decimal
    exact: bool
    can_veto: bool
    must_veto: bool = False
    low_facts: dict[str, Any] = field(default_factory=dict)
    high_facts: dict[str, Any] = field(default_factory=dict)
    veto_facts: dict[str, Any] = field(default_factory=dict)


class CriterionAnalysis:
    """One criterion's rules, compiled once, with the values worth trying for each field."""

    def __init__(self, criterion: Criterion, known: Mapping[str, Any] | None = None) -> None:
        self.criterion = criterion
        self.known = known or {}
        self.clauses: tuple[Clause, ...] = criterion.clauses()
        fields = criterion.evidence
        # How far the score can move: finite parts only (a penalty item has no floor, an unbounded
        # bonus item no points).
        finite = [v for v in (criterion.maximum, criterion.upper - criterion.lower) if v.is_finite()]
        span = max([*finite, Decimal(1)])
        self.marks: dict[str, Marks] = {name: Marks(span=span) for name in fields}
        for rule in self.clauses:
            for name, marks in rule.marks(fields).items():
                if name in self.marks:
                    self.marks[name].merge(marks)
        self.groups = self._group()
        self._applies: list[Apply] | None = None
        self._summaries: list[_Summary] | None = None
        self._outcomes: dict[int, list[tuple[dict[str, Any], list[Decimal | None]]]] = {}

    def narrowed(self, known: Mapping[str, Any]) -> CriterionAnalysis:
        """The same criterion with other facts known (marks, groups and rules are reused)."""
        other = copy.copy(self)
        other.known = known
        other._summaries = None
        other._outcomes = {}
        other.groups = [_Group(g.rules, g.fields) for g in self.groups]
        for group in other.groups:
            group.combinations = other._combinations(group)
        return other

    def reopened(self, name: str) -> CriterionAnalysis:
        """This analysis with one known fact open again: only the group reading it is analysed
        anew (the others keep their summaries), which makes ranking open facts cheap."""
        other = copy.copy(self)
        other.known = {k: v for k, v in self.known.items() if k != name}
        other._outcomes = {}
        groups, summaries = [], []
        for group, summary in zip(self.groups, self.summaries, strict=True):
            if name not in group.fields:
                groups.append(group)
                summaries.append(summary)
                continue
            opened = _Group(group.rules, group.fields)
            opened.combinations = other._combinations(opened)
            groups.append(opened)
            summaries.append(other.summary(opened))
        other.groups, other._summaries = groups, summaries
        return other

    @property
    def summaries(self) -> list[_Summary]:
        """Each group's summary (worked out once)."""
        if self._summaries is None:
            self._summaries = [self.summary(g) for g in self.groups]
        return self._summaries

    @property
    def applies(self) -> list[Apply]:
        """Each rule's compiled function (compiled on first use)."""
        if self._applies is None:
            self._applies = [rule.compile(self.criterion.evidence) for rule in self.clauses]
        return self._applies

    def _group(self) -> list[_Group]:
        # Union-find over fields: rules that read a common field land in one group.
        parent: dict[str, str] = {}

        def root(name: str) -> str:
            while parent[name] != name:
                parent[name] = parent[parent[name]]
                name = parent[name]
            return name

        reads = [rule.reads() for rule in self.clauses]
        for names in reads:
            for name in names:
                parent.setdefault(name, name)
            for name in names[1:]:
                parent[root(name)] = root(names[0])
        by_root: dict[str, _Group] = {}
        alone: list[_Group] = []
        for index, names in enumerate(reads):
            if not names:  # reads nothing: a group of its own
                alone.append(_Group([index], []))
                continue
            by_root.setdefault(root(names[0]), _Group([], [])).rules.append(index)
        for name in parent:
            by_root[root(name)].fields.append(name)
        groups = [*by_root.values(), *alone]
        for group in groups:
            group.combinations = self._combinations(group)
        return groups

    def size(self, name: str) -> int:
        """How many values of a field are tried."""
        if name in self.known:
            return 1
        return self.criterion.evidence[name].analysis_size(self.marks[name])

    def values(self, name: str) -> Iterator[Any]:
        """The values of a field that are tried (the known one alone, when known)."""
        if name in self.known:
            return iter((self.known[name],))
        return self.criterion.evidence[name].analysis_values(self.marks[name])

    def default(self, name: str) -> Any:
        """Some valid value of a field (for witnesses of fields no enumeration chose)."""
        return next(self.values(name))

    def _combinations(self, group: _Group) -> int:
        limit = BUDGET // max(1, len(group.rules))
        count = 1
        for name in group.fields:
            count *= self.size(name)
            if count > limit:
                return 0
        return count

    def outcomes(self, group: _Group) -> list[tuple[dict[str, Any], list[Decimal | None]]]:
        """Each combination of the group's values, with each rule's capped points (None: n/a).

        Kept while this analysis lives (at most ``BUDGET`` points per group): the range and the
        never-changes check read the same combinations."""
        cached = self._outcomes.get(id(group))
        if cached is None:
            cached = self._outcomes[id(group)] = list(
                self.evaluate(group, [list(self.values(name)) for name in group.fields])
            )
        return cached

    def evaluate(
        self, group: _Group, lists: list[list[Any]]
    ) -> Iterator[tuple[dict[str, Any], list[Decimal | None]]]:
        """Each combination of the values listed per field, with each rule's capped points."""
        applies = self.applies
        rules = [(applies[i], self.clauses[i].rule_cap) for i in group.rules]
        for combo in itertools.product(*lists):
            facts = dict(zip(group.fields, combo, strict=True))
            points: list[Decimal | None] = []
            for apply, cap in rules:
                raw = apply(facts)
                points.append(None if raw is None else _capped(raw, cap))
            yield facts, points

    def every_value(self, group: _Group) -> list[list[Any]] | None:
        """Every value of each of the group's fields that its rules can tell apart, when the
        combinations stay within the budget (else None)."""
        limit = BUDGET // max(1, len(group.rules))
        lists: list[list[Any]] = []
        count = 1
        for name in group.fields:
            if name in self.known:
                values: list[Any] | None = [self.known[name]]
            else:
                values = self.criterion.evidence[name].analysis_all(self.marks[name], limit)
            if values is None:
                return None
            count *= len(values)
            if count > limit:
                return None
            lists.append(values)
        return lists

    def vetoes(self, group: _Group) -> list[bool]:
        """Which of the group's rules are vetoes."""
        return [self.clauses[i].vetoes for i in group.rules]

    def summary(self, group: _Group) -> _Summary:
        """A group's range of points, enumerated within the budget, else from its rules' bounds."""
        vetoes = self.vetoes(group)
        if not group.combinations:
            low, high = self.interval(group.rules)
            return _Summary(low, high, False, any(vetoes))
        best: _Summary | None = None
        veto_facts: dict[str, Any] | None = None
        for facts, points in self.outcomes(group):
            if any(p is not None and v for p, v in zip(points, vetoes, strict=True)):
                if veto_facts is None:
                    veto_facts = facts
                continue
            total = sum((p for p, v in zip(points, vetoes, strict=True) if p is not None and not v), ZERO)
            if best is None:
                best = _Summary(total, total, True, False, low_facts=facts, high_facts=facts)
            elif total < best.low:
                best.low, best.low_facts = total, facts
            elif total > best.high:
                best.high, best.high_facts = total, facts
        if best is None:  # every combination vetoes
            assert veto_facts is not None
            return _Summary(ZERO, ZERO, True, True, True, veto_facts=veto_facts)
        if veto_facts is not None:
            best.can_veto, best.veto_facts = True, veto_facts
        return best

    def interval(self, rules: Sequence[int]) -> tuple[Decimal, Decimal]:
        """The sum of the rules' own bounds, each within its cap (a sound bound)."""
        low, high = ZERO, ZERO
        fields = self.criterion.evidence
        for index in rules:
            rule = self.clauses[index]
            if rule.vetoes:
                continue
            lo, hi = rule.bounds(fields)
            cap = rule.rule_cap
            low += lo if cap is None else max(lo, -cap)
            high += hi if cap is None else min(hi, cap)
        return low, high

    def clamp(self, value: Decimal) -> Decimal:
        """The criterion's floor and cap applied."""
        return max(self.criterion.lower, min(self.criterion.upper, value))

    def range(self) -> Range:
        """The criterion's range: exact when every group was enumerated."""
        c = self.criterion
        low_sum, high_sum = c.base, c.base
        low_facts: dict[str, Any] = {}
        high_facts: dict[str, Any] = {}
        can_veto = must_veto = False
        is_exact = True
        veto_facts: dict[str, Any] = {}
        for s in self.summaries:
            is_exact = is_exact and s.exact
            if s.can_veto:
                can_veto = True
                veto_facts.update(s.veto_facts)
            if s.must_veto:
                must_veto = True
                continue
            low_sum, high_sum = low_sum + s.low, high_sum + s.high
            low_facts.update(s.low_facts)
            high_facts.update(s.high_facts)
        for name in c.evidence:
            if name not in low_facts or name not in high_facts:
                value = self.default(name)
                low_facts.setdefault(name, value)
                high_facts.setdefault(name, value)
        low, high = self.clamp(low_sum), self.clamp(high_sum)
        # Without a floor (a penalty item, floor: null) or a cap (an unbounded bonus item), rules
        # with no limit of their own (assessed amounts without max_entries) have no end that way:
        # the stand-in values tried above cannot reach it, so say so rather than claim an end.
        every = self.interval(range(len(self.clauses)))
        if not c.lower.is_finite() and not every[0].is_finite():
            low, is_exact = -INFINITY, False
        if not c.upper.is_finite() and not every[1].is_finite():
            high, is_exact = INFINITY, False
        spec = c.evidence
        if must_veto:
            low_facts, high_facts = {**low_facts, **veto_facts}, {**high_facts, **veto_facts}
            return Range(ZERO, ZERO, is_exact, low_facts, high_facts, spec)
        if can_veto and low > ZERO:
            return Range(ZERO, high, is_exact, {**low_facts, **veto_facts}, high_facts, spec)
        if can_veto and high < ZERO:  # a negative floor: the veto's 0 is then the best score
            return Range(low, ZERO, is_exact, low_facts, {**high_facts, **veto_facts}, spec)
        return Range(low, high, is_exact, low_facts, high_facts, spec)


def criterion_range(criterion: Criterion, known: Mapping[str, Any] | None = None) -> Range:
    """The range of a criterion's score (given any known facts), with witnesses when exact."""
    return CriterionAnalysis(criterion, known).range()


def raw_high(analysis: CriterionAnalysis) -> Decimal:
    """The most the rules could add up to before the criterion's cap (may be infinite)."""
    return analysis.criterion.base + analysis.interval(range(len(analysis.clauses)))[1]


@dataclass(frozen=True, slots=True)
class _Others:
    """The points the other groups can give together: exactly (sorted) or as an interval."""

    values: list[Decimal] | None
    low: Decimal
    high: Decimal
    empty: bool = False

    def meets(self, above: Decimal, below: Decimal) -> bool:
        """Whether some sum lies strictly between ``above`` and ``below``."""
        if self.empty or above >= below:
            return False
        if self.values is None:
            return self.low < below and self.high > above
        i = bisect.bisect_right(self.values, above)
        return i < len(self.values) and self.values[i] < below


def _others(summaries: list[_Summary], sums: list[set[Decimal] | None]) -> Iterator[_Others]:
    """For each group, what all the other groups can give together: exactly when each gave all
    its sums and they are few, else the interval of their ranges (prefix and suffix sums keep
    this linear in the number of groups)."""
    n = len(summaries)
    lows, highs, vetoes = [ZERO] * (n + 1), [ZERO] * (n + 1), [0] * (n + 1)
    for i, s in enumerate(summaries):  # prefix sums; infinities only ever add to their own side
        lows[i + 1], highs[i + 1] = lows[i] + s.low, highs[i] + s.high
        vetoes[i + 1] = vetoes[i] + s.must_veto
    tail_low, tail_high, tail_veto = [ZERO] * (n + 1), [ZERO] * (n + 1), [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        s = summaries[i]
        tail_low[i], tail_high[i] = tail_low[i + 1] + s.low, tail_high[i + 1] + s.high
        tail_veto[i] = tail_veto[i + 1] + s.must_veto
    few = n - 1 <= MAX_EXACT_GROUPS
    for skip in range(n):
        if vetoes[skip] + tail_veto[skip + 1]:
            yield _Others(None, ZERO, ZERO, empty=True)
            continue
        low, high = lows[skip] + tail_low[skip + 1], highs[skip] + tail_high[skip + 1]
        exact_sums: set[Decimal] | None = {ZERO} if few else None
        for i, group_sums in enumerate(sums):
            if exact_sums is None or group_sums is None:
                exact_sums = None
                break
            if i != skip:
                if len(exact_sums) * len(group_sums) > BUDGET:  # the sumset costs their product
                    exact_sums = None
                    break
                exact_sums = {a + b for a in exact_sums for b in group_sums}
                exact_sums = exact_sums if len(exact_sums) <= MAX_SUMS else None
        yield _Others(None if exact_sums is None else sorted(exact_sums), low, high)


def _differs(c: Criterion, others: _Others, a: Decimal, a_veto: bool, b: Decimal, *, b_veto: bool) -> bool:
    """Whether group points ``a`` and ``b`` can give different final scores, given the others."""
    if (a_veto and b_veto) or others.empty:
        return False
    if a_veto or b_veto:
        free = b if a_veto else a
        ends = (others.values[0], others.values[-1]) if others.values else (others.low, others.high)
        return any(max(c.lower, min(c.upper, c.base + free + o)) != ZERO for o in ends)
    if a == b:
        return False
    x, y = min(a, b), max(a, b)
    # Both clamp to the floor when y + o is at most the floor, to the cap when x + o is at least
    # the cap: they differ for an o strictly between.
    return others.meets(c.lower - c.base - y, c.upper - c.base - x)


Outcome = tuple[dict[str, Any], list[Decimal | None]]


def _free_sums(vetoes: list[bool], outcomes: list[Outcome] | None) -> set[Decimal] | None:
    """Every total a group can give without a veto, when all its values were listed and few."""
    if outcomes is None:
        return None
    out: set[Decimal] = set()
    for _, points in outcomes:
        if not any(p is not None and v for p, v in zip(points, vetoes, strict=True)):
            out.add(sum((p for p, v in zip(points, vetoes, strict=True) if p is not None and not v), ZERO))
            if len(out) > MAX_SUMS:
                return None
    return out


def shadowed(analysis: CriterionAnalysis) -> Iterator[int]:
    """Indexes of rules that never change the final score, whatever the evidence.

    A claim about all evidence needs every value the rules can tell apart (the criterion's floor
    and cap are not linear, so the marks' stretches are not enough): only groups whose every
    combination fits the budget are judged. Other groups' points are taken exactly when all
    were listed and few, else as their interval (which can only make a rule look like it
    matters)."""
    c = analysis.criterion
    groups = analysis.groups
    vetoes_of = [analysis.vetoes(g) for g in groups]
    every: list[list[Outcome] | None] = []
    for group in groups:  # at most BUDGET evaluations each, held only while this runs
        lists = analysis.every_value(group)
        every.append(None if lists is None else list(analysis.evaluate(group, lists)))
    sums = [_free_sums(v, outcomes) for v, outcomes in zip(vetoes_of, every, strict=True)]
    others_of = _others(analysis.summaries, sums)
    for group, vetoes, outcomes, others in zip(groups, vetoes_of, every, others_of, strict=True):
        if outcomes is None:
            continue
        changes = [False] * len(group.rules)
        differs = functools.partial(_differs, c, others)
        for _, points in outcomes:
            vetoed = [p is not None and v for p, v in zip(points, vetoes, strict=True)]
            total = sum((p for p, v in zip(points, vetoed, strict=True) if p is not None and not v), ZERO)
            veto_count = sum(vetoed)
            any_veto = veto_count > 0
            for k, p in enumerate(points):
                if changes[k] or p is None:
                    continue
                if vetoed[k]:
                    changes[k] = differs(total, True, total, b_veto=veto_count > 1)
                else:
                    changes[k] = differs(total, any_veto, total - p, b_veto=any_veto)
            if all(changes):
                break
        for k, index in enumerate(group.rules):
            if not changes[k]:
                yield index


@dataclass(frozen=True, slots=True)
class RubricRanges:
    """Reachable ranges per criterion, per category (every level, and the sections), of the base
    and of the total (``exact`` when every criterion's range is exact; otherwise sound bounds)."""

    criteria: dict[str, Range]
    categories: dict[str, tuple[Decimal, Decimal]]
    total: tuple[Decimal, Decimal]
    exact: bool = True
    exact_categories: dict[str, bool] = field(default_factory=dict)
    base: tuple[Decimal, Decimal] = (ZERO, ZERO)


def rubric_ranges(doc: RubricDoc, known: Mapping[str, Mapping[str, Any]] | None = None) -> RubricRanges:
    """Reachable ranges (criteria are independent, so sums and clamps compose)."""
    with exact():
        criteria = {c.id: criterion_range(c, (known or {}).get(c.id)) for c in doc.all_criteria()}
        return aggregate(doc, criteria)


def _clamped(low: Decimal, high: Decimal, floor: Decimal, upper: Decimal) -> tuple[Decimal, Decimal]:
    return max(floor, min(upper, low)), max(floor, min(upper, high))


def aggregate(doc: RubricDoc, criteria: Mapping[str, Range]) -> RubricRanges:
    """Category, base and total ranges from the criteria's (exact when every criterion's is).

    A category sums its children and clamps; a category veto can fix the subtotal at its score,
    and a table-wide veto the total at its: the rubric's own facts are independent of every
    criterion's, so each such score widens the range to include it (exactly: a veto's condition
    can always be met by some facts). A veto on computed scores is settled by their ranges where
    it can be (never fires, or always does); otherwise it widens the range as a bound."""
    categories: dict[str, tuple[Decimal, Decimal]] = {}
    exact_categories: dict[str, bool] = {}
    known = {cid: (r.low, r.high) for cid, r in criteria.items()}

    def vetoed(
        condition: Condition, score: Decimal, low: Decimal, high: Decimal
    ) -> tuple[Decimal, Decimal, bool]:
        """The range once a veto fixing ``score`` is applied, and whether it stays exact."""
        fires = settled(condition, known)
        if fires is not None:
            return (score, score, True) if fires else (low, high, True)
        # A veto on facts can always fire, and the rest of the range is still reached with facts
        # that do not fire it; one on scores that are not settled may fire exactly where an end
        # would be reached (its range is then a bound).
        return min(low, score), max(high, score), not any(scores_read(condition))

    def reach(category: Category) -> tuple[Decimal, Decimal, bool]:
        low, high, is_exact = ZERO, ZERO, True
        for child in category.children:
            if isinstance(child, Category):
                lo, hi, ok = reach(child)
            else:
                r = criteria[child.id]
                lo, hi, ok = r.low, r.high, r.exact
            low, high, is_exact = low + lo, high + hi, is_exact and ok
        low, high = _clamped(low, high, category.lower, category.upper)
        for veto in category.vetoes:
            low, high, ok = vetoed(veto.condition, veto.score, low, high)
            is_exact = is_exact and ok
        categories[category.id] = known[category.id] = (low, high)
        exact_categories[category.id] = is_exact
        return low, high, is_exact

    base_low, base_high, exact_all = ZERO, ZERO, True
    for category in doc.categories:
        lo, hi, ok = reach(category)
        base_low, base_high, exact_all = base_low + lo, base_high + hi, exact_all and ok
    base = known[BASE] = _clamped(base_low, base_high, doc.floor, doc.upper)
    low, high = base
    for _, section in doc.sections():
        lo, hi, ok = reach(section)
        low, high, exact_all = low + lo, high + hi, exact_all and ok
    low, high = known[TOTAL] = max(doc.floor, low), max(doc.floor, high)
    for veto in doc.vetoes:
        if veto.score is not None:
            low, high, ok = vetoed(veto.condition, veto.score, low, high)
            exact_all = exact_all and ok
    return RubricRanges(dict(criteria), categories, (low, high), exact_all, exact_categories, base)
