"""``ps`` (``container ls``): docker's columns, quoting and truncation, and its ``--format`` fields."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, ClassVar

from dockwright.cli import units
from dockwright.cli.commands.common import parse_filters
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import all_containers_flag, bool_flag, filter_flag, format_flag, int_flag, no_trunc_flag
from dockwright.cli.formatter import RowContext, or_default, render

DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
            '"': '\\"', "\\": "\\\\"}


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote``: printable characters (``…`` included) kept, the rest escaped."""
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _port_key(p: dict[str, Any]) -> tuple[int, str, int, str]:
    return (int(p.get("PrivatePort") or 0), str(p.get("IP") or ""), int(p.get("PublicPort") or 0),
            str(p.get("Type") or ""))


def _join_host(ip: str, port: str) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def displayable_ports(ports: list[dict[str, Any]]) -> str:
    """``0.0.0.0:8080->80/tcp, 9000-9001/tcp``: consecutive ports grouped as docker groups them."""
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []

    def form(key: str, first: int, last: int) -> str:
        ip, _, kind = key.rpartition("/") if key.count("/") else ("", "", key)
        span = str(first) if first == last else f"{first}-{last}"
        if ip:
            span = f"{_join_host(ip, span)}->{span}"
        return f"{span}/{kind}"

    for p in sorted(ports, key=_port_key):
        private = int(p.get("PrivatePort") or 0)
        public = int(p.get("PublicPort") or 0)
        kind = str(p.get("Type") or "")
        ip = str(p.get("IP") or "")
        key = kind
        if ip:
            if public != private:
                mappings.append(f"{_join_host(ip, str(public))}->{private}/{kind}")
                continue
            key = f"{ip}/{kind}"
        g = groups.get(key)
        if g is None:
            groups[key] = [private, private]
            order.append(key)
        elif private == g[1] + 1:
            g[1] = private
        else:
            result.append(form(key, g[0], g[1]))
            groups[key] = [private, private]
    result += [form(k, groups[k][0], groups[k][1]) for k in order]
    return ", ".join(result + mappings)


class ContainerRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "ID": "CONTAINER ID",
        "Names": "NAMES",
        "Image": "IMAGE",
        "Command": "COMMAND",
        "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED",
        "Ports": "PORTS",
        "State": "STATE",
        "Status": "STATUS",
        "Size": "SIZE",
        "Labels": "LABELS",
        "Mounts": "MOUNTS",
        "LocalVolumes": "LOCAL VOLUMES",
        "Networks": "NETWORKS",
        "Platform": "PLATFORM",
    }

    def __init__(self, c: dict[str, Any], trunc: bool, now: float) -> None:
        self.c = c
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        ident = str(self.c.get("Id", ""))
        return units.truncate_id(ident) if self.trunc else ident

    def Names(self) -> str:
        names = [str(n).removeprefix("/") for n in self.c.get("Names") or []]
        if self.trunc:
            return next((n for n in names if "/" not in n), "")
        return ",".join(names)

    def Image(self) -> str:
        image = str(self.c.get("Image") or "")
        if not image:
            return "<no image>"
        if not self.trunc:
            return image
        image_id = str(self.c.get("ImageID") or "")
        if image_id and units.truncate_id(image_id) == units.truncate_id(image):
            return units.truncate_id(image)
        if "@" in image:
            from dockwright.oci.reference import ReferenceError, parse_reference

            try:
                ref = parse_reference(image, default_tag=False)
            except ReferenceError:
                return image
            return ref.familiar_name + (f":{ref.tag}" if ref.tag else "")
        return image

    def Command(self) -> str:
        command = str(self.c.get("Command") or "")
        return go_quote(units.ellipsis(command, 20) if self.trunc else command)

    def CreatedAt(self) -> str:
        return units.go_time_string(int(self.c.get("Created") or 0))

    def RunningFor(self) -> str:
        return units.since(int(self.c.get("Created") or 0), self.now)

    def Ports(self) -> str:
        return displayable_ports(list(self.c.get("Ports") or []))

    def State(self) -> str:
        return str(self.c.get("State") or "")

    def Status(self) -> str:
        return str(self.c.get("Status") or "")

    def Size(self) -> str:
        rw = units.human_size(int(self.c.get("SizeRw") or 0), 3)
        root = int(self.c.get("SizeRootFs") or 0)
        return f"{rw} (virtual {units.human_size(root, 3)})" if root > 0 else rw

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def Mounts(self) -> str:
        names = []
        for m in self.c.get("Mounts") or []:
            name = str(m.get("Name") or m.get("Source") or "")
            names.append(units.ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        nets = ((self.c.get("NetworkSettings") or {}).get("Networks")) or {}
        return ",".join(nets)


    def Platform(self) -> Any:
        desc = self.c.get("ImageManifestDescriptor") or {}
        return desc.get("platform") or None


def ps_format(fmt: str, quiet: bool, size: bool) -> str:
    """``-q`` wins over any ``--format``, as in docker."""
    return "{{.ID}}" if quiet else or_default(fmt, DEFAULT_TABLE + ("\t{{.Size}}" if size else ""))


def run_ps(cli: Cli, ns: SimpleNamespace) -> int:
    filters = parse_filters(ns.filter, PS)
    last = ns.last
    if ns.latest and last == -1:
        last = 1
    fmt = ps_format(ns.format or "", ns.quiet, ns.size)
    params: dict[str, Any] = {"all": ns.all, "size": ns.size or (not ns.quiet and ".Size" in fmt)}
    if last != -1:
        params["limit"] = last
    if filters:
        params["filters"] = filters
    items = cli.client.get_json("/containers/json", params=params) or []
    now = time.time()
    rows = [ContainerRow(c, not ns.no_trunc, now) for c in items]
    cli.stdout.write(render(rows, fmt, ContainerRow.FIELDS))
    return 0


PS = CommandSpec(
    name="container ls",
    usage="[OPTIONS]",
    short="List containers",
    run=run_ps,
    aliases=["ps", "container list", "container ps"],
    flags=[
        all_containers_flag(),
        filter_flag("Filter output based on conditions provided"),
        format_flag(),
        int_flag("last", "Show n last created containers (includes all states)", short="n", default=-1),
        bool_flag("latest", "Show the latest created container (includes all states)", short="l"),
        no_trunc_flag(),
        bool_flag("quiet", "Only display container IDs", short="q"),
        bool_flag("size", "Display total file sizes", short="s"),
    ],
)
