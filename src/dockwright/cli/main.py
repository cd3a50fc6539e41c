"""``dockwright COMMAND``: global options, command lookup, and how errors end a command.

Commands are found in ``COMMANDS``/``GROUPS`` by name and their module is
imported only then, so ``dockwright version`` loads little more than the
client. A new command group (``container``, ``network``...) is a module in
``cli/commands/`` with ``CommandSpec`` constants plus entries in the two
tables below (and any top-level shortcuts such as ``ps``).

Exit codes follow docker: 0 success, 1 daemon or command error, 125 bad flags.
"""

from __future__ import annotations

import sys

from dockwright.cli.flags import PROG, CommandSpec, UsageError

# top-level name -> "module:SPEC" under dockwright.cli.commands, and its one-line help
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build:BUILD", "Build an image from a Dockerfile"),
    "attach": ("container_run:ATTACH", "Attach local standard input, output, and error streams to a running container"),
    "commit": ("container:COMMIT", "Create a new image from a container's changes"),
    "cp": ("container_cp:CP", "Copy files/folders between a container and the local filesystem"),
    "create": ("container_run:CREATE", "Create a new container"),
    "diff": ("container:DIFF", "Inspect changes to files or directories on a container's filesystem"),
    "exec": ("container_run:EXEC", "Execute a command in a running container"),
    "export": ("container:EXPORT", "Export a container's filesystem as a tar archive"),
    "kill": ("container:KILL", "Kill one or more running containers"),
    "logs": ("container:LOGS", "Fetch the logs of a container"),
    "pause": ("container:PAUSE", "Pause all processes within one or more containers"),
    "port": ("container:PORT", "List port mappings or a specific mapping for the container"),
    "ps": ("container_ls:PS", "List containers"),
    "rename": ("container:RENAME", "Rename a container"),
    "restart": ("container:RESTART", "Restart one or more containers"),
    "rm": ("container:RM", "Remove one or more containers"),
    "run": ("container_run:RUN", "Create and run a new container from an image"),
    "start": ("container_run:START", "Start one or more stopped containers"),
    "stats": ("container_stats:STATS", "Display a live stream of container(s) resource usage statistics"),
    "stop": ("container:STOP", "Stop one or more running containers"),
    "top": ("container:TOP", "Display the running processes of a container"),
    "unpause": ("container:UNPAUSE", "Unpause all processes within one or more containers"),
    "update": ("container:UPDATE", "Update configuration of one or more containers"),
    "wait": ("container:WAIT", "Block until one or more containers stop, then print their exit codes"),
    "images": ("image:LS", "List images"),
    "info": ("system:INFO", "Display system-wide information"),
    "version": ("version:VERSION", "Show the dockwright version information"),
    "events": ("system:EVENTS", "Get real time events from the server"),
    "history": ("image:HISTORY", "Show the history of an image"),
    "import": ("image_io:IMPORT", "Import the contents from a tarball to create a filesystem image"),
    "inspect": ("inspect:INSPECT", "Return low-level information on Docker objects"),
    "load": ("image_io:LOAD", "Load an image from a tar archive or STDIN"),
    "login": ("distribution:LOGIN", "Log in to a registry"),
    "logout": ("distribution:LOGOUT", "Log out from a registry"),
    "pull": ("distribution:PULL", "Download an image from a registry"),
    "push": ("distribution:PUSH", "Upload an image to a registry"),
    "rmi": ("image:RM", "Remove one or more images"),
    "search": ("distribution:SEARCH", "Search Docker Hub for images"),
    "save": ("image_io:SAVE", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "tag": ("image:TAG", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
}
COMMON = ("run", "exec", "ps", "images", "info", "version")

GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "container": ("Manage containers", {
        "attach": "container_run:ATTACH",
        "commit": "container:COMMIT",
        "cp": "container_cp:CP",
        "create": "container_run:CREATE",
        "diff": "container:DIFF",
        "exec": "container_run:EXEC",
        "export": "container:EXPORT",
        "inspect": "container:INSPECT",
        "kill": "container:KILL",
        "logs": "container:LOGS",
        "ls": "container_ls:PS",
        "list": "container_ls:PS",
        "ps": "container_ls:PS",
        "pause": "container:PAUSE",
        "port": "container:PORT",
        "prune": "container:PRUNE",
        "rename": "container:RENAME",
        "restart": "container:RESTART",
        "rm": "container:RM",
        "remove": "container:RM",
        "run": "container_run:RUN",
        "start": "container_run:START",
        "stats": "container_stats:STATS",
        "stop": "container:STOP",
        "top": "container:TOP",
        "unpause": "container:UNPAUSE",
        "update": "container:UPDATE",
        "wait": "container:WAIT",
    }),
    "image": ("Manage images", {
        "history": "image:HISTORY",
        "import": "image_io:IMPORT",
        "inspect": "image:INSPECT",
        "load": "image_io:LOAD",
        "ls": "image:LS",
        "list": "image:LS",
        "prune": "image:PRUNE",
        "pull": "distribution:PULL",
        "push": "distribution:PUSH",
        "rm": "image:RM",
        "remove": "image:RM",
        "save": "image_io:SAVE",
        "tag": "image:TAG",
    }),
    "network": ("Manage networks", {
        "connect": "network:CONNECT",
        "create": "network:CREATE",
        "disconnect": "network:DISCONNECT",
        "inspect": "network:INSPECT",
        "ls": "network:LS",
        "list": "network:LS",
        "prune": "network:PRUNE",
        "rm": "network:RM",
        "remove": "network:RM",
    }),
    "builder": ("Manage builds", {
        "build": "build:BUILD",
        "prune": "builder:PRUNE",
    }),
    "system": ("Manage dockwright", {
        "check": "system:CHECK",
        "df": "system:DF",
        "events": "system:EVENTS",
        "info": "system:INFO",
        "prune": "system:PRUNE",
    }),
}

GLOBAL_HELP = [
    ("    --config string", "Location of client config files"),
    ("-D, --debug", "Enable debug mode"),
    ("-H, --host string", "Daemon socket to connect to"),
    ("-l, --log-level string", 'Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    ("    --tls", "Use TLS; implied by --tlsverify"),
    ("    --tlscacert string", "Trust certs signed only by this CA"),
    ("    --tlscert string", "Path to TLS certificate file"),
    ("    --tlskey string", "Path to TLS key file"),
    ("    --tlsverify", "Use TLS and verify the remote"),
    ("-v, --version", "Print version information and quit"),
]


class Globals:
    def __init__(self) -> None:
        self.host: str | None = None
        self.tls = False
        self.tlsverify: bool | None = None
        self.tlscacert: str | None = None
        self.tlscert: str | None = None
        self.tlskey: str | None = None
        self.debug = False
        self.version = False
        self.help = False


_GLOBAL_VALUE = {"-H": "host", "--host": "host", "--tlscacert": "tlscacert", "--tlscert": "tlscert",
                 "--tlskey": "tlskey", "--config": "", "-l": "", "--log-level": "", "-c": "", "--context": ""}
_GLOBAL_BOOL = {"--tls": "tls", "--tlsverify": "tlsverify", "-D": "debug", "--debug": "debug",
                "-v": "version", "--version": "version", "-h": "help", "--help": "help"}


def parse_globals(argv: list[str]) -> tuple[Globals, list[str]]:
    """Options before the command word; the rest is the command and its arguments."""
    g = Globals()
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a == "-":
            break
        i += 1
        if a == "--":
            break
        name, eq, value = a.partition("=")
        if name in _GLOBAL_BOOL:
            v = True
            if eq:
                v = value.lower() in ("1", "t", "true")
            setattr(g, _GLOBAL_BOOL[name], v)
            continue
        if name in _GLOBAL_VALUE:
            if not eq:
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}")
                value = argv[i]
                i += 1
            dest = _GLOBAL_VALUE[name]
            if dest == "host" and g.host is not None:
                raise UsageError("Please specify only one -H", exit_code=1)
            if dest:
                setattr(g, dest, value)
            continue
        if name.startswith("-H") and len(name) > 2:  # -Hunix:///x
            g.host = a[2:]
            continue
        raise UsageError(f"unknown flag: {name}" if name.startswith("--") else
                         f"unknown shorthand flag: '{name[1:2]}' in {name}")
    return g, argv[i:]


def _load(ref: str) -> CommandSpec:
    import importlib

    module, _, attr = ref.partition(":")
    spec = getattr(importlib.import_module(f"dockwright.cli.commands.{module}"), attr)
    assert isinstance(spec, CommandSpec)
    return spec


def main_help() -> str:
    lines = ["", f"Usage:  {PROG} [OPTIONS] COMMAND", "",
             "A container engine with Docker's architecture, in Python", "", "Common Commands:"]
    lines += [f"  {n:<11} {COMMANDS[n][1]}" for n in COMMON]
    lines += ["", "Management Commands:"]
    lines += [f"  {n:<11} {GROUPS[n][0]}" for n in sorted(GROUPS)]
    lines += ["", "Commands:"]
    lines += [f"  {n:<11} {COMMANDS[n][1]}" for n in sorted(COMMANDS) if n not in COMMON]
    lines += ["", "Global Options:"]
    lines += [f"  {left:<24} {h}" for left, h in GLOBAL_HELP]
    lines += ["", f"Run '{PROG} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines) + "\n"


def group_help(name: str) -> str:
    desc, subs = GROUPS[name]
    seen: dict[str, str] = {}
    for sub, ref in subs.items():
        seen.setdefault(ref, sub)
    lines = ["", f"Usage:  {PROG} {name} COMMAND", "", desc, "", "Commands:"]
    for ref, sub in sorted(seen.items(), key=lambda kv: kv[1]):
        lines.append(f"  {sub:<11} {_load(ref).short}")
    lines += ["", f"Run '{PROG} {name} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines) + "\n"


def resolve(words: list[str]) -> tuple[CommandSpec | None, str, list[str]]:
    """``(spec, invoked name, remaining args)``; spec is None for a bare group name (help)."""
    first = words[0]
    if first in GROUPS:
        subs = GROUPS[first][1]
        rest = words[1:]
        sub_i = next((k for k, w in enumerate(rest) if not w.startswith("-")), None)
        if sub_i is None:
            return None, first, rest
        sub = rest[sub_i]
        if sub not in subs:
            raise UsageError(f"{PROG}: unknown command: {PROG} {first} {sub}\n\n"
                             f"Run '{PROG} {first} --help' for more information", exit_code=1)
        return _load(subs[sub]), f"{first} {sub}", rest[:sub_i] + rest[sub_i + 1 :]
    if first in COMMANDS:
        return _load(COMMANDS[first][0]), first, words[1:]
    raise UsageError(f"{PROG}: unknown command: {PROG} {first}\n\nRun '{PROG} --help' for more information",
                     exit_code=1)


def main(argv: list[str]) -> int:
    out = sys.stdout
    try:
        g, words = parse_globals(argv)
        if g.version:
            from dockwright import __version__

            out.write(f"{PROG} version {__version__}\n")
            return 0
        if not words:
            out.write(main_help())
            return 0
        spec, invoked, rest = resolve(words)
        if spec is None:
            out.write(group_help(invoked))
            return 0
        from dockwright.cli.flags import parse

        ns = parse(spec, rest, invoked)
        if ns.help or g.help:
            out.write(spec.help_text(invoked))
            return 0
    except UsageError as exc:
        return _usage_failure(exc, words if "words" in locals() else [])
    return run(spec, ns, g, invoked)


def _usage_failure(exc: UsageError, words: list[str]) -> int:
    err = sys.stderr
    msg = exc.message
    if exc.spec is not None:
        invoked = _invoked_name(exc.spec, words)
        prefix = f"{PROG}: " if exc.prefix else ""
        err.write(f"{prefix}{msg}\n\n{exc.spec.usage_line(invoked)}\n\n"
                  f"Run '{PROG} {invoked} --help' for more information\n")
    else:
        err.write(msg + "\n")
    return exc.exit_code


def _invoked_name(spec: CommandSpec, words: list[str]) -> str:
    if words and words[0] in GROUPS and len(words) > 1:
        sub = next((w for w in words[1:] if not w.startswith("-")), "")
        return f"{words[0]} {sub}"
    return words[0] if words else spec.name


def run(spec: CommandSpec, ns: object, g: Globals, invoked: str = "") -> int:
    from dockwright.cli.context import Cli
    from dockwright.client.errors import APIError
    from dockwright.client.hosts import resolve_host, resolve_tls
    from dockwright.errors import DockwrightError

    err = sys.stderr
    cli: Cli | None = None
    try:
        tls = resolve_tls(tls=g.tls, tlsverify=g.tlsverify, cacert=g.tlscacert, cert=g.tlscert, key=g.tlskey)
        cli = Cli(resolve_host(g.host), tls)
        return spec.run(cli, ns)  # type: ignore[arg-type]
    except APIError as exc:
        sys.stdout.flush()
        err.write(f"Error response from daemon: {exc.message}\n")
        return 1
    except UsageError as exc:
        return _usage_failure(exc, invoked.split())
    except DockwrightError as exc:
        sys.stdout.flush()
        err.write(f"{exc.message}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    finally:
        if cli is not None:
            cli.close()
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()


def _silence_stdout() -> None:
    """After EPIPE (``dockwright images | head``), stop Python complaining at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
