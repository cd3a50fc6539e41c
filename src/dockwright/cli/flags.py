"""Command-line flags the way docker's (pflag) parses them, and its usage texts.

Why not argparse: docker accepts flags anywhere among the arguments,
``--all=false`` for booleans, clustered short flags (``-aq``), and prints
its own error and help wording, which scripts and users know. The parser is
also cheaper to import than argparse, which matters for start-up time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple

from dockwright.errors import InvalidParameter

if TYPE_CHECKING:
    from dockwright.cli.context import Cli

PROG = "dockwright"


class UsageError(InvalidParameter):
    """Wrong flags or arguments: printed with the command's usage; ``exit_code`` as docker's."""

    def __init__(self, message: str, spec: CommandSpec | None = None, *, exit_code: int = 125,
                 prefix: bool = False) -> None:
        super().__init__(message)
        self.spec = spec
        self.exit_code = exit_code
        self.prefix = prefix


class Flag(NamedTuple):
    long: str
    short: str = ""
    kind: str = "bool"  # bool | string | list | int
    default: Any = None
    help: str = ""
    metavar: str = ""
    hidden: bool = False

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")

    def initial(self) -> Any:
        if self.kind == "list":
            return list(self.default or [])
        if self.kind == "bool":
            return bool(self.default)
        return self.default


HELP_FLAG = Flag("help", "", "bool", help="Print usage", hidden=True)


class CommandSpec:
    """A command: its usage line, help, flags, argument count and the function that runs it.

    (A plain class rather than a dataclass: importing dataclasses costs start-up time.)
    """

    def __init__(
        self,
        name: str,  # the canonical path, e.g. "image ls"
        usage: str,  # after the command path: "[OPTIONS] [REPOSITORY[:TAG]]"
        short: str,
        run: Callable[[Cli, SimpleNamespace], int],
        flags: list[Flag] | None = None,
        min_args: int = 0,
        max_args: int | None = 0,
        aliases: list[str] | None = None,  # other full paths, e.g. "images", "image list"
        interspersed: bool = True,  # False: flags end at the first argument (``run IMAGE CMD -l``)
    ) -> None:
        self.name = name
        self.usage = usage
        self.short = short
        self.run = run
        self.flags = list(flags or [])
        self.min_args = min_args
        self.max_args = max_args
        self.aliases = list(aliases or [])
        self.interspersed = interspersed

    def usage_line(self, invoked: str) -> str:
        return f"Usage:  {PROG} {invoked} {self.usage}".rstrip()

    def help_text(self, invoked: str) -> str:
        lines = ["", self.usage_line(invoked), "", self.short]
        if self.aliases:
            names = sorted([self.name, *self.aliases])
            lines += ["", "Aliases:", "  " + ", ".join(f"{PROG} {n}" for n in names)]
        shown = [f for f in self.flags if not f.hidden]
        if shown:
            lines += ["", "Options:"]
            rows = []
            for f in shown:
                left = (f"-{f.short}, " if f.short else "    ") + f"--{f.long}"
                if f.kind != "bool":
                    left += " " + (f.metavar or f.kind)
                help_ = f.help
                if f.default not in (None, False, "", []) and f.kind != "list":
                    help_ += f' (default {f.default!r})' if f.kind == "string" else f" (default {f.default})"
                rows.append((left, help_))
            width = max(len(r[0]) for r in rows)
            pad = "\n" + " " * (width + 5)
            lines += [f"  {left.ljust(width)}   {h.replace(chr(10), pad)}".rstrip() for left, h in rows]
        return "\n".join(lines) + "\n\n"


def _bool_value(flag: Flag, text: str, spec: CommandSpec) -> bool:
    low = text.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise UsageError(f'invalid argument "{text}" for "{_flag_name(flag)}" flag: strconv.ParseBool: '
                     f'parsing "{text}": invalid syntax', spec)


def _flag_name(flag: Flag) -> str:
    return (f"-{flag.short}, " if flag.short else "") + f"--{flag.long}"


def _store(ns: SimpleNamespace, flag: Flag, value: str, spec: CommandSpec) -> None:
    if flag.kind == "list":
        getattr(ns, flag.dest).append(value)
    elif flag.kind == "int":
        try:
            setattr(ns, flag.dest, int(value))
        except ValueError:
            raise UsageError(f'invalid argument "{value}" for "{_flag_name(flag)}" flag: strconv.ParseInt: '
                             f'parsing "{value}": invalid syntax', spec) from None
    else:
        setattr(ns, flag.dest, value)


def _value_after(rest: Iterator[str], flag: str, spec: CommandSpec) -> str:
    """The value of a flag given as its own argument (``--name value``, ``-n value``)."""
    value = next(rest, None)
    if value is None:
        raise UsageError(f"flag needs an argument: {flag}", spec)
    return value


def parse(spec: CommandSpec, argv: Sequence[str], invoked: str) -> SimpleNamespace:
    """Parse ``argv`` (after the command words) into a namespace with ``.args`` and one attribute per flag."""
    flags = [*spec.flags, HELP_FLAG]
    by_long = {f.long: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    by_short.setdefault("h", HELP_FLAG)
    ns = SimpleNamespace(**{f.dest: f.initial() for f in flags})
    args: list[str] = []
    rest = iter(argv)
    for a in rest:
        if not spec.interspersed and args:
            args.append(a)
            continue
        if a == "--":
            args.extend(rest)
            break
        if a.startswith("--") and len(a) > 2:
            name, eq, value = a[2:].partition("=")
            flag = by_long.get(name)
            if flag is None:
                raise UsageError(f"unknown flag: --{name}", spec)
            if flag.kind == "bool":
                setattr(ns, flag.dest, _bool_value(flag, value, spec) if eq else True)
                continue
            _store(ns, flag, value if eq else _value_after(rest, f"--{name}", spec), spec)
            continue
        if a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                c = a[j]
                flag = by_short.get(c)
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{c}' in {a}", spec)
                j += 1
                if flag.kind == "bool":
                    if j < len(a) and a[j] == "=":
                        setattr(ns, flag.dest, _bool_value(flag, a[j + 1 :], spec))
                        break
                    setattr(ns, flag.dest, True)
                    continue
                value = a[j:]
                if value.startswith("="):
                    value = value[1:]
                elif not value:
                    value = _value_after(rest, f"'{c}' in -{c}", spec)
                _store(ns, flag, value, spec)
                break
            continue
        args.append(a)
    ns.args = args
    if ns.help:
        return ns
    msg = _arg_count_problem(len(args), spec.min_args, spec.max_args)
    if msg:
        raise UsageError(f"'{PROG} {invoked}' {msg}", spec, exit_code=1, prefix=True)
    return ns


def _arg_count_problem(n: int, lo: int, hi: int | None) -> str:
    """docker's wording for a wrong number of arguments, or "" when ``n`` is fine."""
    if lo <= n and (hi is None or n <= hi):
        return ""
    if hi == 0:
        return "accepts no arguments"
    if lo == hi:
        return f"requires {lo} argument{'s' if lo != 1 else ''}"
    if hi is None:
        return f"requires at least {lo} argument{'s' if lo != 1 else ''}"
    if lo == 0:
        return f"requires at most {hi} argument{'s' if hi != 1 else ''}"
    return f"requires at least {lo} and at most {hi} arguments"
