"""``builder prune`` (and ``builder build``, which is ``build``): the build cache, as docker's legacy
``builder`` group offers it; ``system df`` shows the same cache's size."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dockwright.cli.commands.common import deleted_section, parse_filters, prune_and_report
from dockwright.cli.commands.container_opts import _size_flag
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import bool_flag, filter_flag, no_prompt_flag, string_flag


def run_builder_prune(cli: Cli, ns: SimpleNamespace) -> int:
    filters = parse_filters(ns.filter, PRUNE)
    params: dict[str, Any] = {}
    if filters:
        params["filters"] = filters
    if ns.all:
        params["all"] = True
    keep = _size_flag(PRUNE, "--keep-storage", ns.keep_storage)
    if keep:
        params["keep-storage"] = keep

    def prune() -> list[tuple[int, str]]:
        report = cli.client.post_json("/build/prune", params=params) or {}
        return [(int(report.get("SpaceReclaimed") or 0),
                 deleted_section("Deleted build cache objects", report.get("CachesDeleted") or []))]

    warning = "WARNING! This will remove all build cache." if ns.all else \
        "WARNING! This will remove all dangling build cache."
    return prune_and_report(cli, ns, warning + " Are you sure you want to continue?", prune)


PRUNE = CommandSpec(
    name="builder prune",
    usage="",
    short="Remove build cache",
    run=run_builder_prune,
    flags=[
        bool_flag("all", "Remove all unused build cache, not just dangling ones", short="a"),
        filter_flag('Provide filter values (e.g. "until=24h")', short=""),
        no_prompt_flag(),
        string_flag("keep-storage", "Amount of disk space to keep for cache", metavar="bytes"),
    ],
)
