"""Coverage-guided fuzzing of ``rubric.Rubric.from_bytes`` with atheris (optional; not a dependency).

Only ``rubric.RubricError`` may come out of loading any bytes; a rubric that loads must score a
valid record. Anything else is a crash that atheris reports with the input that caused it.

Install atheris into the project's virtualenv (it is deliberately not in pyproject.toml), then run
from the repository root, seeding the corpus with the shipped rubrics:

    .venv/bin/pip install atheris
    mkdir -p fuzz/corpus && cp rubrics/table*.yaml fuzz/corpus/
    .venv/bin/python fuzz/atheris_loader.py fuzz/corpus -max_len=20000 -timeout=10 -runs=200000

libFuzzer options apply as usual (``-max_total_time=600``, ``-jobs=4``, ``-dict=...``); a crash is
saved as ``crash-<sha1>`` and replayed with ``.venv/bin/python fuzz/atheris_loader.py crash-<sha1>``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import rubric
    from rubric._fields import Assessed, Checklist, Choice, Count, Flag


def _valid_value(spec: object) -> object:
    """A valid value of a declared field, without hypothesis (atheris drives the bytes)."""
    if isinstance(spec, Flag):
        return True
    if isinstance(spec, Count):
        return 0
    if isinstance(spec, Checklist):
        return list(spec.items)
    if isinstance(spec, Choice):
        return spec.options[0]
    if isinstance(spec, Assessed):
        return [{"points": spec.range[0], "reason": "理由"}]
    raise AssertionError(f"no valid value for {spec!r}")


def test_one_input(data: bytes) -> None:
    """Load the bytes as a rubric; if they load, score a valid record."""
    try:
        loaded = rubric.Rubric.from_bytes(data)
    except rubric.RubricError:
        return
    record = {
        criterion.id: {name: _valid_value(spec) for name, spec in criterion.evidence.items()}
        for category in loaded.doc.categories
        for criterion in category.criteria
    }
    result = loaded.score(record)
    result.to_json()


def main() -> None:
    """Run libFuzzer over ``test_one_input``."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
