"""``network ls|inspect|create|rm|connect|disconnect|prune``: docker's flags and output.

The daemon has only the predefined networks for now; the commands that change
networks still send what docker sends, so the daemon's answer (its refusal, or
later its result) is what the user sees.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

from dockwright.cli import units
from dockwright.cli.commands.common import deleted_section, for_each_name, inspect_each, parse_filters
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec, UsageError
from dockwright.cli.flagspecs import (
    bool_flag,
    filter_flag,
    format_flag,
    inspect_format_flag,
    int_flag,
    list_flag,
    no_prompt_flag,
    string_flag,
)
from dockwright.cli.formatter import RowContext, or_default, render
from dockwright.client.api import quote_name
from dockwright.client.errors import APIError

# --------------------------------------------------------------------------- ls


def go_time(created: str) -> str:
    """Go's ``time.Time.String()`` of an API timestamp in UTC: ``2026-11-28 06:12:22.346855074 +0000 UTC``."""
    if not created:
        return "0001-01-01 00:00:00 +0000 UTC"
    date, _, rest = created.partition("T")
    clock = rest.rstrip("Z").split("+")[0]
    hms, _, frac = clock.partition(".")
    frac = frac.rstrip("0")
    return f"{date} {hms}{'.' + frac if frac else ''} +0000 UTC"


class NetworkRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "ID": "NETWORK ID",
        "Name": "NAME",
        "Driver": "DRIVER",
        "Scope": "SCOPE",
        "IPv4": "IPV4",
        "IPv6": "IPV6",
        "Internal": "INTERNAL",
        "Labels": "LABELS",
        "CreatedAt": "CREATED AT",
    }

    def __init__(self, n: dict[str, Any], trunc: bool) -> None:
        self.n = n
        self.trunc = trunc

    def ID(self) -> str:
        ident = str(self.n.get("Id", ""))
        return units.truncate_id(ident) if self.trunc else ident

    def Name(self) -> str:
        return str(self.n.get("Name", ""))

    def Driver(self) -> str:
        return str(self.n.get("Driver", ""))

    def Scope(self) -> str:
        return str(self.n.get("Scope", ""))

    def IPv4(self) -> str:
        return "true" if self.n.get("EnableIPv4") else "false"

    def IPv6(self) -> str:
        return "true" if self.n.get("EnableIPv6") else "false"

    def Internal(self) -> str:
        return "true" if self.n.get("Internal") else "false"

    def Labels(self) -> str:
        labels = self.n.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def CreatedAt(self) -> str:
        return go_time(str(self.n.get("Created") or ""))


DEFAULT_NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def run_ls(cli: Cli, ns: SimpleNamespace) -> int:
    filters = parse_filters(ns.filter, LS)
    params: dict[str, Any] = {"filters": filters} if filters else {}
    networks = cli.client.get_json("/networks", params=params) or []
    networks.sort(key=lambda n: str(n.get("Name", "")))
    rows = [NetworkRow(n, not ns.no_trunc) for n in networks]
    cli.stdout.write(render(rows, or_default(ns.format or "", DEFAULT_NETWORK_TABLE, quiet=ns.quiet),
                            NetworkRow.FIELDS))
    return 0


LS = CommandSpec(
    name="network ls",
    usage="[OPTIONS]",
    short="List networks",
    run=run_ls,
    aliases=["network list"],
    flags=[
        filter_flag('Provide filter values (e.g. "driver=bridge")'),
        format_flag(),
        bool_flag("no-trunc", "Do not truncate the output"),
        bool_flag("quiet", "Only display network IDs", short="q"),
    ],
)

# --------------------------------------------------------------------------- inspect


def run_inspect(cli: Cli, ns: SimpleNamespace) -> int:
    params = {"verbose": True} if ns.verbose else None
    return inspect_each(cli, ns, lambda name: cli.client.get_json(f"/networks/{quote_name(name)}", params=params))


INSPECT = CommandSpec(
    name="network inspect",
    usage="[OPTIONS] NETWORK [NETWORK...]",
    short="Display detailed information on one or more networks",
    run=run_inspect,
    min_args=1,
    max_args=None,
    flags=[inspect_format_flag(), bool_flag("verbose", "Verbose output for diagnostics", short="v")],
)

# --------------------------------------------------------------------------- create


def _pairs(values: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` flags (``--label``, ``--opt``...); a bare ``KEY`` has an empty value, as docker's."""
    return dict(v.partition("=")[::2] for v in values)


def _ipam_config(ns: SimpleNamespace) -> list[dict[str, Any]]:
    """``--subnet``/``--gateway``/``--ip-range``/``--aux-address``, the gateway and range matched to subnets in
    order, as docker's client pairs them."""
    subnets = list(ns.subnet)
    if len(ns.gateway) > len(subnets) or len(ns.ip_range) > len(subnets):
        raise UsageError("every ip-range or gateway must have a corresponding subnet", exit_code=1)
    config: list[dict[str, Any]] = []
    for i, subnet in enumerate(subnets):
        entry: dict[str, Any] = {"Subnet": subnet}
        if i < len(ns.gateway):
            entry["Gateway"] = ns.gateway[i]
        if i < len(ns.ip_range):
            entry["IPRange"] = ns.ip_range[i]
        config.append(entry)
    aux = _pairs(ns.aux_address)
    if aux and config:
        config[0]["AuxiliaryAddresses"] = aux
    return config


def run_create(cli: Cli, ns: SimpleNamespace) -> int:
    body: dict[str, Any] = {
        "Name": ns.args[0],
        "Driver": ns.driver,
        "Options": _pairs(ns.opt),
        "IPAM": {"Driver": ns.ipam_driver, "Config": _ipam_config(ns), "Options": _pairs(ns.ipam_opt)},
        "Internal": ns.internal,
        "EnableIPv6": ns.ipv6,
        "Attachable": ns.attachable,
        "Ingress": ns.ingress,
        "ConfigOnly": ns.config_only,
        "Labels": _pairs(ns.label),
    }
    if ns.scope:
        body["Scope"] = ns.scope
    if ns.config_from:
        body["ConfigFrom"] = {"Network": ns.config_from}
    result = cli.client.post_json("/networks/create", json_body=body) or {}
    cli.out(str(result.get("Id", "")))
    return 0


CREATE = CommandSpec(
    name="network create",
    usage="[OPTIONS] NETWORK",
    short="Create a network",
    run=run_create,
    min_args=1,
    max_args=1,
    flags=[
        bool_flag("attachable", "Enable manual container attachment"),
        list_flag("aux-address", "Auxiliary IPv4 or IPv6 addresses used by Network driver", metavar="map"),
        string_flag("config-from", "The network from which to copy the configuration"),
        bool_flag("config-only", "Create a configuration only network"),
        string_flag("driver", "Driver to manage the Network", short="d", default="bridge"),
        list_flag("gateway", "IPv4 or IPv6 Gateway for the master subnet", metavar="strings"),
        bool_flag("ingress", "Create swarm routing-mesh network"),
        bool_flag("internal", "Restrict external access to the network"),
        list_flag("ip-range", "Allocate container ip from a sub-range", metavar="strings"),
        string_flag("ipam-driver", "IP Address Management Driver", default="default"),
        list_flag("ipam-opt", "Set IPAM driver specific options", metavar="map"),
        bool_flag("ipv6", "Enable or disable IPv6 address assignment"),
        list_flag("label", "Set metadata on a network"),
        list_flag("opt", "Set driver specific options", short="o", metavar="map"),
        string_flag("scope", "Control the network's scope"),
        list_flag("subnet", "Subnet in CIDR format that represents a network segment", metavar="strings"),
    ],
)

# --------------------------------------------------------------------------- rm


def run_rm(cli: Cli, ns: SimpleNamespace) -> int:
    """Each removed name is echoed; with ``--force`` a missing one is passed over in silence."""
    def remove(name: str) -> None:
        try:
            cli.client.delete(f"/networks/{quote_name(name)}")
        except APIError as exc:
            if not (ns.force and exc.status == 404):
                raise
            return
        cli.out(name)

    return for_each_name(cli, ns.args, remove, echo=False)


RM = CommandSpec(
    name="network rm",
    usage="NETWORK [NETWORK...]",
    short="Remove one or more networks",
    run=run_rm,
    aliases=["network remove"],
    min_args=1,
    max_args=None,
    flags=[bool_flag("force", "Do not error if the network does not exist", short="f")],
)

# --------------------------------------------------------------------------- connect / disconnect


def run_connect(cli: Cli, ns: SimpleNamespace) -> int:
    network, container = ns.args
    endpoint: dict[str, Any] = {"Aliases": list(ns.alias), "Links": list(ns.link),
                                "DriverOpts": _pairs(ns.driver_opt)}
    if ns.gw_priority:
        endpoint["GwPriority"] = ns.gw_priority
    if ns.ip or ns.ip6 or ns.link_local_ip:
        endpoint["IPAMConfig"] = {"IPv4Address": ns.ip or "", "IPv6Address": ns.ip6 or "",
                                  "LinkLocalIPs": list(ns.link_local_ip)}
    cli.client.post(f"/networks/{quote_name(network)}/connect",
                    json_body={"Container": container, "EndpointConfig": endpoint})
    return 0


CONNECT = CommandSpec(
    name="network connect",
    usage="[OPTIONS] NETWORK CONTAINER",
    short="Connect a container to a network",
    run=run_connect,
    min_args=2,
    max_args=2,
    flags=[
        list_flag("alias", "Add network-scoped alias for the container", metavar="strings"),
        list_flag("driver-opt", "driver options for the network", metavar="strings"),
        int_flag("gw-priority", "Highest gw-priority provides the default gateway. Accepts positive and negative "
                 "values.", default=0),
        string_flag("ip", 'IPv4 address (e.g., "172.30.100.104")'),
        string_flag("ip6", 'IPv6 address (e.g., "2001:db8::33")'),
        list_flag("link", "Add link to another container"),
        list_flag("link-local-ip", "Add a link-local address for the container", metavar="strings"),
    ],
)


def run_disconnect(cli: Cli, ns: SimpleNamespace) -> int:
    network, container = ns.args
    cli.client.post(f"/networks/{quote_name(network)}/disconnect",
                    json_body={"Container": container, "Force": ns.force})
    return 0


DISCONNECT = CommandSpec(
    name="network disconnect",
    usage="[OPTIONS] NETWORK CONTAINER",
    short="Disconnect a container from a network",
    run=run_disconnect,
    min_args=2,
    max_args=2,
    flags=[bool_flag("force", "Force the container to disconnect from a network", short="f")],
)

# --------------------------------------------------------------------------- prune

PRUNE_WARNING = ("WARNING! This will remove all custom networks not used by at least one container.\n"
                 "Are you sure you want to continue?")


def run_prune(cli: Cli, ns: SimpleNamespace) -> int:
    """docker prints only what went (no reclaimed space: networks take none)."""
    filters = parse_filters(ns.filter, PRUNE)
    if not ns.force and not cli.confirm(PRUNE_WARNING):
        return 0
    params: dict[str, Any] = {"filters": filters} if filters else {}
    report = cli.client.post_json("/networks/prune", params=params) or {}
    text = deleted_section("Deleted Networks", list(report.get("NetworksDeleted") or []))
    if text:
        cli.out(text)
    return 0


PRUNE = CommandSpec(
    name="network prune",
    usage="[OPTIONS]",
    short="Remove all unused networks",
    run=run_prune,
    flags=[filter_flag('Provide filter values (e.g. "until=<timestamp>")', short=""), no_prompt_flag()],
)
