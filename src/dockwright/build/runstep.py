"""RUN: one short-lived container on the current layer, run by the daemon's OCI runtime.

The rootfs is a snapshot prepared on the parent chain and mounted; the spec
comes from ``runtime/spec.py`` with the image's env, user and working
directory. ``runc run`` creates, starts and waits in one call, with the
step's output on a pipe we stream line by line. The files the runtime needs
as mount points (``/etc/hosts``, ``/etc/resolv.conf``, ``/etc/hostname``) are
taken out of the upper dir again when they were not in the image, so they
never end up in the layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockwright.network import hostsfiles
from dockwright.runtime import spec as S
from dockwright.runtime.securejoin import secure_join
from dockwright.runtime.user import resolve_user

_RUNTIME_FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")


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
    bundle = workdir / "bundle"
    files = workdir / "files"
    hostname = req.step_id[:12]
    host_net = req.network == "host"
    missing, etc_missing, user = await asyncio.to_thread(_prepare_rootfs, rootfs, req)
    await asyncio.to_thread(_write_files, bundle, files, hostname, host_net, req.extra_hosts)
    mounts = [S.bind_mount(str(files / n), d) for n, d in
              (("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname"))]
    mounts += [S.bind_mount(src, dst) for src, dst in req.cache_mounts]
    opts: list[S.SpecOpt] = [
        S.with_process(req.argv, req.env, req.workdir or "/", user),
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
    state = workdir / "runtime-state"
    argv = [*runtime, "--root", str(state), "run", "--bundle", str(bundle), req.step_id]
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            await output(line.decode("utf-8", "replace"))
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
    await asyncio.to_thread(_drop_mountpoints, rootfs, missing, etc_missing)
    if code != 0:
        raise RunFailed(code)


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
