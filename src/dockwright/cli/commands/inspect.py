"""``dockwright inspect``: any object by name or ID, tried type by type like docker.

Container, network and volume routes slot in as the daemon grows them: a
404 (or 501 from a daemon without that route yet) just means "not this type".
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dockwright.cli.commands.common import print_inspect
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import bool_flag, inspect_format_flag, string_flag
from dockwright.client.api import quote_name
from dockwright.client.errors import APIError
from dockwright.errors import InvalidParameter

# docker's order: container first, then image, network, volume
TYPES: dict[str, str] = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
}


def _lookup(cli: Cli, kind: str, name: str, size: bool) -> Any | None:
    params = {"size": True} if size and kind == "container" else None
    try:
        return cli.client.get_json(TYPES[kind].format(quote_name(name)), params=params)
    except APIError as exc:
        if exc.status in (404, 501) or (exc.status == 400 and kind != "image"):
            return None
        raise


def run(cli: Cli, ns: SimpleNamespace) -> int:
    kinds = list(TYPES)
    if ns.type:
        if ns.type not in TYPES:
            raise InvalidParameter(f'"{ns.type}" is not a valid value for --type')
        kinds = [ns.type]
    found: list[Any] = []
    missing: list[str] = []
    for name in ns.args:
        obj = None
        for kind in kinds:
            obj = _lookup(cli, kind, name, ns.size)
            if obj is not None:
                break
        if obj is None:
            missing.append(name)
        else:
            found.append(obj)
    print_inspect(cli, ns, found)
    for name in missing:
        what = f"{ns.type}" if ns.type else "object"
        cli.err(f"Error: No such {what}: {name}")
    return 1 if missing else 0


INSPECT = CommandSpec(
    name="inspect",
    usage="[OPTIONS] NAME|ID [NAME|ID...]",
    short="Return low-level information on Docker objects",
    run=run,
    min_args=1,
    max_args=None,
    flags=[
        inspect_format_flag(),
        bool_flag("size", "Display total file sizes if the type is container", short="s"),
        string_flag("type", "Only inspect objects of the given type"),
    ],
)
