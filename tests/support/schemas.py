"""Validate response bodies against the Engine API v1.47 OpenAPI (Swagger 2.0) definitions.

Swagger's ``x-nullable: true`` becomes JSON Schema's ``[type, "null"]`` so that
fields Docker documents as nullable validate; everything else is as strict
as the spec.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"


def spec_path() -> Path:
    for base in (SPECS, Path("/work/shared/specs")):
        p = base / "docker-engine-api-v1.47.yaml"
        if p.exists():
            return p
    raise FileNotFoundError("docker-engine-api-v1.47.yaml not found beside the project (../shared/specs)")


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if node.get("x-nullable") and "type" in out:
            t = out["type"]
            out["type"] = [t, "null"] if isinstance(t, str) else [*t, "null"]
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    spec = yaml.safe_load(spec_path().read_text())
    return _nullable(copy.deepcopy(spec["definitions"]))


@functools.lru_cache(maxsize=1)
def _paths() -> dict[str, Any]:
    spec = yaml.safe_load(spec_path().read_text())
    return _nullable(copy.deepcopy(spec["paths"]))


def validate_definition(instance: Any, name: str) -> None:
    schema = {"$ref": f"#/definitions/{name}", "definitions": _definitions()}
    jsonschema.validate(instance, schema)


def validate_response(instance: Any, path: str, method: str = "get", status: str = "200") -> None:
    op = _paths()[path][method]
    responses = op["responses"]
    schema = dict(responses.get(status) or responses[int(status)])["schema"]
    schema = dict(schema)
    schema["definitions"] = _definitions()
    jsonschema.validate(instance, schema)
