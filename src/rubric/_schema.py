"""JSON Schemas: of the rubric format (for editors), and of one rubric's evidence (for forms)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from ._fields import FieldSpec
from ._model import CompositeDoc, RubricDoc
from ._rubric import Composite, Rubric

SCHEMA_ID = "https://rubric.invalid/schema/rubric.schema.json"


def rubric_schema() -> dict[str, Any]:
    """The JSON Schema of a rubric or composite file."""
    schema = TypeAdapter(RubricDoc | CompositeDoc).json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rubric file (a rubric or a composite)"
    return schema


def _group(fields: Mapping[str, FieldSpec]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {**spec.value_schema(), "title": spec.label} for name, spec in fields.items()},
        "required": [name for name, spec in fields.items() if spec.default is None],
        "additionalProperties": False,
    }


def _rubric_evidence(rubric: Rubric) -> dict[str, Any]:
    criteria = list(rubric.doc.all_criteria())
    own = _group(rubric.doc.evidence)  # the rubric's own facts sit at the top of a record
    return {
        "type": "object",
        "title": rubric.doc.title,
        "properties": {
            **own["properties"],
            **{c.id: {**_group(c.evidence), "description": c.content} for c in criteria},
        },
        "required": [
            *own["required"],
            *(c.id for c in criteria if any(s.default is None for s in c.evidence.values())),
        ],
        "additionalProperties": False,
    }


def evidence_schema(loaded: Rubric | Composite) -> dict[str, Any]:
    """The JSON Schema of an evidence record for this rubric or composite."""
    if isinstance(loaded, Rubric):
        body = _rubric_evidence(loaded)
    else:
        body = _group(loaded.doc.evidence)
        body["title"] = loaded.doc.title
        for name, part in loaded.parts.items():
            body["properties"][name] = _rubric_evidence(part)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}
