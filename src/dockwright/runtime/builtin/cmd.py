"""``dockwright runtime``: the builtin OCI runtime, with runc's command-line contract.

    dockwright runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...

    create --bundle DIR [--pid-file F] [--console-socket S] ID    start ID    state ID
    run --bundle DIR [--pid-file F] [--console-socket S] ID       kill [--all] ID [SIGNAL]
    delete [--force] ID    exec --process F [--pid-file F] [--console-socket S] [-d] ID
    ps [--format table|json] ID    pause ID    resume ID    update --resources F ID    features

Errors go to stderr and, with ``--log``, as runc's JSON lines
(``{"level":"error","msg":...,"time":...}``) to the log file, which is where
containerd-style callers look for them. Exit status 1 on errors; ``run`` and
``exec`` exit with the container process's status.

Start-up speed is a feature: the argument parsing is hand-written (no
argparse) and every module on the create path imports only os, json, time and
ctypes.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USAGE = __doc__.split("\n\n")[1] if __doc__ else ""

# flags that take a value, per command ("*" = global)
_VALUE_FLAGS = {
    "*": {"--root", "--log", "--log-format", "--criu"},
    "create": {"--bundle", "-b", "--pid-file", "--console-socket", "--preserve-fds"},
    "run": {"--bundle", "-b", "--pid-file", "--console-socket", "--preserve-fds"},
    "exec": {"--process", "-p", "--pid-file", "--console-socket", "--cwd", "--env", "-e", "--user", "-u",
             "--preserve-fds", "--cgroup"},
    "kill": set(),
    "delete": set(),
    "ps": {"--format", "-f"},
    "update": {"--resources", "-r", "--memory", "--memory-swap", "--cpu-shares", "--cpu-quota",
               "--cpu-period", "--cpuset-cpus", "--cpuset-mems", "--pids-limit", "--blkio-weight"},
}


class UsageError(Exception):
    pass


def _parse(args: list[str], cmd: str) -> tuple[dict[str, Any], list[str]]:
    value_flags = _VALUE_FLAGS.get(cmd, set())
    flags: dict[str, Any] = {}
    pos: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1 :])
            break
        if a.startswith("-") and len(a) > 1 and not (cmd == "kill" and pos):
            name, eq, val = a.partition("=")
            if name in value_flags:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise UsageError(f"flag needs an argument: {name}")
                    val = args[i]
                flags[name.lstrip("-")] = val
            else:
                flags[name.lstrip("-")] = True
        else:
            pos.append(a)
        i += 1
    return flags, pos


class _Log:
    def __init__(self, path: str | None, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def error(self, msg: str) -> None:
        """Like runc: to the log file when there is one (the container may own stderr), else stderr."""
        if not self.path:
            sys.stderr.write(f"{msg}\n")
            sys.stderr.flush()
            return
        import json
        import time

        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            line = json.dumps({"level": "error", "msg": msg, "time": t})
        else:
            line = f'time="{t}" level=error msg="{msg}"'
        try:
            with open(self.path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass


def main(argv: list[str]) -> int:
    # global flags come before the command
    i = 0
    g: dict[str, Any] = {}
    while i < len(argv) and argv[i].startswith("-"):
        name, eq, val = argv[i].partition("=")
        if name in _VALUE_FLAGS["*"]:
            if not eq:
                i += 1
                val = argv[i] if i < len(argv) else ""
            g[name.lstrip("-")] = val
        elif name in ("-h", "--help"):
            sys.stdout.write(USAGE + "\n")
            return 0
        elif name in ("-v", "--version"):
            sys.stdout.write("dockwright-runtime version 0.1.0\nspec: 1.0.2\n")
            return 0
        else:
            g[name.lstrip("-")] = True
        i += 1
    log = _Log(g.get("log") or None, str(g.get("log-format") or "text"))
    if i >= len(argv):
        log.error("usage: dockwright runtime [global flags] COMMAND [args]\n" + USAGE)
        return 1
    cmd, rest = argv[i], argv[i + 1 :]
    root = str(g.get("root") or os.environ.get("DOCKWRIGHT_RUNTIME_ROOT") or "/run/dockwright-runtime")
    try:
        flags, pos = _parse(rest, cmd)
        return _dispatch(cmd, flags, pos, root)
    except UsageError as e:
        log.error(f"{cmd}: {e}")
        return 1
    except Exception as e:  # noqa: BLE001 - a runtime prints its error and exits 1, like runc
        from dockwright.runtime.builtin.state import CommandError

        if isinstance(e, CommandError):
            log.error(str(e))
        elif isinstance(e, OSError):
            log.error(f"{cmd}: {e}")
        else:
            import traceback

            log.error(f"{cmd}: internal error: {type(e).__name__}: {e}\n{traceback.format_exc()}")
        return 1


def _int_flag(flags: dict[str, Any], name: str) -> int:
    v = flags.get(name)
    if v is None:
        return 0
    try:
        return int(str(v))
    except ValueError:
        raise UsageError(f"invalid value {v!r} for --{name}: a number is expected") from None


def _one_id(pos: list[str], cmd: str) -> str:
    if not pos:
        raise UsageError(f'"{cmd}" requires a container ID')
    return pos[0]


def _dispatch(cmd: str, flags: dict[str, Any], pos: list[str], root: str) -> int:
    from dockwright.runtime.builtin.state import Container

    if cmd == "create":
        from dockwright.runtime.builtin.create import create

        create(root, _one_id(pos, cmd), str(flags.get("bundle") or flags.get("b") or "."),
               flags.get("pid-file"), flags.get("console-socket"), _int_flag(flags, "preserve-fds"))
        return 0
    if cmd == "run":
        return _run(root, _one_id(pos, cmd), flags)
    if cmd == "start":
        from dockwright.runtime.builtin.create import start

        start(Container.load(root, _one_id(pos, cmd)))
        return 0
    if cmd == "state":
        from dockwright.runtime.builtin import fastjson

        sys.stdout.write(fastjson.dumps(Container.load(root, _one_id(pos, cmd)).oci_state()) + "\n")
        return 0
    if cmd == "kill":
        from dockwright.runtime.builtin.ops import kill, parse_signal

        cid = _one_id(pos, cmd)
        sig = parse_signal(pos[1]) if len(pos) > 1 else 15
        kill(Container.load(root, cid), sig, bool(flags.get("all") or flags.get("a")))
        return 0
    if cmd == "delete":
        from dockwright.runtime.builtin.ops import delete
        from dockwright.runtime.builtin.state import CommandError

        force = bool(flags.get("force") or flags.get("f"))
        try:
            c = Container.load(root, _one_id(pos, cmd))
        except CommandError:
            if force:
                return 0
            raise
        delete(c, force)
        return 0
    if cmd == "exec":
        from dockwright.runtime.builtin.execproc import exec_process

        proc = flags.get("process") or flags.get("p")
        if not proc:
            raise UsageError("exec needs --process FILE (the process spec as JSON)")
        return exec_process(Container.load(root, _one_id(pos, cmd)), str(proc), flags.get("pid-file"),
                            flags.get("console-socket"), bool(flags.get("detach") or flags.get("d")),
                            _int_flag(flags, "preserve-fds"))
    if cmd == "ps":
        from dockwright.runtime.builtin.ops import ps

        fmt = str(flags.get("format") or flags.get("f") or "table")
        sys.stdout.write(ps(Container.load(root, _one_id(pos, cmd)), fmt) + "\n")
        return 0
    if cmd in ("pause", "resume"):
        from dockwright.runtime.builtin import ops

        c = Container.load(root, _one_id(pos, cmd))
        ops.pause(c) if cmd == "pause" else ops.resume(c)
        return 0
    if cmd == "update":
        return _update(root, _one_id(pos, cmd), flags)
    if cmd == "features":
        import json

        from dockwright.runtime.builtin.ops import features

        sys.stdout.write(json.dumps(features(), indent=2) + "\n")
        return 0
    if cmd == "list":
        import json

        out = []
        if os.path.isdir(root):
            for name in sorted(os.listdir(root)):
                try:
                    out.append(Container.load(root, name).oci_state())
                except Exception:  # noqa: BLE001 - a half-deleted container is skipped
                    continue
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    raise UsageError(f"no such command: {cmd}")


def _update(root: str, cid: str, flags: dict[str, Any]) -> int:
    import json

    from dockwright.runtime.builtin.ops import update
    from dockwright.runtime.builtin.state import Container

    res: dict[str, Any] = {}
    src = flags.get("resources") or flags.get("r")
    if src:
        try:
            if src == "-":
                res = json.load(sys.stdin)
            else:
                with open(str(src)) as f:
                    res = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"unable to read resources from {src}: {e}") from e

    def num(name: str) -> int | None:
        v = flags.get(name)
        return None if v is None else int(str(v))

    mem = res.setdefault("memory", {})
    if num("memory") is not None:
        mem["limit"] = num("memory")
    if num("memory-swap") is not None:
        mem["swap"] = num("memory-swap")
    cpu = res.setdefault("cpu", {})
    for flag, key in (("cpu-shares", "shares"), ("cpu-quota", "quota"), ("cpu-period", "period")):
        if num(flag) is not None:
            cpu[key] = num(flag)
    for flag, key in (("cpuset-cpus", "cpus"), ("cpuset-mems", "mems")):
        if flags.get(flag):
            cpu[key] = str(flags[flag])
    if num("pids-limit") is not None:
        res["pids"] = {"limit": num("pids-limit")}
    if num("blkio-weight") is not None:
        res["blockIO"] = {"weight": num("blkio-weight")}
    update(Container.load(root, cid), res)
    return 0


def _run(root: str, cid: str, flags: dict[str, Any]) -> int:
    """create + start in the foreground; wait, forward signals, then delete (runc run)."""
    from dockwright.runtime.builtin.create import create, start
    from dockwright.runtime.builtin.execproc import _wait_forwarding
    from dockwright.runtime.builtin.ops import delete

    c = create(root, cid, str(flags.get("bundle") or flags.get("b") or "."), flags.get("pid-file"),
               flags.get("console-socket"), _int_flag(flags, "preserve-fds"))
    try:
        start(c)
        if flags.get("detach") or flags.get("d"):
            return 0
        code = _wait_forwarding(c.pid)
    except BaseException:
        delete(c, True)
        raise
    delete(c, True)
    return code
