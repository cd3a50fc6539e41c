"""``dockwright version``: Client and Server sections like ``docker version``.

This is the command whose start-up time we promise (< 150 ms), so it only
uses the client, the tab writer, and the template engine when ``--format``
asks for it.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any

from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import format_flag
from dockwright.cli.tabwriter import tabwrite
from dockwright.client.errors import DaemonUnavailable

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def client_info(cli: Cli) -> dict[str, Any]:
    from dockwright import __version__
    from dockwright.client.api import DEFAULT_VERSION

    machine = os.uname().machine
    api = cli.client.api_version or cli.client.client_version
    return {
        "Platform": {"Name": ""},
        "Version": __version__,
        "ApiVersion": api,
        "DefaultAPIVersion": DEFAULT_VERSION,
        "PythonVersion": sys.version.split()[0],
        "Os": sys.platform if sys.platform != "linux" else "linux",
        "Arch": _ARCH.get(machine, machine),
        "Context": "default",
    }


def _ansic(value: str) -> str:
    """Go's ``time.ANSIC`` for an RFC 3339 build time, as docker shows it."""
    from dockwright.cli.units import parse_rfc3339

    if "T" not in value:
        return value
    ts = parse_rfc3339(value)
    if ts is None:
        return value
    import time

    t = time.gmtime(ts)
    return time.strftime("%a %b ", t) + f"{t.tm_mday:>2}" + time.strftime(" %H:%M:%S %Y", t)


def render_default(client: dict[str, Any], server: dict[str, Any] | None) -> str:
    lines = ["Client:"]
    api = client["ApiVersion"]
    if api != client["DefaultAPIVersion"]:
        api += f" (downgraded from {client['DefaultAPIVersion']})"
    lines += [
        f" Version:\t{client['Version']}",
        f" API version:\t{api}",
        f" Python version:\t{client['PythonVersion']}",
        f" OS/Arch:\t{client['Os']}/{client['Arch']}",
        f" Context:\t{client['Context']}",
    ]
    if server is not None:
        name = (server.get("Platform") or {}).get("Name") or ""
        lines += ["", "Server:" + (f" {name}" if name else "")]
        components = server.get("Components") or [{
            "Name": "Engine", "Version": server.get("Version", ""),
            "Details": {k: server.get(k, "") for k in ("ApiVersion", "MinAPIVersion", "GoVersion", "GitCommit",
                                                       "BuildTime", "Os", "Arch", "Experimental")},
        }]
        for comp in components:
            details = comp.get("Details") or {}
            lines.append(f" {comp.get('Name', '')}:")
            if comp.get("Name") == "Engine":
                lines.append(f"  Version:\t{comp.get('Version', server.get('Version', ''))}")
                lines.append(f"  API version:\t{details.get('ApiVersion', '')} "
                             f"(minimum version {details.get('MinAPIVersion', '')})")
                for key, title in (("GoVersion", "Go version"), ("PythonVersion", "Python version")):
                    if details.get(key):
                        lines.append(f"  {title}:\t{details[key]}")
                lines.append(f"  Git commit:\t{details.get('GitCommit', '')}")
                lines.append(f"  Built:\t{_ansic(str(details.get('BuildTime', '')))}")
                lines.append(f"  OS/Arch:\t{details.get('Os', '')}/{details.get('Arch', '')}")
                lines.append(f"  Experimental:\t{details.get('Experimental', 'false')}")
            else:
                lines.append(f"  Version:\t{comp.get('Version', '')}")
                for key in sorted(details):
                    lines.append(f"  {key}:\t{details[key]}")
    return tabwrite("\n".join(lines) + "\n", 20, 1)


def run(cli: Cli, ns: SimpleNamespace) -> int:
    server: dict[str, Any] | None = None
    failure: DaemonUnavailable | None = None
    try:
        server = cli.client.get_json("/version")
    except DaemonUnavailable as exc:
        failure = exc
    client = client_info(cli)
    if ns.format:
        from dockwright.cli.formatter import render_one

        cli.stdout.write(render_one({"Client": client, "Server": server}, ns.format))
    else:
        cli.stdout.write(render_default(client, server))
    if failure is not None:
        raise failure
    return 0


VERSION = CommandSpec(
    name="version",
    usage="[OPTIONS]",
    short="Show the dockwright version information",
    run=run,
    flags=[format_flag("Format output using a custom template:\n'json': Print in JSON format\n"
                       "'TEMPLATE': Print output using the given Go template", short="f")],
)
