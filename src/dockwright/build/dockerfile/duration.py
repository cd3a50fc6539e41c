"""Go's ``time.ParseDuration`` (HEALTHCHECK ``--interval=1m30s``), in nanoseconds."""

from __future__ import annotations

import re

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_duration(text: str) -> int:
    """``"1m30s"`` → 90_000_000_000; raises ValueError with Go's wording."""
    quoted = f'"{text}"'
    s = text
    sign = 1
    if s[:1] in ("-", "+"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while s:
        match = _PART.match(s)
        if match is None or (not match.group(1) and not match.group(2)):
            raise ValueError(f"time: invalid duration {quoted}")
        whole, frac, unit = match.group(1), match.group(2) or "", match.group(3)
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // (10 ** len(frac))
        s = s[match.end():]
    return sign * total
