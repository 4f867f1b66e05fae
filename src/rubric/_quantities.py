"""Quantity field types: a decimal number (信息发布条数, 完成率) and an ISO date (2013-12-31).

Registered into the same field-type registry as the others (``_fields.FIELD_TYPES``); the
field union in ``_fields`` names them. A number's static analysis tries its ends and the values
either side of every threshold a rule marks, one step (its last decimal place) apart: a test
``at_least: t`` changes only between ``t - step`` and ``t``, so those reach every result.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from ._domains import Marks
from ._errors import short_repr
from ._fields import Defect, FieldSpec, Invalid, field_type
from ._fields import _kind as kind_of
from ._numbers import MAX_PLACES, MAX_POINTS, ZERO, Points, Whole, json_number, text

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST = "1900-01-01"
LATEST = "2999-12-31"


@field_type("number")
class Number(FieldSpec):
    """A decimal quantity in [min, max] with at most ``places`` decimal places; never a float."""

    type: Literal["number"]
    min: Points = ZERO
    max: Points = MAX_POINTS
    places: Whole = Field(default=2, ge=0, le=MAX_PLACES)

    @model_validator(mode="after")
    def _ordered(self) -> Number:
        if self.min > self.max:
            raise ValueError(f"min {text(self.min)} is above max {text(self.max)}")
        for end in (self.min, self.max):
            if end != end.quantize(self.step):
                raise ValueError(f"{text(end)} has more than places: {self.places} decimal places")
        return self

    @property
    def step(self) -> Decimal:
        """The smallest difference between two values (one unit of the last place)."""
        return Decimal(1).scaleb(-self.places)

    def check(self, value: Any) -> Any:
        """Accept an int or a finite Decimal in range with few enough places; refuse the rest."""
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            hint = "write the number without quotes" if isinstance(value, str) else ""
            raise Invalid(Defect("wrong-type", f"expected a number, got {kind_of(value)}", (), hint))
        number = Decimal(value) if isinstance(value, int) else value
        if not number.is_finite():
            raise Invalid(Defect("not-finite", f"expected a finite number, got {number}"))
        # Compared before any arithmetic: a huge exponent is a valid Decimal that overflows.
        if number < self.min or number > self.max:
            raise Invalid(
                Defect(
                    "out-of-range",
                    f"a number must be between {text(self.min)} and {text(self.max)}, got {text(number)}",
                )
            )
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -self.places and number != number.quantize(self.step):
            raise Invalid(
                Defect(
                    "too-many-places",
                    f"at most {self.places} decimal places, got {text(number)}",
                    (),
                    f"round it to {self.places} places, or raise the field's places",
                )
            )
        return number.quantize(self.step)

    def domain(self) -> tuple[Any, ...]:
        """Both ends: with no marks a rule cannot tell two numbers apart."""
        return tuple(sorted({self.min, self.max}))

    def _marked(self, marks: Marks) -> list[Decimal]:
        step = self.step
        found = {self.min, self.max}
        marked: list[Decimal] = [Decimal(m) for m in marks.counts] + list(marks.sums)
        for mark in marked:
            for near in (mark - step, mark, mark + step):
                if self.min <= near <= self.max:
                    found.add(near.quantize(step))
        return sorted(found)

    def analysis_size(self, marks: Marks) -> int:
        """At most three values per mark, plus the ends."""
        return len(self._marked(marks))

    def analysis_values(self, marks: Marks) -> Iterator[Any]:
        """The ends, and each mark with the values one step either side of it."""
        return iter(self._marked(marks))

    def analysis_all(self, marks: Marks, limit: int) -> list[Any] | None:
        """Every value, when there are few."""
        size = (self.max - self.min) / self.step
        if size >= limit:
            return None
        low = self.min.quantize(self.step)
        return [low + self.step * i for i in range(int(size) + 1) if low + self.step * i <= self.max]

    def values(self, st: Any) -> Any:
        """Decimals in range at the field's places, the ends likely."""
        return st.one_of(
            st.sampled_from(self.domain()),
            st.decimals(
                min_value=self.min,
                max_value=self.max,
                places=self.places,
                allow_nan=False,
                allow_infinity=False,
            ),
        )

    def defects(self, st: Any) -> Any:
        """Booleans, text, floats, non-finite, out-of-range and too precise numbers."""
        bad = [
            (True, "wrong-type", ()),
            ("3", "wrong-type", ()),
            (1.5, "wrong-type", ()),
            (Decimal("NaN"), "not-finite", ()),
            (self.min - 1, "out-of-range", ()),
        ]
        finer = self.min + self.step / 2
        if finer <= self.max:
            bad.append((finer, "too-many-places", ()))
        if self.max < MAX_POINTS:
            bad.append((self.max + 1, "out-of-range", ()))
        return st.sampled_from(bad)

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A number with a small range and 0 to 2 places."""
        return st.builds(
            lambda high, places: {"type": "number", "label": "数量", "max": high, "places": places},
            st.integers(1, 20),
            st.integers(0, 2),
        )

    def value_schema(self) -> dict[str, Any]:
        """A bounded JSON number, a multiple of the step."""
        return {
            "type": "number",
            "minimum": json_number(self.min),
            "maximum": json_number(self.max),
            "multipleOf": json_number(self.step),
        }

    def to_json(self, value: Any) -> Any:
        """Exact text, as points are written."""
        return text(value)


def _parse_date(value: str) -> datetime.date | None:
    if not _ISO.fullmatch(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _date_text(value: str) -> str:
    if _parse_date(value) is None:
        raise ValueError(f"{short_repr(value)} is not a date written as YYYY-MM-DD")
    return value


@field_type("date")
class Date(FieldSpec):
    """A calendar day written as ISO text, ``"2013-12-31"``, between ``min`` and ``max``."""

    type: Literal["date"]
    min: str = EARLIEST
    max: str = LATEST

    @model_validator(mode="after")
    def _valid(self) -> Date:
        _date_text(self.min)
        _date_text(self.max)
        if self.min > self.max:
            raise ValueError(f"min {self.min} is after max {self.max}")
        return self

    def check(self, value: Any) -> Any:
        """Accept ISO text YYYY-MM-DD for a real day in range; refuse dates as objects or numbers."""
        if not isinstance(value, str):
            hint = "write the date as quoted text, e.g. '2013-12-31'"
            raise Invalid(Defect("wrong-type", f"expected a date as text, got {kind_of(value)}", (), hint))
        if _parse_date(value) is None:
            raise Invalid(
                Defect(
                    "bad-date",
                    f"{short_repr(value)} is not a real day written as YYYY-MM-DD",
                    (),
                    "write e.g. 2013-12-31",
                )
            )
        # ISO text orders as the days do.
        if not self.min <= value <= self.max:
            raise Invalid(
                Defect("out-of-range", f"a date must be between {self.min} and {self.max}, got {value}")
            )
        return value

    def domain(self) -> tuple[Any, ...]:
        """Both ends: with no marks a rule cannot tell two days apart."""
        return tuple(sorted({self.min, self.max}))

    def analysis_all(self, marks: Marks, limit: int) -> list[Any] | None:
        """Every day, when there are few."""
        first, last = _parse_date(self.min), _parse_date(self.max)
        assert first is not None
        assert last is not None
        days = (last - first).days + 1
        if days > limit:
            return None
        return [(first + datetime.timedelta(days=i)).isoformat() for i in range(days)]

    def values(self, st: Any) -> Any:
        """Days in range as ISO text."""
        first, last = _parse_date(self.min), _parse_date(self.max)
        return st.dates(min_value=first, max_value=last).map(lambda d: d.isoformat())

    def defects(self, st: Any) -> Any:
        """Numbers, date objects, other spellings and impossible days."""
        return st.sampled_from(
            [
                (20131231, "wrong-type", ()),
                (datetime.date(2013, 12, 31), "wrong-type", ()),
                ("2013/12/31", "bad-date", ()),
                ("2013-02-30", "bad-date", ()),
                ("", "bad-date", ()),
            ]
        )

    @classmethod
    def declarations(cls, st: Any) -> Any:
        """A date within one year."""
        return st.just({"type": "date", "label": "日期", "min": "2013-01-01", "max": "2013-12-31"})

    def value_schema(self) -> dict[str, Any]:
        """A JSON string in date format."""
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
