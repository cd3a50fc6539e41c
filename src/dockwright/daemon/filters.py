"""The Engine API's ``filters`` query parameter.

Clients send ``{"key": ["v1", "v2"]}`` or the legacy ``{"key": {"v1": true}}``;
both become ``{key: [values]}``. Keys an endpoint does not know are refused
with Docker's message.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from datetime import datetime

from ..errors import InvalidParameter

Filters = dict[str, list[str]]


def parse_filters(raw: str | None, allowed: Iterable[str]) -> Filters:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameter(f"invalid filters: {raw!r} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidParameter("invalid filters: expected a JSON object of filter name to values")
    allowed = set(allowed)
    out: Filters = {}
    for key, val in data.items():
        if key not in allowed:
            raise InvalidParameter(f"invalid filter '{key}'")
        if isinstance(val, list) and all(isinstance(v, str) for v in val):
            out[key] = list(val)
        elif isinstance(val, dict) and all(isinstance(v, bool) for v in val.values()):
            out[key] = [k for k, v in val.items() if v]
        elif isinstance(val, str):
            out[key] = [val]
        else:
            raise InvalidParameter(f"invalid filter '{key}': values must be a list of strings")
    return out


def bool_filter(f: Filters, key: str) -> bool | None:
    vals = f.get(key)
    if not vals:
        return None
    v = vals[-1].lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise InvalidParameter(f"Invalid filter '{key}={vals[-1]}': must be true or false")


def label_matches(labels: dict[str, str], exprs: list[str], negate: bool = False) -> bool:
    """``label=k`` / ``label=k=v``; every expression must match (``label!=`` none may)."""
    for e in exprs:
        k, eq, v = e.partition("=")
        hit = k in labels and (not eq or labels[k] == v)
        if negate and hit:
            return False
        if not negate and not hit:
            return False
    return True


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_timestamp(value: str, now: float | None = None) -> float:
    """Docker's ``until``/``since`` values: Unix seconds (with fraction), RFC 3339, or a Go duration ago."""
    v = value.strip()
    now = time.time() if now is None else now
    try:
        return float(v)
    except ValueError:
        pass
    total = 0.0
    rest = v
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", v)
    if parts and "".join(a + b for a, b in parts) == rest:
        for num, unit in parts:
            total += float(num) * _UNITS[unit]
        return now - total
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        return dt.timestamp()
    except ValueError:
        pass
    raise InvalidParameter(f"invalid timestamp or duration: {value!r}")
