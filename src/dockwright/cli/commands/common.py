"""What several command groups do alike: filters, one request per name, inspecting, pruning."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from dockwright.cli import units
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec, UsageError
from dockwright.client.errors import APIError


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
        from dockwright.cli.formatter import ItemTemplate
        from dockwright.cli.gotemplate import StrictMap

        tmpl = ItemTemplate(fmt)
        for item in items:
            cli.stdout.write(tmpl(StrictMap(item) if isinstance(item, dict) else item))
        return
    print_json_array(cli, items)


def for_each_name(cli: Cli, names: list[str], action: Callable[[str], object], *, echo: bool = True) -> int:
    """docker's habit for commands on several objects: each failure is printed and the next name tried;
    each success echoes the name as typed (``echo``); exit code 1 if any failed."""
    failed = False
    for name in names:
        try:
            action(name)
        except APIError as exc:
            cli.err(f"Error response from daemon: {exc.message}")
            failed = True
            continue
        if echo:
            cli.out(name)
    return 1 if failed else 0


def inspect_each(cli: Cli, ns: SimpleNamespace, fetch: Callable[[str], Any]) -> int:
    """``image inspect``/``container inspect``: what was found is printed together, then each failure."""
    found: list[Any] = []
    errors: list[str] = []
    for name in ns.args:
        try:
            found.append(fetch(name))
        except APIError as exc:
            errors.append(f"Error response from daemon: {exc.message}")
    print_inspect(cli, ns, found)
    for e in errors:
        cli.err(e)
    return 1 if errors else 0


def deleted_section(title: str, deleted: list[Any]) -> str:
    """A prune report's ``Deleted Containers:`` block, one line an item, or "" when nothing went."""
    return f"{title}:\n" + "".join(f"{d}\n" for d in deleted) if deleted else ""


def prune_and_report(cli: Cli, ns: SimpleNamespace, warning: str,
                     prune: Callable[[], Iterable[tuple[int, str]]]) -> int:
    """Ask unless ``--force``, then print each step's section as it ends and the total space freed.

    ``prune`` yields ``(bytes reclaimed, section text)`` per step, so a long prune shows progress.
    """
    if not ns.force and not cli.confirm(warning):
        return 0
    total = 0
    for space, text in prune():
        total += space
        if text:
            cli.out(text)
    cli.out(f"Total reclaimed space: {units.human_size(total)}")
    return 0

