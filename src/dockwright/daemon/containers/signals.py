"""Signal names and numbers as ``docker kill --signal`` and ``STOPSIGNAL`` accept them."""

from __future__ import annotations

import signal

from ...errors import InvalidParameter


def parse_signal(value: str | int | None, default: int = signal.SIGKILL) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int):
        n = value
    else:
        v = value.strip().upper()
        if v.isdigit():
            n = int(v)
        else:
            name = v if v.startswith("SIG") else "SIG" + v
            if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
                base = signal.SIGRTMIN if name.startswith("SIGRTMIN") else signal.SIGRTMAX
                try:
                    off = int(name[9:])
                except ValueError as exc:
                    raise InvalidParameter(f"Invalid signal: {value}") from exc
                n = base + off if name.startswith("SIGRTMIN") else base - off
            else:
                try:
                    n = int(signal.Signals[name])
                except KeyError as exc:
                    raise InvalidParameter(f"Invalid signal: {value}") from exc
    if n <= 0 or n > 64:
        raise InvalidParameter(f"Invalid signal: {value}")
    return n
