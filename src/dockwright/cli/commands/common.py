"""Flags and helpers several command groups share (filters, formats, JSON output)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec, Flag, UsageError

FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template"
)
INSPECT_FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template"
)


def format_flag(help_: str = FORMAT_HELP) -> Flag:
    return Flag("format", "", "string", help=help_, metavar="string")


def filter_flag(help_: str = "Provide filter values (e.g. \"dangling=true\")") -> Flag:
    return Flag("filter", "f", "list", help=help_, metavar="filter")


def parse_filters(values: list[str], spec: CommandSpec | None = None) -> dict[str, dict[str, bool]]:
    """``["dangling=true", "label=a"]`` to the API's ``{"dangling": {"true": true}, "label": {"a": true}}``."""
    out: dict[str, dict[str, bool]] = {}
    for v in values:
        if "=" not in v:
            raise UsageError(f'invalid argument "{v}" for "-f, --filter" flag: bad format of filter '
                             "(expected name=value)", spec)
        name, _, value = v.partition("=")
        out.setdefault(name.strip().lower(), {})[value.strip()] = True
    return out


def print_json_array(cli: Cli, items: list[Any]) -> None:
    """``docker inspect``'s output: a JSON array indented by four spaces."""
    from dockwright.cli.formatter import go_json

    if not items:
        cli.out("[]")
        return
    cli.out(go_json(items, indent=4))


def print_inspect(cli: Cli, ns: SimpleNamespace, items: list[Any]) -> None:
    fmt = getattr(ns, "format", None)
    if fmt and fmt != "json":
        from dockwright.cli.formatter import render_each
        from dockwright.cli.gotemplate import StrictMap

        for text in render_each([StrictMap(i) if isinstance(i, dict) else i for i in items], fmt):
            cli.stdout.write(text)
        return
    print_json_array(cli, items)
