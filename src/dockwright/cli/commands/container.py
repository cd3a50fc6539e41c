"""The container commands that are one request per container: stop, kill, rm, logs, wait, prune...

Docker's habits kept (``common.for_each_name``): each name is echoed as typed
on success, each failure is printed and the command goes on with the next name,
and the exit code is 1 if any failed.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from dockwright.cli import units
from dockwright.cli.commands.common import (
    deleted_section,
    for_each_name,
    inspect_each,
    parse_filters,
    prune_and_report,
)
from dockwright.cli.commands.output import refuse_terminal, write_output
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec, Flag
from dockwright.cli.flagspecs import (
    bool_flag,
    change_flag,
    filter_flag,
    format_flag,
    int_flag,
    no_prompt_flag,
    output_flag,
    string_flag,
)
from dockwright.client.api import quote_name
from dockwright.client.errors import APIError
from dockwright.errors import InvalidParameter


def _path(name: str, tail: str = "") -> str:
    return f"/containers/{quote_name(name)}{tail}"


# --------------------------------------------------------------------------- stop / restart / kill


def _stop_params(ns: SimpleNamespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if ns.signal:
        params["signal"] = ns.signal
    t = ns.time if ns.time is not None else ns.timeout
    if t is not None:
        params["t"] = t
    return params


def run_stop(cli: Cli, ns: SimpleNamespace) -> int:
    params = _stop_params(ns)
    return for_each_name(cli, ns.args, lambda n: cli.client.post(_path(n, "/stop"), params=params))


def run_restart(cli: Cli, ns: SimpleNamespace) -> int:
    params = _stop_params(ns)
    return for_each_name(cli, ns.args, lambda n: cli.client.post(_path(n, "/restart"), params=params))


SIGNAL_FLAG = string_flag("signal", "Signal to send to the container", short="s")


def _stop_flags(verb: str) -> list[Flag]:
    return [
        SIGNAL_FLAG,
        int_flag("time", "Seconds to wait before killing the container", short="t"),
        int_flag("timeout", verb, hidden=True),
    ]


STOP = CommandSpec(name="container stop", usage="[OPTIONS] CONTAINER [CONTAINER...]",
                   short="Stop one or more running containers", run=run_stop, aliases=["stop"], min_args=1,
                   max_args=None, flags=_stop_flags("stop"))
RESTART = CommandSpec(name="container restart", usage="[OPTIONS] CONTAINER [CONTAINER...]",
                      short="Restart one or more containers", run=run_restart, aliases=["restart"], min_args=1,
                      max_args=None, flags=_stop_flags("restart"))


def run_kill(cli: Cli, ns: SimpleNamespace) -> int:
    params = {"signal": ns.signal} if ns.signal else None
    return for_each_name(cli, ns.args, lambda n: cli.client.post(_path(n, "/kill"), params=params))


KILL = CommandSpec(name="container kill", usage="[OPTIONS] CONTAINER [CONTAINER...]",
                   short="Kill one or more running containers", run=run_kill, aliases=["kill"], min_args=1,
                   max_args=None,
                   flags=[SIGNAL_FLAG])

# --------------------------------------------------------------------------- pause / unpause / rename / wait


def run_pause(cli: Cli, ns: SimpleNamespace) -> int:
    return for_each_name(cli, ns.args, lambda n: cli.client.post(_path(n, "/pause")))


def run_unpause(cli: Cli, ns: SimpleNamespace) -> int:
    return for_each_name(cli, ns.args, lambda n: cli.client.post(_path(n, "/unpause")))


PAUSE = CommandSpec(name="container pause", usage="CONTAINER [CONTAINER...]",
                    short="Pause all processes within one or more containers", run=run_pause, aliases=["pause"],
                    min_args=1, max_args=None)
UNPAUSE = CommandSpec(name="container unpause", usage="CONTAINER [CONTAINER...]",
                      short="Unpause all processes within one or more containers", run=run_unpause,
                      aliases=["unpause"], min_args=1, max_args=None)


def run_rename(cli: Cli, ns: SimpleNamespace) -> int:
    old, new = (a.strip() for a in ns.args)
    if not old or not new:
        raise InvalidParameter("Error: Neither old nor new names may be empty")
    try:
        cli.client.post(_path(old, "/rename"), params={"name": new})
    except APIError as exc:
        cli.err(f"Error response from daemon: {exc.message}")
        cli.err(f"Error: failed to rename container named {old}")
        return 1
    return 0


RENAME = CommandSpec(name="container rename", usage="CONTAINER NEW_NAME", short="Rename a container",
                     run=run_rename, aliases=["rename"], min_args=2, max_args=2)


def run_wait(cli: Cli, ns: SimpleNamespace) -> int:
    def wait(name: str) -> None:
        res = cli.client.post_json(_path(name, "/wait")) or {}
        err = res.get("Error")
        if isinstance(err, dict) and err.get("Message"):
            raise APIError(500, str(err["Message"]))
        cli.out(str(res.get("StatusCode", 0)))

    return for_each_name(cli, ns.args, wait, echo=False)


WAIT = CommandSpec(name="container wait", usage="CONTAINER [CONTAINER...]",
                   short="Block until one or more containers stop, then print their exit codes", run=run_wait,
                   aliases=["wait"], min_args=1, max_args=None)

# --------------------------------------------------------------------------- rm / prune


def run_rm(cli: Cli, ns: SimpleNamespace) -> int:
    params = {"force": ns.force, "v": ns.volumes, "link": ns.link}
    return for_each_name(cli, [n.strip("/") for n in ns.args], lambda n: cli.client.delete(_path(n), params=params))


RM = CommandSpec(name="container rm", usage="[OPTIONS] CONTAINER [CONTAINER...]",
                 short="Remove one or more containers", run=run_rm, aliases=["rm", "container remove"],
                 min_args=1, max_args=None,
                 flags=[bool_flag("force", "Force the removal of a running container (uses SIGKILL)", short="f"),
                        bool_flag("link", "Remove the specified link", short="l"),
                        bool_flag("volumes", "Remove anonymous volumes associated with the container", short="v")])

PRUNE_WARNING = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"


def run_container_prune(cli: Cli, ns: SimpleNamespace) -> int:
    filters = parse_filters(ns.filter, PRUNE)

    def prune() -> list[tuple[int, str]]:
        report = cli.client.post_json("/containers/prune", params={"filters": filters} if filters else None) or {}
        return [(int(report.get("SpaceReclaimed") or 0),
                 deleted_section("Deleted Containers", report.get("ContainersDeleted") or []))]

    return prune_and_report(cli, ns, PRUNE_WARNING, prune)


PRUNE = CommandSpec(name="container prune", usage="[OPTIONS]", short="Remove all stopped containers",
                    run=run_container_prune,
                    flags=[filter_flag('Provide filter values (e.g. "until=<timestamp>")', short=""),
                           no_prompt_flag()])

# --------------------------------------------------------------------------- logs


def api_timestamp(value: str, now: float | None = None) -> str:
    """docker's ``GetTimestamp``: a Go duration is relative to now; RFC 3339 dates become ``sec.nanos``."""
    from dockwright.cli.commands.container_opts import go_duration_ns

    v = value.strip()
    if not v:
        return v
    now = time.time() if now is None else now
    try:
        ns = go_duration_ns(v)
    except ValueError:
        ns = None
    if ns is not None and v not in ("0",) and not v.replace(".", "", 1).isdigit():
        return str(int(now - ns / 1e9))
    if v.replace(".", "", 1).isdigit():
        return v
    parsed = units.parse_rfc3339(v if ("Z" in v or "+" in v[10:] or v[10:].count("-")) else v + "Z")
    if parsed is None:
        raise InvalidParameter(f'failed to parse value as time or duration: "{value}"')
    secs = int(parsed)
    return f"{secs}.{int(round((parsed - secs) * 1e9)):09d}"


def copy_log_stream(resp: Any, tty: bool, out: Any, err: Any) -> None:
    """A logs body to the local streams: raw with a TTY, 8-byte frames without."""
    import struct

    def exactly(n: int) -> bytes:
        parts = []
        got = 0
        while got < n:
            chunk = resp.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    if tty:
        for chunk in resp.iter_chunks():
            out.write(chunk)
            out.flush()
        return
    while True:
        header = exactly(8)
        if len(header) < 8:
            return
        payload = exactly(struct.unpack(">I", header[4:])[0])
        target = err if header[0] == 2 else out
        target.write(payload)
        target.flush()


def run_logs(cli: Cli, ns: SimpleNamespace) -> int:
    c = cli.client.get_json(_path(ns.args[0], "/json")) or {}
    tty = bool((c.get("Config") or {}).get("Tty"))
    params: dict[str, Any] = {"stdout": True, "stderr": True, "follow": ns.follow, "timestamps": ns.timestamps,
                              "details": ns.details}
    if ns.since:
        params["since"] = api_timestamp(ns.since)
    if ns.until:
        params["until"] = api_timestamp(ns.until)
    if ns.tail and ns.tail != "all":
        params["tail"] = ns.tail
    cid = str(c.get("Id") or ns.args[0])
    with cli.client.open("GET", f"/containers/{cid}/logs", params=params) as resp:
        cli.stderr.flush()
        copy_log_stream(resp, tty, cli.stdout_bytes, cli.stderr.buffer)
    return 0


LOGS = CommandSpec(name="container logs", usage="[OPTIONS] CONTAINER", short="Fetch the logs of a container",
                   run=run_logs, aliases=["logs"], min_args=1, max_args=1,
                   flags=[bool_flag("details", "Show extra details provided to logs"),
                          bool_flag("follow", "Follow log output", short="f"),
                          string_flag("since", 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                                               '(e.g. "42m" for 42 minutes)'),
                          string_flag("tail", "Number of lines to show from the end of the logs", short="n",
                                      default="all"),
                          bool_flag("timestamps", "Show timestamps", short="t"),
                          string_flag("until", 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or '
                                               'relative (e.g. "42m" for 42 minutes)')])

# --------------------------------------------------------------------------- port / top / diff


def run_port(cli: Cli, ns: SimpleNamespace) -> int:
    c = cli.client.get_json(_path(ns.args[0], "/json")) or {}
    ports: dict[str, Any] = ((c.get("NetworkSettings") or {}).get("Ports")) or {}

    def key(p: str) -> tuple[int, str]:
        num, _, proto = p.partition("/")
        return (int(num) if num.isdigit() else 0, proto)

    if len(ns.args) == 2:
        want = ns.args[1]
        port, _, proto = want.partition("/")
        proto = proto or "tcp"
        bindings = ports.get(f"{port}/{proto}")
        if bindings:
            for b in bindings:
                cli.out(_host_port(b))
            return 0
        cli.err(f"Error: No public port '{want}' published for {ns.args[0]}")
        return 1
    for p in sorted(ports, key=key):
        for b in ports[p] or []:
            cli.out(f"{p} -> {_host_port(b)}")
    return 0


def _host_port(b: dict[str, Any]) -> str:
    ip = str(b.get("HostIp") or "")
    port = str(b.get("HostPort") or "")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


PORT = CommandSpec(name="container port", usage="CONTAINER [PRIVATE_PORT[/PROTO]]",
                   short="List port mappings or a specific mapping for the container", run=run_port,
                   aliases=["port"], min_args=1, max_args=2)


def run_top(cli: Cli, ns: SimpleNamespace) -> int:
    from dockwright.cli.tabwriter import tabwrite

    container, *ps_args = ns.args
    params = {"ps_args": " ".join(ps_args)} if ps_args else None
    res = cli.client.get_json(_path(container, "/top"), params=params) or {}
    lines = ["\t".join(res.get("Titles") or [])]
    lines += ["\t".join(str(x) for x in proc) for proc in res.get("Processes") or []]
    cli.stdout.write(tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))
    return 0


TOP = CommandSpec(name="container top", usage="CONTAINER [ps OPTIONS]",
                  short="Display the running processes of a container", run=run_top, aliases=["top"],
                  min_args=1, max_args=None, interspersed=False)

_KINDS = {0: "C", 1: "A", 2: "D"}


def run_diff(cli: Cli, ns: SimpleNamespace) -> int:
    for change in cli.client.get_json(_path(ns.args[0], "/changes")) or []:
        cli.out(f"{_KINDS.get(int(change.get('Kind', 0)), '?')} {change.get('Path', '')}")
    return 0


DIFF = CommandSpec(name="container diff", usage="CONTAINER",
                   short="Inspect changes to files or directories on a container's filesystem", run=run_diff,
                   aliases=["diff"], min_args=1, max_args=1)

# --------------------------------------------------------------------------- export / commit / update


def run_export(cli: Cli, ns: SimpleNamespace) -> int:
    refuse_terminal(cli, ns.output)
    with cli.client.open("GET", _path(ns.args[0], "/export")) as resp:
        write_output(cli, ns.output, resp.iter_chunks())
    return 0


EXPORT = CommandSpec(name="container export", usage="[OPTIONS] CONTAINER",
                     short="Export a container's filesystem as a tar archive", run=run_export, aliases=["export"],
                     min_args=1, max_args=1,
                     flags=[output_flag()])


def run_commit(cli: Cli, ns: SimpleNamespace) -> int:
    params: dict[str, Any] = {"container": ns.args[0], "comment": ns.message or None, "author": ns.author or None,
                              "changes": list(ns.change) or None, "pause": "1" if ns.pause else "0"}
    if len(ns.args) == 2:
        from dockwright.oci.reference import ReferenceError, parse_reference

        try:
            ref = parse_reference(ns.args[1])
        except ReferenceError as exc:
            raise InvalidParameter(f"invalid reference format: {exc}") from None
        params["repo"] = ref.familiar_name
        params["tag"] = ref.tag
    res = cli.client.post_json("/commit", params=params, json_body={}) or {}
    cli.out(str(res.get("Id", "")))
    return 0


COMMIT = CommandSpec(name="container commit", usage="[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                     short="Create a new image from a container's changes", run=run_commit, aliases=["commit"],
                     min_args=1, max_args=2,
                     flags=[string_flag("author", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")',
                                        short="a"),
                            change_flag(),
                            string_flag("message", "Commit message", short="m"),
                            bool_flag("pause", "Pause container during commit", short="p", default=True)])


def run_update(cli: Cli, ns: SimpleNamespace) -> int:
    from dockwright.cli.commands import container_opts as opts

    body: dict[str, Any] = {}
    try:
        if ns.memory:
            body["Memory"] = opts.ram_in_bytes(ns.memory)
        if ns.memory_swap:
            body["MemorySwap"] = -1 if ns.memory_swap == "-1" else opts.ram_in_bytes(ns.memory_swap)
        if ns.memory_reservation:
            body["MemoryReservation"] = opts.ram_in_bytes(ns.memory_reservation)
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None
    if ns.cpus:
        try:
            body["NanoCpus"] = int(round(float(ns.cpus) * 1e9))
        except ValueError:
            raise InvalidParameter(f"failed to parse {ns.cpus} as a rational number") from None
    if ns.cpu_shares is not None:
        body["CpuShares"] = ns.cpu_shares
    if ns.cpuset_cpus:
        body["CpusetCpus"] = ns.cpuset_cpus
    if ns.pids_limit is not None:
        body["PidsLimit"] = ns.pids_limit
    if ns.restart:
        body["RestartPolicy"] = opts._restart_policy(ns.restart)
    if not body:
        raise InvalidParameter("you must provide one or more flags when using this command")

    def update(name: str) -> None:
        res = cli.client.post_json(_path(name, "/update"), json_body=body) or {}
        for w in res.get("Warnings") or []:
            cli.err(w)

    return for_each_name(cli, ns.args, update)


UPDATE = CommandSpec(name="container update", usage="[OPTIONS] CONTAINER [CONTAINER...]",
                     short="Update configuration of one or more containers", run=run_update, aliases=["update"],
                     min_args=1, max_args=None,
                     flags=[int_flag("cpu-shares", "CPU shares (relative weight)", short="c"),
                            string_flag("cpus", "Number of CPUs", metavar="decimal"),
                            string_flag("cpuset-cpus", "CPUs in which to allow execution (0-3, 0,1)"),
                            string_flag("memory", "Memory limit", short="m", metavar="bytes"),
                            string_flag("memory-reservation", "Memory soft limit", metavar="bytes"),
                            string_flag("memory-swap", "Swap limit equal to memory plus swap: -1 to enable "
                                        "unlimited swap", metavar="bytes"),
                            int_flag("pids-limit", "Tune container pids limit (set -1 for unlimited)"),
                            string_flag("restart", "Restart policy to apply when a container exits")])

# --------------------------------------------------------------------------- inspect


def run_inspect(cli: Cli, ns: SimpleNamespace) -> int:
    return inspect_each(cli, ns, lambda name: cli.client.get_json(_path(name, "/json"), params={"size": ns.size}))


INSPECT = CommandSpec(name="container inspect", usage="[OPTIONS] CONTAINER [CONTAINER...]",
                      short="Display detailed information on one or more containers", run=run_inspect, min_args=1,
                      max_args=None,
                      flags=[format_flag("Format output using a custom template", short="f"),
                             bool_flag("size", "Display total file sizes", short="s")])
