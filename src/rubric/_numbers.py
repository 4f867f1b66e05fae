"""Exact points: the Decimal type used in rubric files, and its canonical text form."""

from __future__ import annotations

import contextlib
import decimal
import functools
from contextvars import ContextVar
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)

ZERO = Decimal(0)
MAX_PLACES = 4  # no rubric needs finer than 0.0001 of a point; more is a typo
MAX_POINTS = Decimal(10) ** 9


def to_points(value: Any) -> Decimal:
    """Accept an int or a finite Decimal with few places; refuse bool, float and text."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        kind = "text" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"points must be a number written without quotes, got {kind}")
    number = Decimal(value) if isinstance(value, int) else value
    if not number.is_finite():
        raise ValueError("points must be a finite number")
    if number > MAX_POINTS or number < -MAX_POINTS:  # compared, not abs(): abs() can overflow
        raise ValueError(f"points must be at most {MAX_POINTS} in size")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise ValueError(f"points may have at most {MAX_PLACES} decimal places")
    return number


@functools.lru_cache(maxsize=4096)
def text(value: Decimal) -> str:
    """The canonical text of a score: no exponent, no trailing zeros ('87.5', '90', '-2').

    Built from the digits alone, so it is exact whatever decimal context the caller has set."""
    if not value:
        return "0"
    written = format(value, "f")
    if "." in written:
        written = written.rstrip("0").rstrip(".")
    return written


# Loading and scoring run in a context of their own, never the caller's: a caller's prec=2 or an
# extra trap must not round a total or raise. Points have at most 4 places and 10 digits before
# the point, so every sum and product a rubric can make is exact at this precision. The template
# itself is never installed: each block gets a fresh copy, so code that runs inside one (a hook
# of the caller's, a dict subclass in a record) can change only that copy, never a later score.
_TEMPLATE = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def engine_context() -> decimal.Context:
    """A fresh copy of the engine's exact context."""
    return _TEMPLATE.copy()


def exact() -> contextlib.AbstractContextManager[decimal.Context]:
    """A block in which Decimal arithmetic uses a fresh copy of the engine's exact context."""
    return decimal.localcontext(_TEMPLATE)  # localcontext installs a copy of what it is given


Points = Annotated[
    Decimal,
    BeforeValidator(to_points),
    PlainSerializer(text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "number"}),
]


def json_number(value: Decimal) -> int | float:
    """A JSON Schema bound: readers of a schema take numbers as doubles, so this is the one place
    a Decimal leaves as a float; scores never do (results carry them as exact text)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


Sized = TypeVar("Sized")


def _non_empty(value: Sized) -> Sized:
    if not value:
        raise ValueError("must not be empty")
    return value


# An after-validator rather than Field(min_length=1): pydantic counts only the items that
# validated, so one bad item in a one-item list would also report a bogus "too short".
NonEmpty = Annotated[Sized, AfterValidator(_non_empty)]


# Whole numbers in a rubric are YAML integers: strict, so that a Decimal such as 1e100000000 is
# refused as it is instead of being converted into a hundred-million-digit int first.
Whole = Annotated[int, Strict()]


# How many failing parts (a category, a criterion, a rule…) one validation may meet before it
# stops: pydantic keeps every error (about 400 bytes each, then a dict each), and a 5 MB file of
# '{},' would hold millions. None outside ``validate_model``.
BUDGET: ContextVar[list[int] | None] = ContextVar("rubric_validation_budget", default=None)
MAX_FAILING_PARTS = 1000


class TooManyProblems(Exception):
    """Raised through pydantic (it is not a ValueError) when the budget runs out."""


def counted(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate one part, counting it against the budget if it fails. Put ``Counted`` on the
    element type of any list or mapping a file can make long (a million wrong items must stop
    at the budget, not become a million error records first)."""
    try:
        return handler(value)
    except ValidationError:
        budget = BUDGET.get()
        if budget is not None:
            budget[0] += 1
            if budget[0] > MAX_FAILING_PARTS:
                raise TooManyProblems from None
        raise


Counted = WrapValidator(counted)
