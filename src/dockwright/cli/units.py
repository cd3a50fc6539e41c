"""Sizes and durations as docker prints them (go-units): ``1.98MB``, ``About an hour``.

Docker uses decimal units with a precision in significant digits (``%.3g``
in ``images``, ``%.4g`` in ``system df``) and binary units for memory
(``23.54GiB``); the relative times are coarse on purpose.
"""

from __future__ import annotations

import time

DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scale(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 4) -> str:
    """go-units ``HumanSizeWithPrecision``: ``human_size(1982496, 3) == "1.98MB"``."""
    value, unit = _scale(float(size), 1000.0, DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """go-units ``BytesSize``: binary units, 4 significant digits (``23.54GiB``)."""
    value, unit = _scale(float(size), 1024.0, BINARY_UNITS)
    return f"{value:.4g}{unit}"


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``: what ``docker images`` shows before "ago"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def since(unix_seconds: float, now: float | None = None) -> str:
    """``2 minutes ago``."""
    now = time.time() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


def _zone(t: time.struct_time) -> tuple[str, str]:
    off = t.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    hh, mm = divmod(abs(off) // 60, 60)
    return f"{sign}{hh:02d}{mm:02d}", f"{sign}{hh:02d}:{mm:02d}"


def go_time_string(unix_seconds: float) -> str:
    """Go's ``time.Time.String()`` of ``time.Unix(s, 0)``: ``2026-11-28 01:26:57 +0000 UTC``."""
    t = time.localtime(unix_seconds)
    z, _ = _zone(t)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + f" {z} {t.tm_zone or 'UTC'}"


def rfc3339(unix_seconds: float) -> str:
    """``2026-11-28T01:26:57Z`` (local time, as Go's ``time.RFC3339``)."""
    t = time.localtime(unix_seconds)
    _, z = _zone(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ("Z" if z == "+00:00" else z)


def rfc3339_nano_fixed(unix_nanos: int) -> str:
    """``2026-11-28T01:02:03.000000000Z`` (docker's ``RFC3339NanoFixed``, as in ``docker events``)."""
    secs, nanos = divmod(unix_nanos, 1_000_000_000)
    t = time.localtime(secs)
    _, z = _zone(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{nanos:09d}" + ("Z" if z == "+00:00" else z)


def parse_rfc3339(value: str) -> float | None:
    """Seconds since the epoch of an API timestamp (``2026-11-28T01:26:57.315967428Z``)."""
    import datetime as _dt

    v = value.strip()
    if not v or v.startswith("0001-01-01"):
        return None
    frac = 0.0
    main = v
    tz = ""
    if v.endswith("Z"):
        main, tz = v[:-1], "+00:00"
    elif len(v) > 6 and v[-6] in "+-" and v[-3] == ":":
        main, tz = v[:-6], v[-6:]
    if "." in main:
        main, f = main.split(".", 1)
        frac = float("0." + f) if f.isdigit() else 0.0
    try:
        dt = _dt.datetime.fromisoformat(main + tz)
    except ValueError:
        return None
    return dt.timestamp() + frac


def truncate_id(ident: str) -> str:
    """docker's ``stringid.TruncateID``: drop ``sha256:``, keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


def ellipsis(s: str, width: int) -> str:
    """Cut ``s`` to ``width`` characters, the last one being ``…`` (docker's ``formatter.Ellipsis``)."""
    if width <= 0:
        return ""
    if len(s) <= width:
        return s
    if width == 1:
        return s[0]
    return s[: width - 1] + "…"
