"""Validators for the OCI runtime spec's JSON schemas (config, state, features), which $ref each other."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path("/work/shared/specs/oci-runtime-schema")


@cache
def validator(name: str) -> jsonschema.Draft4Validator:
    resources = [
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT4))
        for p in SCHEMA_DIR.glob("*.json")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    return jsonschema.Draft4Validator(json.loads((SCHEMA_DIR / name).read_text()), registry=registry)


def validate(doc: Any, name: str = "config-schema.json") -> None:
    if not SCHEMA_DIR.exists():
        pytest.skip("OCI runtime schemas are not available")
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
