"""``stats``: CPU, memory, network and block I/O per container, computed from the Engine API's samples
the way docker computes them (CPU delta over system delta times online CPUs; memory minus page cache)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, ClassVar

from dockwright.cli import units
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import all_containers_flag, bool_flag, format_flag, no_trunc_flag
from dockwright.cli.formatter import RowContext, or_default, render
from dockwright.client.api import quote_name
from dockwright.client.errors import APIError

DEFAULT_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
                 "{{.BlockIO}}\t{{.PIDs}}")


def cpu_percent(s: dict[str, Any]) -> float:
    cpu = s.get("cpu_stats") or {}
    pre = s.get("precpu_stats") or {}
    cpu_delta = ((cpu.get("cpu_usage") or {}).get("total_usage") or 0) - (
        (pre.get("cpu_usage") or {}).get("total_usage") or 0)
    sys_delta = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    if cpu_delta > 0 and sys_delta > 0:
        return cpu_delta / sys_delta * online * 100.0
    return 0.0


def memory_usage(s: dict[str, Any]) -> tuple[float, float]:
    mem = s.get("memory_stats") or {}
    usage = float(mem.get("usage") or 0)
    detail = mem.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        v = detail.get(key)
        if isinstance(v, int) and v < usage:
            usage -= v
            break
    return usage, float(mem.get("limit") or 0)


def io_totals(s: dict[str, Any]) -> tuple[float, float, float, float]:
    rx = tx = 0.0
    for net in (s.get("networks") or {}).values():
        rx += net.get("rx_bytes") or 0
        tx += net.get("tx_bytes") or 0
    read = write = 0.0
    for entry in (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op") or "").lower()
        if op == "read":
            read += entry.get("value") or 0
        elif op == "write":
            write += entry.get("value") or 0
    return rx, tx, read, write


class StatsRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
        "PIDs": "PIDS",
    }

    def __init__(self, given: str, s: dict[str, Any], trunc: bool) -> None:
        self.given = given
        self.s = s
        self.trunc = trunc

    def Container(self) -> str:
        return self.given

    def ID(self) -> str:
        ident = str(self.s.get("id") or "")
        return units.truncate_id(ident) if self.trunc else ident

    def Name(self) -> str:
        return str(self.s.get("name") or "").removeprefix("/") or "--"

    def CPUPerc(self) -> str:
        return f"{cpu_percent(self.s):.2f}%"

    def MemUsage(self) -> str:
        used, limit = memory_usage(self.s)
        return f"{units.bytes_size(used)} / {units.bytes_size(limit)}"

    def MemPerc(self) -> str:
        used, limit = memory_usage(self.s)
        return f"{used / limit * 100:.2f}%" if limit else "0.00%"

    def NetIO(self) -> str:
        rx, tx, _, _ = io_totals(self.s)
        return f"{units.human_size(rx, 3)} / {units.human_size(tx, 3)}"

    def BlockIO(self) -> str:
        _, _, read, write = io_totals(self.s)
        return f"{units.human_size(read, 3)} / {units.human_size(write, 3)}"

    def PIDs(self) -> str:
        return str(int((self.s.get("pids_stats") or {}).get("current") or 0))


def _sample(cli: Cli, names: list[str], trunc: bool) -> tuple[list[StatsRow], list[str]]:
    rows: list[StatsRow] = []
    errors: list[str] = []
    for name in names:
        try:
            s = cli.client.get_json(f"/containers/{quote_name(name)}/stats", params={"stream": "0"}) or {}
        except APIError as exc:
            errors.append(f"Error response from daemon: {exc.message}")
            continue
        rows.append(StatsRow(name, s, trunc))
    return rows, errors


def run_stats(cli: Cli, ns: SimpleNamespace) -> int:
    fmt = or_default(ns.format or "", DEFAULT_TABLE)
    while True:
        names = list(ns.args)
        if not names:
            listed = cli.client.get_json("/containers/json", params={"all": ns.all}) or []
            names = [str(c.get("Id")) for c in listed]
        rows, errors = _sample(cli, names, not ns.no_trunc)
        if ns.args and errors and not rows:
            for e in errors:
                cli.err(e)
            return 1
        text = render(rows, fmt, StatsRow.FIELDS)
        if ns.no_stream:
            cli.stdout.write(text)
            for e in errors:
                cli.err(e)
            return 1 if errors else 0
        cli.stdout.write("\033[2J\033[H" + text)
        cli.stdout.flush()
        time.sleep(1)


STATS = CommandSpec(
    name="container stats",
    usage="[OPTIONS] [CONTAINER...]",
    short="Display a live stream of container(s) resource usage statistics",
    run=run_stats,
    aliases=["stats"],
    max_args=None,
    flags=[
        all_containers_flag(),
        format_flag(),
        bool_flag("no-stream", "Disable streaming stats and only pull the first result"),
        no_trunc_flag("Do not truncate output"),
    ],
)
