"""Instruction flags (``--from=x``, ``--link``): declared per instruction, then parsed strictly.

Docker's rules: a flag must be declared by the instruction; a bool may be bare
or ``=true``/``=false``; a string or list flag needs ``=value``; only list
flags (``--exclude``, ``--mount``) may repeat.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


class FlagError(Exception):
    """A bad flag; the instruction parser adds the location."""


@dataclass
class _Flag:
    kind: str  # "bool" | "string" | "strings"
    default: str | bool | None
    values: list[str] = field(default_factory=list)
    seen: bool = False


class BFlags:
    """The flags one instruction accepts and the values it was given."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self._flags: dict[str, _Flag] = {}

    def add_bool(self, name: str, default: bool = False) -> None:
        self._flags[name] = _Flag("bool", default)

    def add_string(self, name: str, default: str | None = None) -> None:
        self._flags[name] = _Flag("string", default)

    def add_strings(self, name: str) -> None:
        self._flags[name] = _Flag("strings", None)

    def parse(self) -> None:
        for arg in self.args:
            if not arg.startswith("--"):
                raise FlagError(f"arg should start with -- : {arg}")
            if arg == "--":
                return
            name, eq, value = arg[2:].partition("=")
            flag = self._flags.get(name)
            if flag is None:
                hint = difflib.get_close_matches(name, list(self._flags), n=1)
                extra = f" (did you mean {hint[0]}?)" if hint else ""
                raise FlagError(f"unknown flag: --{name}{extra}")
            if flag.seen and flag.kind != "strings":
                raise FlagError(f"duplicate flag specified: {name}")
            flag.seen = True
            if flag.kind == "bool":
                if eq and value == "":
                    raise FlagError(f"missing a value on flag: {name}")
                lower = value.lower()
                if lower not in ("", "true", "false"):
                    raise FlagError(f"expecting boolean value for flag {name}, not: {value}")
                flag.values = [lower or "true"]
            else:
                if not eq:
                    raise FlagError(f"missing a value on flag: {name}")
                if flag.kind == "string":
                    flag.values = [value]
                else:
                    flag.values.append(value)

    def boolean(self, name: str) -> bool:
        flag = self._flags[name]
        return flag.values[0] == "true" if flag.values else bool(flag.default)

    def string(self, name: str) -> str | None:
        flag = self._flags[name]
        if flag.values:
            return flag.values[0]
        return flag.default if isinstance(flag.default, str) else None

    def strings(self, name: str) -> list[str]:
        return list(self._flags[name].values)

    def was_set(self, name: str) -> bool:
        return self._flags[name].seen
