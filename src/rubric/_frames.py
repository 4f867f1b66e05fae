"""Score a whole table at once: a pandas, polars or Arrow table in, an Arrow results table out.

Arrow is the representation because it is the common ground of the dataframe libraries: pandas
and polars convert to and from it (``pa.Table.from_pandas``, ``polars.DataFrame.to_arrow``,
``Table.to_pandas``, ``polars.from_arrow``) and anything that speaks the Arrow C stream interface
is read as it is; and because it has an exact decimal type, so points stay ``Decimal`` from the
engine to the results table (a float column would not). pyarrow is an optional extra
(``rubric-engine[frames]``), imported only when a table is scored.

The input has one column per fact, named as in batch CSV (``T1-01.sound``; for a composite
``has_window`` and ``table1.T1-01.sound``), and an optional ``unit`` column. Every row goes
through ``score()``: the same validation and the same numbers. A null cell is a fact not recorded;
a text cell follows the CSV convention (``csv_value``); a typed cell is the value itself, except
that a float in a count column counts when it is whole (pandas turns an integer column with a
gap into floats) and is refused otherwise, and a float anywhere else is refused (``wrong-type``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from ._batch import result_values
from ._errors import EvidenceError, Problem, short_repr, suggest
from ._evidence import MAX_PROBLEMS_PER_RECORD
from ._fields import Count, FieldSpec
from ._numbers import engine_context
from ._readers import _NO_UNIT, _set, csv_columns, csv_value, unit_name
from ._result import CompositeResult, Result
from ._rubric import Composite, Rubric
from ._xlsx_forms import result_columns

# pyarrow ships no type hints, and may not be installed: a results table is typed as Any.
ArrowTable = Any

UNIT = "unit"
_EXACT_FLOAT = 2**53  # beyond this a double no longer holds every whole number
_PRECISION = 38  # the widest decimal128
_CHUNK = 8192  # rows of results held as Python objects before they become Arrow
_TEXTS = frozenset({"unit", "grade", "evidence_sha256"})


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that was not scored: its position in the input (0-based), its unit and its problems."""

    row: int
    unit: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class TableScores:
    """The results of a table: one row per scored input row, and every row that was not scored."""

    results: ArrowTable
    rejected: tuple[RejectedRow, ...]

    def rejected_table(self) -> ArrowTable:
        """The rejected rows as a table, one row per problem: row, unit, code, path, message, hint."""
        pa = _pyarrow()
        rows = [
            {
                "row": r.row,
                "unit": r.unit,
                **{k: str(p.as_dict()[k]) for k in ("code", "path", "message", "hint")},
            }
            for r in self.rejected
            for p in r.problems
        ]
        schema = pa.schema(
            [("row", pa.int64()), ("unit", pa.string())]
            + [(k, pa.string()) for k in ("code", "path", "message", "hint")]
        )
        return pa.Table.from_pylist(rows, schema=schema)


def _pyarrow() -> Any:
    try:
        # an optional extra, imported when a table is scored (by name: it ships no type hints)
        return importlib.import_module("pyarrow")
    except ImportError:
        raise ImportError("scoring a table needs pyarrow: pip install 'rubric-engine[frames]'") from None


def cell_value(value: Any, spec: FieldSpec) -> Any:
    """A typed cell as the evidence value of its field, before validation (which names faults)."""
    if isinstance(value, str):
        return csv_value(value, spec)
    if isinstance(value, float):
        if isinstance(spec, Count):
            if value.is_integer() and abs(value) < _EXACT_FLOAT:
                return int(value)
            # repr is the shortest text that reads back as the same double: 2.5 fails as not whole
            return Decimal(repr(value))
        return value  # not exact: validation refuses it (wrong-type)
    return value


def _column_problem(code: str, message: str, hint: str = "") -> EvidenceError:
    return EvidenceError([Problem(code, message, (), file="<table>", hint=hint)])


def _check_names(names: Sequence[str], columns: Mapping[str, Any]) -> None:
    first: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not isinstance(name, str) or (name != UNIT and name not in columns):
            raise _column_problem(
                "unknown-column", f"unknown column {short_repr(name)}", suggest(str(name), columns)
            )
        if name in first:
            raise _column_problem(
                "duplicate-column",
                f"columns {first[name]} and {number} are both named {short_repr(name)}",
                "keep one column per fact",
            )
        first[name] = number


def _arrow_table(data: Any) -> ArrowTable:
    """Any supported table as an Arrow table (pandas is converted column by column, so that a
    column Arrow cannot hold is named)."""
    pa = _pyarrow()
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.split(".")[0] == "pandas":
        arrays = []
        for name in data.columns:
            try:
                arrays.append(pa.array(data[name], from_pandas=True))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise _column_problem(
                    "bad-column",
                    f"column {short_repr(name)} mixes kinds of values Arrow cannot hold together: {exc}",
                    "give each column one kind of value: true/false, whole numbers, Decimal, text or lists",
                ) from None
        return pa.Table.from_arrays(arrays, names=[str(n) for n in data.columns])
    if hasattr(data, "to_arrow"):  # polars
        return data.to_arrow()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise TypeError(
        "score_table takes an Arrow, pandas or polars table or a mapping of columns, "
        f"not {type(data).__name__}"
    )


def _columns(data: Any) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """The column names and the rows as Python values, batch by batch (never the whole table)."""
    if isinstance(data, Mapping):
        names = list(data)
        values = [list(data[n]) for n in names]
        if len({len(v) for v in values}) > 1:
            raise _column_problem("bad-column", "the columns have different lengths")
        return names, iter(zip(*values, strict=True))
    table = _arrow_table(data)

    def rows() -> Iterator[Sequence[Any]]:
        for batch in table.to_batches(max_chunksize=_CHUNK):
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)

    return list(table.column_names), rows()


class _Scorer:
    """Turns rows into results or rejections; gathers the results column by column."""

    def __init__(self, scorer: Rubric | Composite, names: list[str]) -> None:
        columns = csv_columns(scorer)
        _check_names(names, columns)
        self.scorer = scorer
        self.slots = [(i, columns[n]) for i, n in enumerate(names) if n != UNIT]
        self.unit = names.index(UNIT) if UNIT in names else None
        self.names = [name for name, _ in result_columns(scorer)]
        heads = ("row", "unit", "total", "max", "grade", *self.names, "evidence_sha256")
        self.out: dict[str, list[Any]] = {name: [] for name in heads}
        self.pieces: list[ArrowTable] = []
        self.rejected: list[RejectedRow] = []

    def __call__(self, row: int, cells: Sequence[Any]) -> None:
        unit = unit_name(_NO_UNIT if self.unit is None else cells[self.unit], row)
        if isinstance(unit, Problem):
            self.rejected.append(RejectedRow(row, str(row), (unit,)))
            return
        record: dict[str, Any] = {}
        for index, (path, spec) in self.slots:
            value = cells[index]
            if value is not None:
                _set(record, path, cell_value(value, spec))
        try:
            result = self.scorer.score(record, audit=False)  # the table carries no audit trail
        except EvidenceError as exc:
            self.rejected.append(RejectedRow(row, unit, exc.problems[:MAX_PROBLEMS_PER_RECORD]))
            return
        self._add(row, unit, result)

    def _add(self, row: int, unit: str, result: Result | CompositeResult) -> None:
        out = self.out
        out["row"].append(row)
        out["unit"].append(unit)
        out["total"].append(result.total)
        out["max"].append(result.max)
        out["grade"].append(result.grade)
        values = result_values(result)
        for name in self.names:
            out[name].append(values.get(name))  # a part not weighted stays null
        out["evidence_sha256"].append(result.evidence_sha256)

    def _schema(self, scale: int) -> Any:
        pa = _pyarrow()
        points = pa.decimal128(_PRECISION, scale)
        kinds = {n: pa.string() if n in _TEXTS else pa.int64() if n == "row" else points for n in self.out}
        return pa.schema(list(kinds.items()))

    def flush(self) -> None:
        """Move the rows gathered so far into an Arrow piece: Python objects cost about seven
        times what Arrow does, so only a chunk of them is ever held."""
        if not self.out["row"]:
            return
        numbers = (v for n, column in self.out.items() if n not in _TEXTS | {"row"} for v in column)
        # the scale of the values, not of how they were written: 40.0 from a decimal(3,1) input is 40
        scale = max(
            (-v.normalize(engine_context()).as_tuple().exponent for v in numbers if v is not None), default=0
        )
        self.pieces.append(_pyarrow().Table.from_pydict(self.out, schema=self._schema(max(scale, 0))))
        self.out = {name: [] for name in self.out}

    def table(self) -> ArrowTable:
        """Every piece at the widest scale of any (widening a decimal's scale is exact)."""
        self.flush()
        scale = max((p.schema.field("total").type.scale for p in self.pieces), default=0)
        schema = self._schema(scale)
        pieces = [piece.cast(schema) for piece in self.pieces]
        return _pyarrow().concat_tables(pieces) if pieces else schema.empty_table()


def score_table(
    scorer: Rubric | Composite, data: Any, *, errors: Literal["collect", "raise"] = "collect"
) -> TableScores:
    """Score every row of a table (Arrow, pandas, polars, or a mapping of column lists) at once."""
    if errors not in ("collect", "raise"):
        raise ValueError(f"errors is 'collect' or 'raise', not {errors!r}")
    names, rows = _columns(data)
    scoring = _Scorer(scorer, names)
    for row, cells in enumerate(rows):
        scoring(row, cells)
        if len(scoring.out["row"]) >= _CHUNK:
            scoring.flush()
    if errors == "raise" and scoring.rejected:
        problems = [
            replace(p, path=(r.row, *p.path)) for r in scoring.rejected for p in r.problems
        ]  # the row number leads each path: [3].T1-01.sound
        raise EvidenceError(problems)
    return TableScores(scoring.table(), tuple(scoring.rejected))
