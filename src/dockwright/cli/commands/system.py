"""``system info|df|prune|events|check`` (and the ``info``, ``events`` shortcuts)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

from dockwright.cli import units
from dockwright.cli.commands.common import deleted_section, parse_filters, prune_and_report
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import (
    INSPECT_FORMAT_HELP,
    bool_flag,
    filter_flag,
    format_flag,
    inspect_format_flag,
    no_prompt_flag,
    string_flag,
)
from dockwright.cli.formatter import RowContext, or_default, render, render_one
from dockwright.client.errors import APIError, DaemonUnavailable
from dockwright.errors import InvalidParameter

# --------------------------------------------------------------------------- info


def _client_section(cli: Cli) -> list[str]:
    from dockwright import __version__

    return ["Client:", f" Version:    {__version__}", " Context:    default", " Debug Mode: false", ""]


def render_info(info: dict[str, Any]) -> str:
    """The ``Server:`` part of ``docker info``, field for field in docker's order."""
    o: list[str] = ["Server:"]

    def line(text: str) -> None:
        o.append(text)

    g = info.get
    line(f" Containers: {g('Containers', 0)}")
    line(f"  Running: {g('ContainersRunning', 0)}")
    line(f"  Paused: {g('ContainersPaused', 0)}")
    line(f"  Stopped: {g('ContainersStopped', 0)}")
    line(f" Images: {g('Images', 0)}")
    line(f" Server Version: {g('ServerVersion', '')}")
    if g("Driver"):
        line(f" Storage Driver: {g('Driver')}")
        for pair in g("DriverStatus") or []:
            if len(pair) == 2:
                line(f"  {pair[0]}: {pair[1]}")
    if g("LoggingDriver"):
        line(f" Logging Driver: {g('LoggingDriver')}")
    if g("CgroupDriver"):
        line(f" Cgroup Driver: {g('CgroupDriver')}")
    if g("CgroupVersion"):
        line(f" Cgroup Version: {g('CgroupVersion')}")
    plugins = g("Plugins") or {}
    line(" Plugins:")
    line(f"  Volume: {' '.join(plugins.get('Volume') or [])}")
    line(f"  Network: {' '.join(plugins.get('Network') or [])}")
    if plugins.get("Authorization"):
        line(f"  Authorization: {' '.join(plugins['Authorization'])}")
    line(f"  Log: {' '.join(plugins.get('Log') or [])}")
    swarm = g("Swarm") or {}
    line(f" Swarm: {swarm.get('LocalNodeState') or 'inactive'}")
    runtimes = g("Runtimes") or {}
    if runtimes:
        line(" Runtimes: " + " ".join(sorted(runtimes)))
        line(f" Default Runtime: {g('DefaultRuntime', '')}")
    if g("OSType", "linux") == "linux":
        line(f" Init Binary: {g('InitBinary', '')}")
        for key, title in (("ContainerdCommit", "containerd"), ("RuncCommit", "runc"), ("InitCommit", "init")):
            commit = g(key) or {}
            line(f" {title} version: {commit.get('ID', '')}")
            if commit.get("Expected") and commit.get("Expected") != commit.get("ID"):
                line(f"  expected: {commit['Expected']}")
    security = g("SecurityOptions") or []
    if security:
        line(" Security Options:")
        for opt in security:
            fields = dict(kv.split("=", 1) for kv in str(opt).split(",") if "=" in kv)
            name = fields.pop("name", str(opt))
            line(f"  {name}")
            if fields.get("profile"):
                line(f"   Profile: {fields['profile']}")
    line(f" Kernel Version: {g('KernelVersion', '')}")
    line(f" Operating System: {g('OperatingSystem', '')}")
    line(f" OSType: {g('OSType', '')}")
    line(f" Architecture: {g('Architecture', '')}")
    line(f" CPUs: {g('NCPU', 0)}")
    line(f" Total Memory: {units.bytes_size(int(g('MemTotal') or 0))}")
    line(f" Name: {g('Name', '')}")
    line(f" ID: {g('ID', '')}")
    line(f" Docker Root Dir: {g('DockerRootDir', '')}")
    line(f" Debug Mode: {'true' if g('Debug') else 'false'}")
    if g("Debug"):
        line(f"  File Descriptors: {g('NFd', 0)}")
        line(f"  Goroutines: {g('NGoroutines', 0)}")
        line(f"  System Time: {g('SystemTime', '')}")
        line(f"  EventsListeners: {g('NEventsListener', 0)}")
    for key, title in (("HttpProxy", "HTTP Proxy"), ("HttpsProxy", "HTTPS Proxy"), ("NoProxy", "No Proxy")):
        if g(key):
            line(f" {title}: {g(key)}")
    labels = g("Labels") or []
    if labels:
        line(" Labels:")
        o.extend(f"  {label}" for label in labels)
    line(f" Experimental: {'true' if g('ExperimentalBuild') else 'false'}")
    reg = g("RegistryConfig") or {}
    cidrs = reg.get("InsecureRegistryCIDRs") or []
    indexes = reg.get("IndexConfigs") or {}
    if cidrs or indexes:
        line(" Insecure Registries:")
        for name, cfg in indexes.items():
            if isinstance(cfg, dict) and not cfg.get("Secure", True):
                line(f"  {cfg.get('Name', name)}")
        o.extend(f"  {c}" for c in cidrs)
    if reg.get("Mirrors"):
        line(" Registry Mirrors:")
        o.extend(f"  {m}" for m in reg["Mirrors"])
    line(f" Live Restore Enabled: {'true' if g('LiveRestoreEnabled') else 'false'}")
    if g("ProductLicense"):
        line(f" Product License: {g('ProductLicense')}")
    pools = g("DefaultAddressPools") or []
    if pools:
        line(" Default Address Pools:")
        o.extend(f"   Base: {p.get('Base')}, Size: {p.get('Size')}" for p in pools)
    return "\n".join(o) + "\n\n"


def run_info(cli: Cli, ns: SimpleNamespace) -> int:
    from dockwright import __version__

    if ns.format:
        info = cli.client.get_json("/info")
        info["ClientInfo"] = {"Version": __version__, "Context": "default", "Debug": False}
        cli.stdout.write(render_one(info, ns.format))
        return 0
    cli.out("\n".join(_client_section(cli)))
    try:
        info = cli.client.get_json("/info")
    except DaemonUnavailable:
        cli.out("Server:")
        raise
    cli.stdout.write(render_info(info))
    for w in info.get("Warnings") or []:
        cli.err(w)
    return 0


INFO = CommandSpec(
    name="system info",
    usage="[OPTIONS]",
    short="Display system-wide information",
    run=run_info,
    aliases=["info"],
    flags=[inspect_format_flag()],
)

# --------------------------------------------------------------------------- df


class DiskUsageRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "Type": "TYPE",
        "TotalCount": "TOTAL",
        "Active": "ACTIVE",
        "Size": "SIZE",
        "Reclaimable": "RECLAIMABLE",
    }

    def __init__(self, kind: str, total: int, active: int, size: int, reclaimable: int, percent: bool) -> None:
        self.kind, self.total, self.active = kind, total, active
        self.size, self.reclaimable, self.percent = size, reclaimable, percent

    def Type(self) -> str:
        return self.kind

    def TotalCount(self) -> str:
        return str(self.total)

    def Active(self) -> str:
        return str(self.active)

    def Size(self) -> str:
        return units.human_size(self.size)

    def Reclaimable(self) -> str:
        text = units.human_size(self.reclaimable)
        if self.percent and self.size > 0:
            text += f" ({self.reclaimable * 100 // self.size}%)"
        return text


def summary_rows(du: dict[str, Any]) -> list[DiskUsageRow]:
    images = du.get("Images") or []
    containers = du.get("Containers") or []
    volumes = du.get("Volumes") or []
    cache = du.get("BuildCache") or []
    layers = int(du.get("LayersSize") or 0)
    used = 0
    for i in images:
        if (i.get("Containers") or 0) != 0 and i.get("SharedSize", -1) != -1 and i.get("Size", -1) != -1:
            used += int(i.get("Size") or 0) - int(i.get("SharedSize") or 0)
    img = DiskUsageRow("Images", len(images), sum(1 for i in images if (i.get("Containers") or 0) > 0),
                       layers, max(layers - used, 0), True)
    def active(c: dict[str, Any]) -> bool:
        state = str(c.get("State") or "")
        return any(s in state for s in ("running", "paused", "restarting"))

    c_size = sum(int(c.get("SizeRw") or 0) for c in containers)
    c_recl = sum(int(c.get("SizeRw") or 0) for c in containers if not active(c))
    cont = DiskUsageRow("Containers", len(containers), sum(1 for c in containers if active(c)),
                        c_size, c_recl, True)
    v_sizes = [(v.get("UsageData") or {}) for v in volumes]
    v_size = sum(int(u.get("Size") or 0) for u in v_sizes if (u.get("Size") or 0) > 0)
    v_recl = sum(int(u.get("Size") or 0) for u in v_sizes if u.get("RefCount") == 0 and (u.get("Size") or 0) > 0)
    vol = DiskUsageRow("Local Volumes", len(volumes), sum(1 for u in v_sizes if (u.get("RefCount") or 0) > 0),
                       v_size, v_recl, True)
    b_size = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    b_recl = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared") and not b.get("InUse"))
    build = DiskUsageRow("Build Cache", len(cache), sum(1 for b in cache if b.get("InUse")), b_size, b_recl, False)
    return [img, cont, vol, build]


class ContainerDiskRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "ID": "CONTAINER ID",
        "Image": "IMAGE",
        "Command": "COMMAND",
        "LocalVolumes": "LOCAL VOLUMES",
        "Size": "SIZE",
        "RunningFor": "CREATED",
        "Status": "STATUS",
        "Names": "NAMES",
    }

    def __init__(self, c: dict[str, Any], now: float) -> None:
        self.c = c
        self.now = now

    def ID(self) -> str:
        return units.truncate_id(str(self.c.get("Id", "")))

    def Image(self) -> str:
        """docker's rule: ``<no image>``, a short ID for an ID, the familiar name without digest otherwise."""
        from dockwright.oci.reference import ReferenceError, parse_reference

        image = str(self.c.get("Image") or "")
        if not image:
            return "<no image>"
        if units.truncate_id(str(self.c.get("ImageID") or "")) == units.truncate_id(image):
            return units.truncate_id(image)
        try:
            ref = parse_reference(image, default_tag=False)
        except ReferenceError:
            return image
        return ref.familiar_name + (f":{ref.tag}" if ref.tag else "")

    def Command(self) -> str:
        from dockwright.cli.gotemplate import go_sprintf

        return go_sprintf("%q", units.ellipsis(str(self.c.get("Command", "")), 20))

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Size(self) -> str:
        # docker's df leaves out the virtual size it shows in ``ps -s``
        return units.human_size(int(self.c.get("SizeRw") or 0), 3)

    def RunningFor(self) -> str:
        return units.since(int(self.c.get("Created") or 0), self.now)

    def Status(self) -> str:
        return str(self.c.get("Status", ""))

    def Names(self) -> str:
        names = [n.lstrip("/") for n in self.c.get("Names") or []]
        return ",".join(n for n in names if "/" not in n)


class VolumeDiskRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}

    def __init__(self, v: dict[str, Any]) -> None:
        self.v = v

    def Name(self) -> str:
        return str(self.v.get("Name", ""))

    def Links(self) -> str:
        n = (self.v.get("UsageData") or {}).get("RefCount", -1)
        return "N/A" if n == -1 else str(n)

    def Size(self) -> str:
        n = (self.v.get("UsageData") or {}).get("Size", -1)
        return "N/A" if n == -1 else units.human_size(n)


class BuildCacheDiskRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
        "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED",
    }

    def __init__(self, b: dict[str, Any], now: float) -> None:
        self.b = b
        self.now = now

    def ID(self) -> str:
        ident = str(self.b.get("ID", ""))
        return ident + "*" if self.b.get("InUse") else ident

    def CacheType(self) -> str:
        return str(self.b.get("Type", ""))

    def Size(self) -> str:
        return units.human_size(int(self.b.get("Size") or 0))

    def _since(self, key: str) -> str:
        ts = units.parse_rfc3339(str(self.b.get(key) or ""))
        return "" if ts is None else units.since(ts, self.now)

    def CreatedSince(self) -> str:
        return self._since("CreatedAt")

    def LastUsedSince(self) -> str:
        return self._since("LastUsedAt")

    def UsageCount(self) -> str:
        return str(self.b.get("UsageCount", 0))

    def Shared(self) -> str:
        return "true" if self.b.get("Shared") else "false"


def render_verbose(du: dict[str, Any]) -> str:
    from dockwright.cli.commands.image import ImageRow, _is_dangling
    from dockwright.oci.reference import ReferenceError, parse_reference

    now = time.time()
    img_rows = []
    for i in du.get("Images") or []:
        repo = tag = "<none>"
        tags = i.get("RepoTags") or []
        if tags and not _is_dangling(i):
            try:
                ref = parse_reference(tags[0], default_tag=False)
            except ReferenceError:
                continue
            if ref.tag:
                repo, tag = ref.familiar_name, ref.tag
        img_rows.append(ImageRow(i, repo, tag, "", True, now))
    out = ["Images space usage:\n\n"]
    out.append(render(img_rows, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                      "\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", ImageRow.FIELDS))
    out.append("\nContainers space usage:\n\n")
    out.append(render([ContainerDiskRow(c, now) for c in du.get("Containers") or []],
                      "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}"
                      "\t{{.Status}}\t{{.Names}}", ContainerDiskRow.FIELDS))
    out.append("\nLocal Volumes space usage:\n\n")
    out.append(render([VolumeDiskRow(v) for v in du.get("Volumes") or []],
                      "table {{.Name}}\t{{.Links}}\t{{.Size}}", VolumeDiskRow.FIELDS))
    cache = du.get("BuildCache") or []
    total = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    out.append(f"\nBuild cache usage: {units.human_size(total)}\n\n")
    out.append(render([BuildCacheDiskRow(b, now) for b in cache],
                      "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}"
                      "\t{{.UsageCount}}\t{{.Shared}}", BuildCacheDiskRow.FIELDS))
    return "".join(out)


def run_df(cli: Cli, ns: SimpleNamespace) -> int:
    du = cli.client.get_json("/system/df") or {}
    if ns.verbose:
        if ns.format:
            raise InvalidParameter("the --format flag is not supported together with --verbose")
        cli.stdout.write(render_verbose(du))
        return 0
    fmt = or_default(ns.format or "", "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}")
    cli.stdout.write(render(summary_rows(du), fmt, DiskUsageRow.FIELDS))
    return 0


DF = CommandSpec(
    name="system df",
    usage="[OPTIONS]",
    short="Show dockwright disk usage",
    run=run_df,
    flags=[format_flag(), bool_flag("verbose", "Show detailed information on space usage", short="v")],
)

# --------------------------------------------------------------------------- prune


def _prune_warning(all_: bool, volumes: bool) -> str:
    items = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        items.append("all anonymous volumes not used by at least one container")
    items.append("all images without at least one container associated to them" if all_ else "all dangling images")
    items.append("all build cache" if all_ else "unused build cache")
    return "WARNING! This will remove:\n" + "".join(f"  - {i}\n" for i in items) + \
        "\nAre you sure you want to continue?"


def _prune_section(cli: Cli, path: str, key: str, title: str, params: dict[str, Any]) -> tuple[int, str]:
    try:
        report = cli.client.post_json(path, params=params) or {}
    except APIError as exc:
        if exc.status in (404, 501):  # the daemon does not have this resource type (yet)
            return 0, ""
        raise
    return int(report.get("SpaceReclaimed") or 0), deleted_section(title, report.get(key) or [])


def run_system_prune(cli: Cli, ns: SimpleNamespace) -> int:
    from dockwright.cli.commands.image import prune_images

    filters = parse_filters(ns.filter, PRUNE)
    params: dict[str, Any] = {"filters": filters} if filters else {}

    def steps() -> Iterator[tuple[int, str]]:
        yield _prune_section(cli, "/containers/prune", "ContainersDeleted", "Deleted Containers", params)
        yield _prune_section(cli, "/networks/prune", "NetworksDeleted", "Deleted Networks", params)
        if ns.volumes:
            yield _prune_section(cli, "/volumes/prune", "VolumesDeleted", "Deleted Volumes", params)
        yield prune_images(cli, ns.all, filters)
        build_params = {**params, "all": True} if ns.all else params
        yield _prune_section(cli, "/build/prune", "CachesDeleted", "Deleted build cache objects", build_params)

    return prune_and_report(cli, ns, _prune_warning(ns.all, ns.volumes), steps)


PRUNE = CommandSpec(
    name="system prune",
    usage="[OPTIONS]",
    short="Remove unused data",
    run=run_system_prune,
    flags=[
        bool_flag("all", "Remove all unused images not just dangling ones", short="a"),
        filter_flag('Provide filter values (e.g. "label=<key>=<value>")', short=""),
        no_prompt_flag(),
        bool_flag("volumes", "Prune anonymous volumes"),
    ],
)

# --------------------------------------------------------------------------- events

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(value: str) -> float | None:
    """Seconds of a Go duration (``1h30m``, ``10m``, ``-1.5h``), or None if ``value`` is not one."""
    import re

    m = re.fullmatch(r"([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+", value)
    if not m or value in ("0",):
        return None
    total = sum(float(n) * _DURATION_UNITS[u] for n, u in
                re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", value))
    return -total if m.group(1) == "-" else total


def get_timestamp(value: str, now: float | None = None) -> str:
    """docker's ``timetypes.GetTimestamp``: durations and dates become ``seconds.nanoseconds``."""
    import datetime as dt

    now = time.time() if now is None else now
    d = parse_go_duration(value)
    if d is not None:
        return str(int(now - d))
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        if "-" in text:
            raise InvalidParameter(f'parsing time "{value}": cannot parse as a date') from None
        try:
            float(text)
        except ValueError:
            raise InvalidParameter(f'failed to parse value as time or duration: "{value}"') from None
        return text
    ts = parsed.timestamp()  # naive values are local time, as docker's ParseInLocation
    secs = int(ts // 1)
    nanos = parsed.microsecond * 1000
    return f"{secs}.{nanos:09d}"


def event_line(ev: dict[str, Any]) -> str:
    """``2026-11-28T01:02:03.000000000Z image tag sha256:... (name=busybox:latest)``."""
    parts = []
    if ev.get("timeNano"):
        parts.append(units.rfc3339_nano_fixed(int(ev["timeNano"])) + " ")
    elif ev.get("time"):
        parts.append(units.rfc3339_nano_fixed(int(ev["time"]) * 1_000_000_000) + " ")
    actor = ev.get("Actor") or {}
    parts.append(f"{ev.get('Type', '')} {ev.get('Action', '')} {actor.get('ID', '')}")
    attrs = actor.get("Attributes") or {}
    if attrs:
        parts.append(" (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")")
    return "".join(parts)


def run_events(cli: Cli, ns: SimpleNamespace) -> int:
    params: dict[str, Any] = {}
    if ns.since:
        params["since"] = get_timestamp(ns.since)
    if ns.until:
        params["until"] = get_timestamp(ns.until)
    filters = parse_filters(ns.filter, EVENTS)
    if filters:
        params["filters"] = filters
    from dockwright.cli.formatter import ItemTemplate

    tmpl = ItemTemplate(ns.format) if ns.format else None
    out = cli.stdout
    for ev in cli.client.stream_json("GET", "/events", params=params):
        if not isinstance(ev, dict):
            continue
        out.write(tmpl(ev) if tmpl is not None else event_line(ev) + "\n")
        out.flush()
    return 0


EVENTS = CommandSpec(
    name="system events",
    usage="[OPTIONS]",
    short="Get real time events from the server",
    run=run_events,
    aliases=["events"],
    flags=[
        filter_flag("Filter output based on conditions provided"),
        format_flag(INSPECT_FORMAT_HELP),
        string_flag("since", "Show all events created since timestamp"),
        string_flag("until", "Stream events until this timestamp"),
    ],
)

# --------------------------------------------------------------------------- check

CHECK_PATH = "/dockwright/system/check"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _out_list(cli: Cli, heading: str, items: list[str]) -> None:
    cli.out(heading)
    for item in items:
        cli.out(f"  {item}")


def run_check(cli: Cli, ns: SimpleNamespace) -> int:
    report = cli.client.get_json(CHECK_PATH) or {}
    blobs = int(report.get("Blobs") or 0)
    errors = [str(e) for e in report.get("Errors") or []]
    orphans = [str(o) for o in report.get("Orphans") or []]
    cli.out(f"Checked {_plural(blobs, 'blob')}.")
    if errors:
        _out_list(cli, f"{_plural(len(errors), 'error')}:", errors)
    else:
        cli.out("No errors found.")
    if not orphans:
        cli.out("No orphaned objects.")
        return 1 if errors else 0
    _out_list(cli, f"{_plural(len(orphans), 'orphaned object')} (stored but referenced by nothing):", orphans)
    if ns.remove_orphans or cli.confirm(f"Remove {_plural(len(orphans), 'orphaned object')}?"):
        after = cli.client.post_json(CHECK_PATH, params={"remove": "1"}) or {}
        left = [str(o) for o in after.get("Orphans") or []]
        cli.out(f"Removed {_plural(len(orphans) - len(left), 'orphaned object')}.")
        if left:
            _out_list(cli, f"{_plural(len(left), 'orphaned object')} could not be removed:", left)
    return 1 if errors else 0


CHECK = CommandSpec(
    name="system check",
    usage="[OPTIONS]",
    short="Verify the image store: every blob, snapshot and reference (like fsck)",
    run=run_check,
    flags=[bool_flag("remove-orphans", "Remove orphaned objects without prompting")],
)
