"""``run``, ``create``, ``start``, ``attach`` and ``exec``: the commands that create or join a process.

``run`` follows docker's order so no output is lost and ``--rm`` is safe:
create, attach (hijacked) before start, ``POST /wait`` (``next-exit``, or
``removed`` with ``--rm``) before start, start, copy stdio, exit with the
container's code. Errors from creating or starting end with docker's exit
codes: 125 for the engine, 126 when the command cannot be invoked, 127 when
it cannot be found.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import IO, Any

from dockwright.cli.commands import container_opts as opts
from dockwright.cli.commands import container_stream as stream
from dockwright.cli.context import Cli
from dockwright.cli.flags import PROG, CommandSpec, UsageError
from dockwright.cli.flagspecs import bool_flag, string_flag
from dockwright.client.api import quote_name
from dockwright.client.errors import APIError, DaemonUnavailable
from dockwright.errors import DockwrightError, InvalidParameter

DETACH_GRACE = 1.0  # seconds to wait for an exit status once the stream ended, before asking "detached?"


def status_code_for(message: str) -> int:
    """docker's ``toStatusError``: 127 not found, 126 cannot invoke, 125 anything else."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


def with_help(cli: Cli, command: str, message: str, code: int = 125) -> int:
    cli.err(f"{PROG}: {message}\n\nRun '{PROG} {command} --help' for more information")
    return code


def _image_display(image: str) -> str:
    from dockwright.oci.reference import ReferenceError, parse_reference

    try:
        ref = parse_reference(image)
    except ReferenceError:
        return image
    if ref.digest:
        return ref.familiar_name + "@" + str(ref.digest)
    return f"{ref.familiar_name}:{ref.tag}"


def pull_image(cli: Cli, image: str, platform: str | None, quiet: bool) -> None:
    """``docker pull`` for ``run``/``create``, its progress on stderr so stdout stays the container's."""
    from dockwright.cli.commands.distribution import PULL

    to_stderr = Cli(cli.host, cli.tls, env=cli.env, stdin=cli.stdin, stdout=cli.stderr, stderr=cli.stderr)
    try:
        PULL.run(to_stderr, SimpleNamespace(args=[image], all_tags=False, platform=platform, quiet=quiet,
                                            disable_content_trust=True))
    finally:
        to_stderr.close()


def create_container(cli: Cli, ns: SimpleNamespace, body: dict[str, Any], params: dict[str, Any]) -> str:
    """``POST /containers/create`` as docker does it: pull first with ``--pull always``, or when the image is
    missing (``Unable to find image ... locally``) and pulling is allowed; print the daemon's warnings."""
    image = body.get("Image", "")
    cidfile = _open_cidfile(ns.cidfile)
    try:
        if ns.pull == "always":
            pull_image(cli, image, ns.platform, ns.quiet)
        try:
            result = cli.client.post_json("/containers/create", params=params, json_body=body) or {}
        except APIError as exc:
            if exc.status != 404 or "no such image" not in exc.message.lower() or ns.pull != "missing":
                raise
            cli.err(f"Unable to find image '{_image_display(image)}' locally")
            pull_image(cli, image, ns.platform, ns.quiet)
            result = cli.client.post_json("/containers/create", params=params, json_body=body) or {}
    except BaseException:
        if cidfile is not None:
            cidfile.close()
            os.unlink(ns.cidfile)
        raise
    for w in result.get("Warnings") or []:
        cli.err(f"WARNING: {w}")
    cid = str(result.get("Id", ""))
    if cidfile is not None:
        with cidfile:
            cidfile.write(cid)
    return cid


def _open_cidfile(path: str | None) -> IO[str] | None:
    """``--cidfile``: claimed before the container exists, so two runs cannot share one file."""
    if not path:
        return None
    try:
        return open(path, "x", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except FileExistsError:
        raise InvalidParameter(f"container ID file found, make sure the other container isn't running or "
                               f"delete {path}") from None
    except OSError as exc:
        raise InvalidParameter(f"failed to create the container ID file: {exc}") from None


def _daemon_message(exc: DockwrightError) -> str:
    """How docker shows an error of the create step: the daemon's answer, or a pull stream's error as is."""
    if isinstance(exc, APIError):
        return f"Error response from daemon: {exc.message}"
    return exc.message


def _parse_create(cli: Cli, ns: SimpleNamespace, spec: CommandSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    if ns.pull not in ("always", "missing", "never"):
        raise InvalidParameter(f'invalid pull option: \'{ns.pull}\': must be one of "always", "missing" or "never"')
    size = stream.terminal_size(cli.stdout) if ns.tty else None
    return opts.build_create_body(ns, env=cli.env, spec=spec, console_size=size or (0, 0))


# --------------------------------------------------------------------------- create


def run_create(cli: Cli, ns: SimpleNamespace) -> int:
    try:
        params, body = _parse_create(cli, ns, CREATE)
        cid = create_container(cli, ns, body, params)
    except UsageError:
        raise
    except APIError as exc:
        return with_help(cli, "create", _daemon_message(exc))
    except InvalidParameter as exc:
        return with_help(cli, "create", exc.message)
    except DockwrightError as exc:
        if isinstance(exc, DaemonUnavailable):
            raise
        return with_help(cli, "create", _daemon_message(exc))
    cli.out(cid)
    return 0


CREATE = CommandSpec(
    name="container create",
    usage="[OPTIONS] IMAGE [COMMAND] [ARG...]",
    short="Create a new container",
    run=run_create,
    aliases=["create"],
    min_args=1,
    max_args=None,
    flags=opts.CREATE_FLAGS,
    interspersed=False,
)

# --------------------------------------------------------------------------- run


def run_run(cli: Cli, ns: SimpleNamespace) -> int:
    try:
        params, body = _parse_create(cli, ns, RUN)
    except UsageError:
        raise
    except InvalidParameter as exc:
        return with_help(cli, "run", exc.message)
    if ns.detach:
        if ns.attach:
            cli.err("conflicting options: cannot specify both --attach and --detach")
            return 1
        body.update(AttachStdin=False, AttachStdout=False, AttachStderr=False, StdinOnce=False)
    elif body["AttachStdin"] and body["Tty"] and not cli.is_tty(cli.stdin):
        cli.err("the input device is not a TTY")
        return 1
    try:
        cid = create_container(cli, ns, body, params)
    except DockwrightError as exc:
        if isinstance(exc, DaemonUnavailable):
            raise
        return with_help(cli, "run", _daemon_message(exc))
    return _run_created(cli, ns, cid, body)


def _run_created(cli: Cli, ns: SimpleNamespace, cid: str, body: dict[str, Any]) -> int:
    tty = bool(body["Tty"])
    auto_remove = bool(body["HostConfig"]["AutoRemove"])
    attach = body["AttachStdin"] or body["AttachStdout"] or body["AttachStderr"]
    path = f"/containers/{cid}"
    with stream.proxy_signals(cli, cid, ns.sig_proxy and not tty):
        sock = None
        if attach:
            params: dict[str, Any] = {"stream": True, "stdin": body["AttachStdin"], "stdout": body["AttachStdout"],
                                      "stderr": body["AttachStderr"]}
            if ns.detach_keys:
                params["detachKeys"] = ns.detach_keys
            sock = cli.client.hijack("POST", f"{path}/attach", params=params)
        try:
            waiter = stream.StatusWaiter(lambda: cli.client.open(
                "POST", f"{path}/wait", params={"condition": "removed" if auto_remove else "next-exit"}))
            try:
                cli.client.post(f"{path}/start")
            except APIError as exc:
                if sock is not None:
                    sock.close()
                    sock = None
                if auto_remove:
                    waiter.done(10)
                waiter.close()
                return with_help(cli, "run", f"Error response from daemon: {exc.message}",
                                 status_code_for(exc.message))
            if sock is None:
                waiter.close()
                cli.out(cid)
                return 0
            detached = _stream(cli, sock, cid, tty, stdin=body["AttachStdin"], resize=f"{path}/resize",
                               waiter=waiter)
            if detached:
                waiter.close()
                return 0
            return waiter.status(cli)
        finally:
            if sock is not None:
                sock.close()


def _stream(cli: Cli, sock: Any, cid: str, tty: bool, *, stdin: bool, resize: str,
            waiter: stream.StatusWaiter | None = None) -> bool:
    """Copy stdio until the stream ends; True when it ended because the user detached.

    The daemon sees the detach keys (only with a TTY and stdin, as dockerd) and just ends the
    stream, so a stream that ends without an exit status soon after, while the container still
    runs, was a detach.
    """
    out = cli.stdout_bytes
    err = out if tty else _stderr_bytes(cli)
    raw = (cli.stdin, cli.stdout) if tty and stdin else (cli.stdout,) if tty else ()
    with stream.follow_window_size(cli, resize, tty), stream.raw_terminal(*raw):
        if stdin:
            stream.start_stdin_copy(sock, cli.stdin_bytes)
        stream.copy_output(sock, tty, out, err)
    if waiter is None or not (tty and stdin) or waiter.done(DETACH_GRACE):
        return False
    try:
        state = (cli.client.get_json(f"/containers/{cid}/json") or {}).get("State") or {}
    except DockwrightError:
        return False
    return bool(state.get("Running"))


def _stderr_bytes(cli: Cli) -> Any:
    cli.stderr.flush()
    return cli.stderr.buffer


RUN = CommandSpec(
    name="container run",
    usage="[OPTIONS] IMAGE [COMMAND] [ARG...]",
    short="Create and run a new container from an image",
    run=run_run,
    aliases=["run"],
    min_args=1,
    max_args=None,
    flags=opts.run_flags(),
    interspersed=False,
)

# --------------------------------------------------------------------------- start


def run_start(cli: Cli, ns: SimpleNamespace) -> int:
    if ns.attach or ns.interactive:
        if len(ns.args) > 1:
            cli.err("you cannot start and attach multiple containers at once")
            return 1
        return _start_attached(cli, ns, ns.args[0])
    failed: list[str] = []
    for name in ns.args:
        try:
            cli.client.post(f"/containers/{quote_name(name)}/start")
        except APIError as exc:
            cli.err(f"Error response from daemon: {exc.message}")
            failed.append(name)
            continue
        cli.out(name)
    if failed:
        cli.err(f"Error: failed to start containers: {', '.join(failed)}")
        return 1
    return 0


def _start_attached(cli: Cli, ns: SimpleNamespace, name: str) -> int:
    c = cli.client.get_json(f"/containers/{quote_name(name)}/json") or {}
    cid = str(c.get("Id") or name)
    config = c.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = bool(ns.interactive and config.get("OpenStdin"))
    params: dict[str, Any] = {"stream": True, "stdin": stdin, "stdout": True, "stderr": True}
    if ns.detach_keys:
        params["detachKeys"] = ns.detach_keys
    with stream.proxy_signals(cli, cid, not tty):
        sock = cli.client.hijack("POST", f"/containers/{cid}/attach", params=params)
        try:
            waiter = stream.StatusWaiter(lambda: cli.client.open("POST", f"/containers/{cid}/wait",
                                                                 params={"condition": "next-exit"}))
            try:
                cli.client.post(f"/containers/{cid}/start")
            except APIError as exc:
                waiter.close()
                cli.err(f"Error response from daemon: {exc.message}")
                return 1
            if _stream(cli, sock, cid, tty, stdin=stdin, resize=f"/containers/{cid}/resize", waiter=waiter):
                waiter.close()
                return 0
            return waiter.status(cli)
        finally:
            sock.close()


START = CommandSpec(
    name="container start",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Start one or more stopped containers",
    run=run_start,
    aliases=["start"],
    min_args=1,
    max_args=None,
    flags=[
        bool_flag("attach", "Attach STDOUT/STDERR and forward signals", short="a"),
        opts.DETACH_KEYS,
        bool_flag("interactive", "Attach container's STDIN", short="i"),
    ],
)

# --------------------------------------------------------------------------- attach


def run_attach(cli: Cli, ns: SimpleNamespace) -> int:
    c = cli.client.get_json(f"/containers/{quote_name(ns.args[0])}/json") or {}
    state = c.get("State") or {}
    if not state.get("Running"):
        cli.err("You cannot attach to a stopped container, start it first")
        return 1
    if state.get("Paused"):
        cli.err("You cannot attach to a paused container, unpause it first")
        return 1
    if state.get("Restarting"):
        cli.err("You cannot attach to a restarting container, wait until it is running")
        return 1
    cid = str(c["Id"])
    config = c.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = bool(not ns.no_stdin and config.get("OpenStdin"))
    if stdin and tty and not cli.is_tty(cli.stdin):
        cli.err("the input device is not a TTY")
        return 1
    params: dict[str, Any] = {"stream": True, "stdin": stdin, "stdout": True, "stderr": True}
    if ns.detach_keys:
        params["detachKeys"] = ns.detach_keys
    with stream.proxy_signals(cli, cid, ns.sig_proxy and not tty):
        waiter = stream.StatusWaiter(lambda: cli.client.open("POST", f"/containers/{cid}/wait"))
        with cli.client.hijack("POST", f"/containers/{cid}/attach", params=params) as sock:
            detached = _stream(cli, sock, cid, tty, stdin=stdin, resize=f"/containers/{cid}/resize",
                               waiter=waiter)
        if detached:  # docker's attach ends with its EscapeError, printed like any error
            waiter.close()
            cli.err("read escape sequence")
            return 1
        return waiter.status(cli)


ATTACH = CommandSpec(
    name="container attach",
    usage="[OPTIONS] CONTAINER",
    short="Attach local standard input, output, and error streams to a running container",
    run=run_attach,
    aliases=["attach"],
    min_args=1,
    max_args=1,
    flags=[
        opts.DETACH_KEYS,
        bool_flag("no-stdin", "Do not attach STDIN"),
        bool_flag("sig-proxy", "Proxy all received signals to the process", default=True),
    ],
)

# --------------------------------------------------------------------------- exec


def run_exec(cli: Cli, ns: SimpleNamespace) -> int:
    container, *cmd = ns.args
    envs = [item for f in ns.env_file for item in opts.read_kv_file(f, "variable", cli.env)]
    envs += [opts.lookup_env(e, cli.env) for e in ns.env]
    detach = bool(ns.detach)
    body: dict[str, Any] = {
        "User": ns.user or "",
        "Privileged": bool(ns.privileged),
        "Tty": bool(ns.tty),
        "AttachStdin": bool(ns.interactive) and not detach,
        "AttachStderr": not detach,
        "AttachStdout": not detach,
        "Detach": detach,
        "DetachKeys": ns.detach_keys or "",
        "Env": envs or None,
        "WorkingDir": ns.workdir or "",
        "Cmd": cmd,
    }
    size = stream.terminal_size(cli.stdout) if ns.tty else None
    if size is not None:
        body["ConsoleSize"] = [size[0], size[1]]
    if body["AttachStdin"] and ns.tty and not cli.is_tty(cli.stdin):
        cli.err("the input device is not a TTY")
        return 1
    created = cli.client.post_json(f"/containers/{quote_name(container)}/exec", json_body=body) or {}
    eid = str(created.get("Id", ""))
    start: dict[str, Any] = {"Detach": detach, "Tty": bool(ns.tty)}
    if size is not None:
        start["ConsoleSize"] = [size[0], size[1]]
    if detach:
        cli.client.post(f"/exec/{eid}/start", json_body=start)
        return 0
    with cli.client.hijack("POST", f"/exec/{eid}/start", json_body=start) as sock:
        _stream(cli, sock, container, bool(ns.tty), stdin=body["AttachStdin"], resize=f"/exec/{eid}/resize")
    info = cli.client.get_json(f"/exec/{eid}/json") or {}
    code = info.get("ExitCode")
    return int(code) if isinstance(code, int) else 0


EXEC = CommandSpec(
    name="container exec",
    usage="[OPTIONS] CONTAINER COMMAND [ARG...]",
    short="Execute a command in a running container",
    run=run_exec,
    aliases=["exec"],
    min_args=2,
    max_args=None,
    interspersed=False,
    flags=[
        bool_flag("detach", "Detached mode: run command in the background", short="d"),
        opts.DETACH_KEYS,
        opts.ENV,
        opts.ENV_FILE,
        opts.INTERACTIVE,
        bool_flag("privileged", "Give extended privileges to the command"),
        opts.TTY,
        string_flag("user", "Username or UID (format: \"<name|uid>[:<group|gid>]\")", short="u"),
        opts.WORKDIR,
    ],
)
