"""What static analysis tries of each evidence field: marks, stand-in values, and how many.

A rule sees a field only through a few things: a count's value, how many checklist items are
present and which named ones, how many assessed entries there are and what they add up to. Each
clause reports the values either side of which its result can change (``Marks``); between two
marks every rule is constant or linear in what it sees, so the ends of each stretch reach every
least and most score. The functions here turn marks into those few values, as stand-ins
(``Present``, ``Amounts``) that behave like a record's value for the compiled rules and become a
real value only for a witness. Nothing here ever lists a field's whole domain.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal


@dataclass(slots=True)
class Marks:
    """What a criterion's rules observe of one field, for static analysis.

    ``counts``: sizes (a count, the items present, the entries chosen) on either side of which
    some rule's result can change; ``items``: checklist items a condition tests by name;
    ``sums``: assessed totals at which a rule's result changes slope (its cap); ``span``: how far
    a score can move, so an unlimited field is tried just past it.
    """

    counts: set[int] = field(default_factory=set)
    items: set[str] = field(default_factory=set)
    sums: set[Decimal] = field(default_factory=set)
    span: Decimal = Decimal(0)

    def merge(self, other: Marks) -> None:
        """Add another rule's marks on the same field."""
        self.counts |= other.counts
        self.items |= other.items
        self.sums |= other.sums


@dataclass(frozen=True, slots=True)
class Present:
    """Stand-in for a checklist value: which of the items rules name are present, and how many
    items in all (the others are unnamed, so any of them will do)."""

    chosen: frozenset[str]
    size: int
    named: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return self.size

    def __contains__(self, item: object) -> bool:
        return item in self.chosen


@dataclass(frozen=True, slots=True)
class Amounts:
    """Stand-in for an assessed value: how many entries, and what they add up to."""

    count: int
    sum: Decimal

    def __len__(self) -> int:
        return self.count


def counts(ends: set[int], marks: Marks, most: int) -> list[int]:
    """The given ends and every marked size within [0, most], in order."""
    return sorted(ends | {m for m in marks.counts if 0 <= m <= most})


def checklist_size(items: int, named: int, marks: Marks) -> int:
    """How many stand-ins ``checklist_values`` yields at most."""
    subsets: int = 2**named
    return subsets * (len(counts({0, items}, marks, items)) + 2)


def checklist_values(items: int, named: list[str], marks: Marks) -> Iterator[Present]:
    """Each subset of the named items with each size it can have (its ends and the marks)."""
    others = items - len(named)
    sizes = counts({0, items}, marks, items)
    every = frozenset(named)
    for n in range(len(named) + 1):
        for chosen in itertools.combinations(named, n):
            for size in sorted({n, n + others} | {s for s in sizes if n <= s <= n + others}):
                yield Present(frozenset(chosen), size, every)


def checklist_value(items: tuple[str, ...], value: Present) -> tuple[str, ...]:
    """A real checklist value for a stand-in: the named items chosen, then the first unnamed
    items up to its size, in declared order."""
    extra = len(value) - len(value.chosen)
    out = []
    for item in items:
        if item in value.chosen:
            out.append(item)
        elif extra > 0 and item not in value.named:
            out.append(item)
            extra -= 1
    return tuple(out)


def _entry_counts(high: Decimal, max_entries: int | None, marks: Marks) -> list[int]:
    beyond = max(marks.counts, default=0) + 1
    if max_entries is not None:
        most = max_entries
    elif high > 0:  # no last count: go past every mark and past the span of the score
        reach = marks.span + max(marks.sums, default=Decimal(0)) + high
        most = max(beyond, int((reach / high).to_integral_value(ROUND_CEILING)))
    else:
        most = beyond
    return counts({0, min(1, most), most}, marks, most)


def assessed_size(high: Decimal, max_entries: int | None, marks: Marks) -> int:
    """How many stand-ins ``assessed_values`` yields at most."""
    return 2 * len(_entry_counts(high, max_entries, marks)) * (4 + 2 * len(marks.sums))


def assessed_values(
    low: Decimal, high: Decimal, step: Decimal, max_entries: int | None, marks: Marks
) -> Iterator[Amounts]:
    """(how many entries, what they add up to) worth trying.

    Conditions see how many entries there are, rules what they add up to. Between two marked
    counts a and b the totals reachable are those of [a·low, b·high] on the step, and each rule is
    linear in the total between its marks: the ends, and the totals either side of each mark.
    """
    seen: set[tuple[int, Decimal]] = set()
    entries = _entry_counts(high, max_entries, marks)
    # Each count alone too: a count can be a cell of its own between two conditions.
    for a, b in [*zip(entries, entries, strict=True), *itertools.pairwise(entries)]:
        pairs = {(a, a * low), (a, a * high), (b, b * low), (b, b * high)}
        for mark in marks.sums:
            below = (mark / step).to_integral_value(ROUND_FLOOR) * step
            above = (mark / step).to_integral_value(ROUND_CEILING) * step
            k = b if low == 0 else min(b, int((mark / low).to_integral_value(ROUND_FLOOR)))
            if k >= a and k * low <= below:
                pairs.add((k, min(k * high, below)))
            if high > 0:
                k = max(a, int((mark / high).to_integral_value(ROUND_CEILING)))
                if k <= b and above <= k * high:
                    pairs.add((k, max(k * low, above)))
        for pair in sorted(pairs - seen):
            seen.add(pair)
            yield Amounts(*pair)


def assessed_amounts(low: Decimal, high: Decimal, value: Amounts) -> list[Decimal]:
    """``value.count`` amounts inside [low, high] adding up to ``value.sum``."""
    left = value.sum - low * value.count
    out = []
    for _ in range(value.count):
        bump = min(left, high - low)
        out.append(low + bump)
        left -= bump
    return out


# Every value a rule can tell apart, for claims that must hold for all evidence (a rule that
# never changes the score): between two marks a rule is linear, but the floor and cap of the
# criterion are not, so the ends of a stretch are not enough there. None when over ``limit``.


def checklist_all(items: int, named: list[str], limit: int) -> list[Present] | None:
    """Each subset of the named items with every size it can have."""
    others = items - len(named)
    if 2 ** len(named) * (others + 1) > limit:
        return None
    every = frozenset(named)
    return [
        Present(frozenset(chosen), n + extra, every)
        for n in range(len(named) + 1)
        for chosen in itertools.combinations(named, n)
        for extra in range(others + 1)
    ]


def assessed_all(
    low: Decimal, high: Decimal, step: Decimal, max_entries: int | None, limit: int
) -> list[Amounts] | None:
    """Every (number of entries, total on the step) there can be; None without a last count."""
    if max_entries is None:
        return None
    steps = int((high - low) / step)
    if (max_entries + 1) + steps * max_entries * (max_entries + 1) // 2 > limit:
        return None
    return [Amounts(k, k * low + j * step) for k in range(max_entries + 1) for j in range(k * steps + 1)]
