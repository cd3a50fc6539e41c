"""Step cache keys: a digest of what a step does and what it reads, never of when.

A key is sha256 over the parent's key, the instruction after expansion (with
its location and source text left out, so moving a line or changing its
spacing does not invalidate it), the build args the step can see, and for
COPY/ADD a digest of the selected files' content, mode and ownership. File
times are never part of a key: a fresh checkout must hit the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from dockwright.build.dockerfile.instructions import Command

_NON_SEMANTIC = frozenset({"location", "original"})


def normalise(cmd: Command) -> dict[str, Any]:
    """The instruction's meaning as plain data: its typed fields minus where it was written."""
    out: dict[str, Any] = {"name": cmd.name}
    for f in dataclasses.fields(cmd):
        if f.name in _NON_SEMANTIC or f.name == "name":
            continue
        value = getattr(cmd, f.name)
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def step_key(parent_key: str, cmd: Command | dict[str, Any], cache_args: Mapping[str, str],
             inputs: str = "") -> str:
    """``inputs`` is the digest of whatever else the step reads (files, another stage's key)."""
    body = {
        "parent": parent_key,
        "op": normalise(cmd) if isinstance(cmd, Command) else cmd,
        "args": dict(sorted(cache_args.items())),
        "inputs": inputs,
    }
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def files_digest(entries: Mapping[str, str]) -> str:
    """One digest for a set of ``path -> entry digest``, independent of walk order."""
    h = hashlib.sha256()
    for path in sorted(entries):
        h.update(path.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
        h.update(entries[path].encode())
        h.update(b"\n")
    return "sha256:" + h.hexdigest()
