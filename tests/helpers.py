"""Helpers shared by test modules: seeded random records (the benchmark's own generator)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent


def _load_generator() -> Callable[..., list[dict[str, Any]]]:
    spec = importlib.util.spec_from_file_location("bench_table1", ROOT / "benchmarks" / "bench_table1.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[..., list[dict[str, Any]]] = module.generate_records
    return generate


generate_records = _load_generator()
