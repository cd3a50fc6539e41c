"""RUN: one short-lived container on the current layer, run by the daemon's OCI runtime.

The rootfs is a snapshot prepared on the parent chain and mounted; the spec
comes from ``runtime/spec.py`` with the image's env, user and working
directory. ``runc run`` creates, starts and waits in one call, with the
step's output on a pipe we stream line by line. The files the runtime needs
as mount points (``/etc/hosts``, ``/etc/resolv.conf``, ``/etc/hostname``) are
taken out of the upper dir again when they were not in the image, so they
never end up in the layer; so are the mount points the runtime creates for
``RUN --mount`` targets (BuildKit's "mount stubs").

``RUN --mount`` targets are resolved inside the rootfs with ``secure_join``
before the runtime sees them, so a symlink in the image cannot send a mount
outside it. A step with secrets gets a private tmpfs next to its scratch dir
that holds the secret files, the bundle (its ``config.json`` may carry a
secret as an environment variable) and the runtime state; it is unmounted
when the step ends, so a secret never touches the disk or a layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockwright.network import hostsfiles
from dockwright.runtime import spec as S
from dockwright.runtime.securejoin import secure_join
from dockwright.runtime.user import resolve_user

_RUNTIME_FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")


@dataclass(frozen=True)
class StepMount:
    """One ``RUN --mount`` as the runtime needs it; ``data`` is a secret's value (never printed)."""

    kind: str  # bind | tmpfs | secret
    target: str  # absolute, inside the container; "" for a secret that is only an env var
    source: str = ""  # host path (bind)
    readonly: bool = True
    size: int = 0  # tmpfs bytes, 0 = the kernel's default
    data: bytes = field(default=b"", repr=False)
    mode: int = 0o400
    uid: int = 0
    gid: int = 0
    env: str = ""  # secret: also exposed as this environment variable


@dataclass
class RunRequest:
    step_id: str
    argv: list[str]
    env: list[str]
    user: str
    workdir: str
    network: str  # host | none | default
    extra_hosts: list[str] = field(default_factory=list)
    cache_mounts: list[tuple[str, str]] = field(default_factory=list)  # (host dir, target)
    shm_size: int = 0
    memory: int = 0
    mounts: list[StepMount] = field(default_factory=list)


class RunFailed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


async def run_container(
    runtime: list[str],
    rootfs: Path,
    workdir: Path,
    req: RunRequest,
    output: Callable[[str], Awaitable[None]],
    network_setup: Callable[[str, Path], Awaitable[Callable[[], Awaitable[None]]]] | None,
) -> None:
    """Run ``req`` on the mounted ``rootfs``; ``workdir`` is a private scratch dir for the bundle."""
    secure: Path | None = None
    if any(m.kind == "secret" for m in req.mounts):
        secure = workdir.with_name(workdir.name + "-secrets")
        size = sum(len(m.data) for m in req.mounts) * 2 + (4 << 20)
        await asyncio.to_thread(_mount_tmpfs, secure, size)
    try:
        await _run(runtime, rootfs, workdir, secure, req, output, network_setup)
    finally:
        if secure is not None:
            await asyncio.to_thread(_drop_tmpfs, secure)


async def _run(
    runtime: list[str],
    rootfs: Path,
    workdir: Path,
    secure: Path | None,
    req: RunRequest,
    output: Callable[[str], Awaitable[None]],
    network_setup: Callable[[str, Path], Awaitable[Callable[[], Awaitable[None]]]] | None,
) -> None:
    private = secure if secure is not None else workdir
    bundle = private / "bundle"
    files = workdir / "files"
    hostname = req.step_id[:12]
    host_net = req.network == "host"
    missing, etc_missing, user = await asyncio.to_thread(_prepare_rootfs, rootfs, req)
    await asyncio.to_thread(_write_files, bundle, files, hostname, host_net, req.extra_hosts)
    mounts = [S.bind_mount(str(files / n), d) for n, d in
              (("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname"))]
    mounts += [S.bind_mount(src, dst) for src, dst in req.cache_mounts]
    step_mounts, secret_env, stubs = await asyncio.to_thread(_step_mounts, rootfs, private, req.mounts)
    mounts += step_mounts
    opts: list[S.SpecOpt] = [
        S.with_process(req.argv, [*req.env, *secret_env], req.workdir or "/", user),
        S.with_rootfs(str(rootfs)),
        S.with_hostname(hostname),
        S.with_mounts(mounts),
    ]
    if req.shm_size:
        opts.append(S.with_shm_size(req.shm_size))
    if req.memory:
        opts.append(S.with_resources(memory=req.memory))
    teardown: Callable[[], Awaitable[None]] | None = None
    if host_net:
        opts.append(S.with_host_namespace("network"))
    elif network_setup is not None:
        ns_path = workdir / "netns"
        teardown = await network_setup(req.network, ns_path)
        opts.append(S.with_namespace("network", str(ns_path)))
    spec = S.build_spec(req.step_id, *opts)
    await asyncio.to_thread((bundle / "config.json").write_text, json.dumps(spec))
    state = private / "runtime-state"
    argv = [*runtime, "--root", str(state), "run", "--bundle", str(bundle), req.step_id]
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        await asyncio.gather(_relay_lines(proc.stdout, output, None),
                             _relay_lines(proc.stderr, output, STDERR_COLOR))
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            kill = await asyncio.create_subprocess_exec(*runtime, "--root", str(state), "kill", req.step_id,
                                                        "KILL", stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
            await kill.wait()
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        rm = await asyncio.create_subprocess_exec(*runtime, "--root", str(state), "delete", "--force",
                                                  req.step_id, stdout=asyncio.subprocess.DEVNULL,
                                                  stderr=asyncio.subprocess.DEVNULL)
        await rm.wait()
        if teardown is not None:
            await teardown()
    await asyncio.to_thread(_drop_stubs, rootfs, stubs)
    await asyncio.to_thread(_drop_mountpoints, rootfs, missing, etc_missing)
    if code != 0:
        raise RunFailed(code)


#: dockerd's legacy builder shows a step's stderr in red: each chunk wrapped in these escapes
STDERR_COLOR = ("\x1b[91m", "\x1b[0m")


async def _relay_lines(stream: asyncio.StreamReader, output: Callable[[str], Awaitable[None]],
                       color: tuple[str, str] | None) -> None:
    while line := await stream.readline():
        text = line.decode("utf-8", "replace")
        await output(f"{color[0]}{text}{color[1]}" if color else text)


def _mount_tmpfs(path: Path, size: int) -> None:
    from dockwright.snapshots.mount import Mount, mount_all

    path.mkdir(mode=0o700)
    mount_all([Mount("tmpfs", "tmpfs", ("nosuid", "nodev", "noexec", "mode=0700", f"size={size}"))], path)


def _drop_tmpfs(path: Path) -> None:
    from dockwright.errors import DockwrightError
    from dockwright.snapshots.mount import unmount

    try:
        unmount(path)
    except DockwrightError:
        unmount(path, lazy=True)  # a process still holds it: detach now, the kernel frees it after
    with contextlib.suppress(OSError):
        path.rmdir()


def resolve_target(rootfs: Path, target: str) -> str:
    """``target`` as a path inside ``rootfs`` after its symlinks, resolved there (never outside)."""
    if not target.startswith("/"):
        raise ValueError(f"mount target {target!r} is not absolute")
    rel = os.path.relpath(secure_join(str(rootfs), target), rootfs)
    return "/" if rel == "." else "/" + rel


def _missing_parts(rootfs: Path, dest: str) -> list[str]:
    """The components of ``dest`` (already resolved) that do not exist yet, outermost first."""
    out: list[str] = []
    cur = ""
    for part in [p for p in dest.split("/") if p]:
        cur += "/" + part
        if out or not os.path.lexists(os.path.join(rootfs, cur.lstrip("/"))):
            out.append(os.path.join(rootfs, cur.lstrip("/")))
    return out


def _step_mounts(rootfs: Path, private: Path, mounts: list[StepMount]) -> tuple[
        list[dict[str, Any]], list[str], list[str]]:
    """OCI mounts, secret environment entries, and the stubs the runtime will create for them."""
    out: list[dict[str, Any]] = []
    env: list[str] = []
    stubs: list[str] = []
    secret_dir = private / "secrets"
    for n, m in enumerate(mounts):
        if m.kind == "secret":
            if m.env:
                if b"\0" in m.data:
                    from dockwright.errors import InvalidParameter

                    raise InvalidParameter(f"secret for {m.env} contains a NUL byte: it cannot be an "
                                           "environment variable; mount it as a file")
                env.append(f"{m.env}={m.data.decode('utf-8', 'surrogateescape')}")
            if not m.target:
                continue
        dest = resolve_target(rootfs, m.target)
        if dest == "/":
            from dockwright.errors import InvalidParameter

            raise InvalidParameter(f"cannot mount {m.kind} over / (target {m.target!r})")
        stubs.extend(p for p in _missing_parts(rootfs, dest) if p not in stubs)
        if m.kind == "tmpfs":
            opts = ["nosuid", "nodev"]
            if m.size:
                opts.append(f"size={m.size}")
            out.append({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts})
        elif m.kind == "secret":
            secret_dir.mkdir(mode=0o700, exist_ok=True)
            f = secret_dir / f"s{n}"
            fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(m.data)
            os.chown(f, m.uid, m.gid)
            os.chmod(f, m.mode)
            out.append(S.bind_mount(str(f), dest, readonly=True))
        else:
            out.append(S.bind_mount(m.source, dest, readonly=m.readonly))
    return out, env, stubs


def _drop_stubs(rootfs: Path, stubs: list[str]) -> None:
    """Remove the mount points the runtime created, deepest first, when the step left them empty.

    The step may have replaced a parent with a symlink meanwhile (``mv /x /z && ln -s /host /x``):
    each path is resolved inside the rootfs again and skipped unless it is still the one recorded,
    so nothing on the host is ever removed."""
    for p in reversed(stubs):
        rel = os.path.relpath(p, rootfs)
        if rel.startswith("..") or secure_join(str(rootfs), "/" + rel) != p:
            continue
        with contextlib.suppress(OSError):
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                os.rmdir(p)
            elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(p)


def _write_files(bundle: Path, files: Path, hostname: str, host_net: bool, extra_hosts: list[str]) -> None:
    """The bundle dir and the hosts/hostname/resolv.conf the step sees (bind-mounted, never in the layer)."""
    bundle.mkdir(parents=True, exist_ok=True)
    files.mkdir(exist_ok=True)
    extra = [(h.partition(":")[0], h.partition(":")[2]) for h in extra_hosts]
    if host_net:
        hostsfiles.write_host_network_hosts(files, extra_hosts=extra)
    else:
        hostsfiles.write_hosts(files, hostname, None, extra_hosts=extra)
    hostsfiles.write_hostname(files, hostname)
    hostsfiles.write_resolv_conf(files, host_network=host_net)


def _prepare_rootfs(rootfs: Path, req: RunRequest) -> tuple[list[str], bool, tuple[int, int, list[int]]]:
    """What is missing before the run (so it can go after), the user, and the working directory."""
    missing = [p for p in _RUNTIME_FILES if not os.path.lexists(secure_join(str(rootfs), p))]
    etc_missing = not os.path.lexists(secure_join(str(rootfs), "/etc"))
    u = resolve_user(rootfs, req.user)
    wd = Path(secure_join(str(rootfs), req.workdir or "/"))
    if not wd.exists():
        wd.mkdir(parents=True, exist_ok=True)
        os.chown(wd, u[0], u[1])
    return missing, etc_missing, (u[0], u[1], list(u[2]))


def _drop_mountpoints(rootfs: Path, missing: list[str], etc_missing: bool) -> None:
    for p in missing:
        target = Path(secure_join(str(rootfs), p))
        with contextlib.suppress(OSError):
            if target.is_file() and target.stat().st_size == 0:
                target.unlink()
    if etc_missing:
        etc = Path(secure_join(str(rootfs), "/etc"))
        with contextlib.suppress(OSError):
            etc.rmdir()


def shell_argv(shell: list[str], cmd: tuple[str, ...], prepend_shell: bool) -> list[str]:
    return [*shell, " ".join(cmd)] if prepend_shell else list(cmd)


def env_for_run(image_env: list[str], build_args: Mapping[str, str]) -> list[str]:
    """Build args reach RUN as environment variables, below the image's ENV."""
    names = {e.partition("=")[0] for e in image_env}
    return [*image_env, *(f"{k}={v}" for k, v in sorted(build_args.items()) if k not in names)]


def cleanup_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def config_user(cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("User") or "")
