"""The container service: a state machine per container over the runtime and its monitor.

    created --start--> running --exit--> exited --start--> running ...
                         |  ^
                   pause |  | unpause
                         v  |
                        paused

Every transition happens under the container's lock and is saved before the
lock is released; exits are reported by the container's monitor (a separate
process, so containers outlive the daemon) and handled by one waiter task per
running container. On start-up ``restore`` finds running containers again
through their monitors, or reads the exit status a monitor left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import Conflict, DockwrightError, InvalidParameter, NotFound, NotModified, Unavailable
from ...images.unpack import ensure_unpacked
from ...network import hostsfiles, ports
from ...runtime.jsonlog import parse_size
from ..filters import Filters, label_matches
from . import bundle, health, links, monitor_client, names
from .model import Container, now_rfc3339, pid_alive
from .signals import parse_signal

if TYPE_CHECKING:
    from ..daemon import Daemon

log = logging.getLogger(__name__)
_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
CONTAINER_LIST_FILTERS = ("ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task",
                          "label", "name", "network", "publish", "since", "status", "volume")
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")


@dataclass
class ExecRecord:
    id: str
    container_id: str
    config: dict[str, Any]
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    started: bool = False
    monitor_pid: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ContainerService:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.root = daemon.root / "containers"
        self.root.mkdir(exist_ok=True)
        self.run_root = Path(daemon.config.exec_root)
        (self.run_root / "m").mkdir(parents=True, exist_ok=True)
        self.containers: dict[str, Container] = {}
        self.names: dict[str, str] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.exits: dict[str, asyncio.Condition] = {}
        self.removed: dict[str, asyncio.Event] = {}
        self.waiters: dict[str, asyncio.Task[None]] = {}
        self.started: dict[str, asyncio.Event] = {}
        self.attach_pending: dict[str, list[asyncio.Future[None]]] = {}
        self.execs: dict[str, ExecRecord] = {}
        self._restart_tasks: set[asyncio.Task[None]] = set()
        self.warm = WarmMonitors(self.run_root)

    # -- records ------------------------------------------------------------------
    def _load_all(self) -> None:
        with self.d.db.tx() as conn:
            rows = conn.execute("SELECT config FROM containers").fetchall()
        for r in rows:
            try:
                c = Container.from_json(r[0])
            except (ValueError, TypeError) as exc:
                log.error("unreadable container record: %s", exc)
                continue
            self._register(c)

    def _register(self, c: Container) -> None:
        self.containers[c.id] = c
        self.names[c.name] = c.id
        self.locks.setdefault(c.id, asyncio.Lock())
        self.exits.setdefault(c.id, asyncio.Condition())
        self.removed.setdefault(c.id, asyncio.Event())

    def _save_sync(self, c: Container) -> None:
        with self.d.db.tx(write=True) as conn:
            conn.execute(
                "INSERT INTO containers(id, name, image_id, created, snapshot, state, config) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, state=excluded.state, config=excluded.config",
                (c.id, c.name, c.image_id, time.time(), c.id, c.status, c.to_json()),
            )

    async def _save(self, c: Container) -> None:
        await asyncio.to_thread(self._save_sync, c)

    def get(self, ref: str) -> Container:
        """By full ID, by name (with or without ``/``), then by unique ID prefix: Docker's order."""
        if not ref:
            raise NotFound("No such container: ")
        if ref in self.containers:
            return self.containers[ref]
        name = ref.lstrip("/")
        if name in self.names:
            return self.containers[self.names[name]]
        matches = [c for cid, c in self.containers.items() if cid.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def cdir(self, c: Container | str) -> Path:
        return self.root / (c if isinstance(c, str) else c.id)

    def sock(self, c: Container) -> str:
        return str(self.run_root / "m" / f"{c.id[:16]}.sock")

    def state_dir(self, c: Container) -> Path:
        return self.run_root / "containers" / c.id

    def runtime_argv(self, name: str) -> list[str]:
        paths = self.d.runtime_commands()
        if name not in paths:
            raise InvalidParameter(f"unknown or invalid runtime name: {name}")
        return [*paths[name], "--root", str(self.run_root / "runtime" / name)]

    # -- create -----------------------------------------------------------------------
    async def create(self, name: str, body: Any, platform: str = "") -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidParameter("config cannot be empty in order to create a container")
        image_ref = body.get("Image")
        if not isinstance(image_ref, str) or not image_ref:
            raise InvalidParameter("no image specified: give an image to create the container from")
        hc = body.get("HostConfig") or {}
        if not isinstance(hc, dict):
            raise InvalidParameter("HostConfig must be an object")
        for key in ("Env", "Cmd", "Entrypoint"):
            v = body.get(key)
            if isinstance(v, str):
                body[key] = [v] if key != "Entrypoint" else [v]
            elif v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
                raise InvalidParameter(f"{key} must be a list of strings")
        if name:
            if not _NAME_RE.match(name):
                raise InvalidParameter(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            name = name.lstrip("/")
            if name in self.names:
                raise Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container '
                    f'"{self.names[name]}". You have to remove (or rename) that container to be able to reuse '
                    "that name."
                )
        self._validate_host_config(hc)
        _validate_endpoints(body.get("NetworkingConfig"), hc)
        img = await self.d.images.get(image_ref)
        if platform:
            _check_platform(image_ref, img.config, platform)
        cfg = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        cfg = bundle.merge_image_config(cfg, img.config.get("config") or {})
        cfg["Image"] = image_ref
        path, args = bundle.command_of(cfg)
        runtime = hc.get("Runtime") or self.d.config.default_runtime
        self.runtime_argv(runtime)
        hc = dict(hc)
        hc["Runtime"] = runtime
        hc.setdefault("NetworkMode", "default" if not hc.get("NetworkMode") else hc["NetworkMode"])
        if not (hc.get("LogConfig") or {}).get("Type"):  # {"Type": ""} too: the daemon's default driver
            hc["LogConfig"] = {"Type": self.d.config.log_driver,
                               "Config": (hc.get("LogConfig") or {}).get("Config") or dict(self.d.config.log_opts)}
        hc.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
        cid = secrets.token_hex(32)
        if not name:
            name = names.generate()
            retry = 0
            while name in self.names:
                retry += 1
                name = names.generate(retry)
        if not cfg.get("Hostname"):
            # Docker: the host's name with --network host, else the short ID
            cfg["Hostname"] = os.uname().nodename if hc.get("NetworkMode") == "host" else cid[:12]
        c = Container(id=cid, name=name, created=now_rfc3339(), image_id=img.id, image_name=image_ref,
                      config=cfg, host_config=hc, networking=body.get("NetworkingConfig") or {},
                      path=path, args=args, runtime=runtime)
        self.names[name] = cid  # reserve under the event loop before any await
        try:
            await asyncio.to_thread(self._create_files, c, img.top_chain)
        except BaseException:
            self.names.pop(name, None)
            raise
        self._register(c)
        await self._save(c)
        self.d.events.publish("container", "create", cid, {"image": image_ref, "name": name})
        warnings = []
        if hc.get("NetworkMode") == "host" and ports.requests(hc, cfg.get("ExposedPorts")):
            warnings.append("Published ports are discarded when using host network mode")
        return {"Id": cid, "Warnings": warnings}

    def _validate_host_config(self, hc: dict[str, Any]) -> None:
        rp = hc.get("RestartPolicy") or {}
        if not isinstance(rp, dict):
            raise InvalidParameter("RestartPolicy must be an object")
        pname = rp.get("Name") or ""
        if pname not in RESTART_POLICIES:
            raise InvalidParameter(f"invalid restart policy: unknown policy '{pname}'; use one of 'no', 'always', "
                                   "'unless-stopped', or 'on-failure'")
        if rp.get("MaximumRetryCount") and pname != "on-failure":
            raise InvalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'")
        if hc.get("AutoRemove") and pname not in ("", "no"):
            raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
        # an unknown network or container: NetworkMode is start's error, as dockerd's: a 404 from
        # create makes the docker CLI try to pull the image
        for h in hc.get("ExtraHosts") or []:
            hostsfiles.parse_extra_host(str(h))
        links.validate(hc, self.get)
        for req in hc.get("DeviceRequests") or []:
            req = req if isinstance(req, dict) else {}
            caps = " ".join("[" + " ".join(map(str, c)) + "]" for c in req.get("Capabilities") or [])
            raise InvalidParameter(f'could not select device driver "{req.get("Driver") or ""}" with capabilities: '
                                   f"[{caps}]: dockwright has no device drivers (GPUs); give devices with --device")
        if hc.get("StorageOpt"):
            raise InvalidParameter("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
        if ports.requests(hc, None) and str(hc.get("NetworkMode") or "").startswith("container:"):
            raise InvalidParameter("conflicting options: port publishing and the container type network mode")
        for b in hc.get("Binds") or []:
            if not isinstance(b, str):
                raise InvalidParameter("Binds must be a list of strings")
            bundle.parse_bind(b)
        bundle.parse_mounts(hc)
        for key in ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "ShmSize", "CpuQuota", "CpuPeriod"):
            v = hc.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise InvalidParameter(f"HostConfig.{key} must be an integer")
        if hc.get("Memory") and 0 < hc["Memory"] < 6 << 20:
            raise InvalidParameter("Minimum memory limit allowed is 6MB")
        if hc.get("NanoCpus") and hc["NanoCpus"] > (os.cpu_count() or 1) * 1_000_000_000:
            raise InvalidParameter(f"Range of CPUs is from 0.01 to {os.cpu_count()}.00, as there are only "
                                   f"{os.cpu_count()} CPUs available")
        opts = (hc.get("LogConfig") or {}).get("Config") or {}
        if "max-size" in opts:
            try:
                parse_size(str(opts["max-size"]))
            except ValueError as exc:
                raise InvalidParameter(str(exc)) from exc
        ltype = (hc.get("LogConfig") or {}).get("Type") or "json-file"
        if ltype not in ("json-file", "local", "none"):
            raise InvalidParameter(f"logger: no log driver named '{ltype}' is registered")
        for opt in hc.get("SecurityOpt") or []:
            key = opt.split("=", 1)[0].split(":", 1)[0]
            if key not in ("no-new-privileges", "seccomp", "apparmor", "label", "systempaths", "writable-cgroups"):
                raise InvalidParameter(f"invalid --security-opt: {opt!r}")

    def _create_files(self, c: Container, parent_chain: str) -> None:
        d = self.cdir(c)
        d.mkdir(parents=True)
        (d / "rootfs").mkdir()
        ensure_unpacked(self.d.image_store, self.d.content, self.d.snapshotter, parent_chain)
        self.d.snapshotter.prepare(c.id, parent_chain)
        self.d.networks.write_files(c, d)

    # -- start -----------------------------------------------------------------------
    async def start(self, ref: str) -> None:
        c = self.get(ref)
        async with self.locks[c.id]:
            if c.status == "paused":
                raise Conflict("cannot start a paused container, try unpause instead")
            if c.running:
                raise NotModified("container already started")
            if c.status == "removing":
                raise Conflict("container is marked for removal and cannot be started")
            await self._start_locked(c)

    async def _start_locked(self, c: Container) -> None:
        c.manually_stopped = False
        try:
            pid = await self._spawn(c)
        except DockwrightError as exc:
            self.started.setdefault(c.id, asyncio.Event()).set()  # pending attaches see it failed
            self.attach_pending.pop(c.id, None)
            msg = str(exc)
            low = msg.lower()  # runc's and crun's wordings differ in case and quoting
            code = 127 if (re.search(r"executable file .*not found", low) or "no such file or directory" in low) else (
                126 if "permission denied" in low else 128)
            c.state.update(ExitCode=code, Error=msg)
            await self._save(c)
            await asyncio.to_thread(self._teardown_fs, c)
            cond = self.exits[c.id]
            async with cond:
                cond.notify_all()
            if c.host_config.get("AutoRemove"):
                task = asyncio.create_task(self._remove_after_failed_start(c.id))
                self._restart_tasks.add(task)
                task.add_done_callback(self._restart_tasks.discard)
            raise
        c.set_running(pid)
        health.start_health(self, c)
        await self._save(c)
        self.d.events.publish("container", "start", c.id, {"image": c.image_name, "name": c.name})
        self.waiters[c.id] = asyncio.create_task(self._wait_exit(c))

    async def _remove_after_failed_start(self, cid: str) -> None:
        await asyncio.sleep(0)  # after the start lock is released
        with contextlib.suppress(DockwrightError):
            await self.remove(cid, force=True)

    def _mount_and_bundle(self, c: Container, netns: str | None, netmode: str) -> Path:
        from ...snapshots.mount import mount_all, unmount

        d = self.cdir(c)
        rootfs = d / "rootfs"
        unmount(rootfs, lazy=True)
        mount_all(self.d.snapshotter.mounts(c.id), rootfs)
        try:
            linked = links.resolve(c.host_config, self.get)
            cfg = c.config
            if linked:  # before the container's own Env, which wins
                cfg = dict(cfg, Env=[*links.environment(c.name, linked), *(cfg.get("Env") or [])])
            spec = bundle.build(c.id, cfg, c.host_config, rootfs, d, netns=netns, netmode=netmode)
        except BaseException:
            unmount(rootfs, lazy=True)
            raise
        bdir = d / "bundle"
        bdir.mkdir(exist_ok=True)
        (bdir / "config.json").write_text(json.dumps(spec))
        return bdir

    async def _spawn(self, c: Container) -> int:
        mode = self.d.networks.mode(c)
        netns = None
        if mode not in ("default", "bridge", "none", "host") and not mode.startswith("container:"):
            raise NotFound(f"network {mode} not found")
        if mode.startswith("container:"):
            other = self.get(mode.split(":", 1)[1])
            if not other.running:
                raise Conflict(f"cannot join network of a non running container: {other.name}")
            netns = f"/proc/{other.state['Pid']}/ns/net"
            mode = "container"
        t0 = time.perf_counter()
        marks: list[tuple[str, float]] = []
        pinned = self.d.networks.netns_file(c)
        try:
            made = None
            if pinned is not None:  # made while the bundle is written; the veth is set up during create
                netns = str(pinned)
                made = asyncio.create_task(self.d.networks.prepare(c))
            try:
                bdir = await asyncio.to_thread(self._mount_and_bundle, c, netns, mode)
            finally:
                if made is not None:
                    await asyncio.wait([made])
            if made is not None:
                made.result()
            marks.append(("bundle", time.perf_counter()))
            return await self._spawn_prepared(c, bdir, mode, pinned, t0, marks)
        except BaseException:
            await self.d.networks_disconnect(c)  # the pinned namespace too, whatever step failed
            raise

    async def _spawn_prepared(self, c: Container, bdir: Path, mode: str, pinned: Path | None, t0: float,
                              marks: list[tuple[str, float]]) -> int:
        sdir = self.state_dir(c)
        sdir.mkdir(parents=True, exist_ok=True)
        for stale in ("exit.json", "init.pid", "monitor.pid"):
            with contextlib.suppress(FileNotFoundError):
                (sdir / stale).unlink()
        lc = (c.host_config.get("LogConfig") or {}).get("Config") or {}
        mcfg = {
            "id": c.id, "bundle": str(bdir), "state_dir": str(sdir), "runtime": self.runtime_argv(c.runtime),
            "log_path": str(self.log_path(c)), "log_max_size": parse_size(lc["max-size"]) if lc.get("max-size") else 0,
            "log_max_file": int(lc.get("max-file", 1)), "tty": bool(c.config.get("Tty")),
            "open_stdin": bool(c.config.get("OpenStdin")), "stdin_once": bool(c.config.get("StdinOnce")),
            "cgroup_path": f"/dockwright/{c.id}", "socket": self.sock(c), "builtin": c.runtime == "dockwright",
        }
        (sdir / "monitor.json").write_text(json.dumps(mcfg))
        connect = asyncio.create_task(self.d.networks_connect(c, pinned)) if pinned is not None else None
        try:
            info = await self._run_monitor(c, sdir)
        finally:
            if connect is not None:
                await asyncio.wait([connect])
        marks.append(("monitor+network", time.perf_counter()))
        if "error" in info:
            if connect is not None and not connect.cancelled():
                connect.exception()  # the runtime's error is the one to report; this one is retrieved
            await asyncio.to_thread(self._teardown_fs, c)
            raise InvalidParameter(_runtime_message(str(info["error"])))
        pid = int(info["pid"])
        try:
            if connect is not None:
                connect.result()
            elif mode in ("default", "bridge"):
                await self.d.networks_connect(c, pid)
            elif mode == "none":
                await self.d.networks_loopback(pid)
        except BaseException:
            with contextlib.suppress(DockwrightError):  # the created init must not wait forever
                await self._runtime("delete", "--force", c.id, runtime=c.runtime)
            await asyncio.to_thread(self._teardown_fs, c)
            raise
        if c.network:
            await self._save(c)
        marks.append(("network", time.perf_counter()))
        # attach requests made before start (docker run) connect now, before any output exists
        self.started.setdefault(c.id, asyncio.Event()).set()
        pending = self.attach_pending.pop(c.id, [])
        if pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 5)
        size = c.host_config.get("ConsoleSize") or [0, 0]
        if c.config.get("Tty") and isinstance(size, list) and len(size) == 2 and size[0] and size[1]:
            with contextlib.suppress(DockwrightError, OSError, ValueError):
                await monitor_client.request(self.sock(c), {"op": "resize", "height": int(size[0]),
                                                            "width": int(size[1])})
        if c.runtime == "dockwright":
            # our own runtime's start only opens a fifo: run it in-process, not in a new interpreter
            rc, err = await asyncio.to_thread(_builtin_call, [*self.runtime_argv(c.runtime)[-2:], "start", c.id])
        else:
            r = await asyncio.create_subprocess_exec(*self.runtime_argv(c.runtime), "start", c.id,
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, err = await r.communicate()
            rc = r.returncode or 0
        marks.append(("runtime-start", time.perf_counter()))
        with contextlib.suppress(DockwrightError, OSError, ValueError):
            await monitor_client.request(self.sock(c), {"op": "started"})
        if log.isEnabledFor(logging.DEBUG):  # where a start's milliseconds go
            prev, parts = t0, []
            for name, t in marks:
                parts.append(f"{name}={(t - prev) * 1000:.1f}")
                prev = t
            log.debug("start %s ms: %s", c.id[:12], " ".join(parts))
        if rc != 0:
            with contextlib.suppress(DockwrightError):
                await self._runtime("delete", "--force", c.id, runtime=c.runtime)
            raise InvalidParameter(_runtime_message(err.decode(errors="replace")))
        return pid

    async def _run_monitor(self, c: Container, sdir: Path) -> dict[str, Any]:
        """Hand the container to a warm monitor (or start one) and wait for its ready report."""
        warm = self.warm.take()
        if warm is None:
            warm = await asyncio.to_thread(self.warm.spawn)
        self.warm.refill_soon()
        ctl_w, rfd = warm

        def handoff() -> bytes:
            try:
                os.write(ctl_w, str(sdir / "monitor.json").encode() + b"\n")
            finally:
                os.close(ctl_w)
            # one line; not EOF: with the builtin runtime the container's init is forked from the
            # monitor and holds the pipe's write end until it execs, after `start`
            # and if the monitor dies before it reports, that end stays open: poll, and look at it
            chunks: list[bytes] = []
            poller = select.poll()
            poller.register(rfd, select.POLLIN)
            while True:
                if not poller.poll(1000):
                    pid_file = sdir / "monitor.pid"
                    with contextlib.suppress(OSError, ValueError):
                        if not pid_alive(int(pid_file.read_text())):
                            return b"".join(chunks)
                    continue
                b = os.read(rfd, 65536)
                chunks.append(b)
                if not b or b.endswith(b"\n"):
                    return b"".join(chunks)

        try:
            raw = await asyncio.to_thread(handoff)
        finally:
            os.close(rfd)
        with contextlib.suppress(OSError, ValueError):
            c.monitor_pid = int((sdir / "monitor.pid").read_text())
        if not raw:
            return {"error": "the container monitor failed to start: " + _tail(sdir / "monitor.log")}
        out: dict[str, Any] = json.loads(raw)
        return out

    async def _runtime(self, *args: str, runtime: str = "") -> str:
        r = await asyncio.create_subprocess_exec(*self.runtime_argv(runtime or self.d.config.default_runtime), *args,
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await r.communicate()
        if r.returncode != 0:
            raise Unavailable(_runtime_message(err.decode(errors="replace")))
        return out.decode()

    def log_path(self, c: Container) -> Path:
        return self.cdir(c) / f"{c.id}-json.log"

    def _teardown_fs(self, c: Container) -> None:
        from ...snapshots.mount import unmount

        unmount(self.cdir(c) / "rootfs", lazy=True)

    # -- exits -------------------------------------------------------------------------
    async def _wait_exit(self, c: Container) -> None:
        info: dict[str, Any] | None = None
        while info is None:
            try:
                info = await monitor_client.request(self.sock(c), {"op": "wait"}, timeout=None)
            except (DockwrightError, OSError, ValueError):
                info = self._read_exit_file(c)
                if info is None:
                    if not pid_alive(c.monitor_pid):
                        info = {"exit_code": 255, "error": "the container's monitor died", "oom_killed": False}
                    else:
                        await asyncio.sleep(0.2)
        await self._handle_exit(c, info)

    def _read_exit_file(self, c: Container) -> dict[str, Any] | None:
        p = self.state_dir(c) / "exit.json"
        try:
            data: dict[str, Any] = json.loads(p.read_text())
            return data
        except (OSError, ValueError):
            return None

    async def _handle_exit(self, c: Container, info: dict[str, Any]) -> None:
        health.stop_health(c)
        async with self.locks[c.id]:
            if not c.running and c.status != "paused":
                return
            code = int(info.get("exit_code", 255))
            auto_remove = bool(c.host_config.get("AutoRemove"))
            # released before the state says exited, as dockerd: a wait that returns, or an inspect
            # that sees "exited", finds no endpoint, published port or mount left
            if not auto_remove:  # remove() below unmounts and saves anyway: `run --rm` waits for it
                await asyncio.to_thread(self._teardown_fs, c)
            await self.d.networks_disconnect(c)
            c.set_exited(code, oom=bool(info.get("oom_killed")), error=str(info.get("error", "")),
                         finished=str(info.get("finished_at", "")))
            if not auto_remove and self._should_restart(c, code):
                # restarting from now on, as dockerd: a remove without -f in the back-off is refused
                c.state.update(Status="restarting", Restarting=True)
            self.started.pop(c.id, None)
            if not auto_remove:
                await self._save(c)
        if info.get("oom_killed"):
            self.d.events.publish("container", "oom", c.id, {"image": c.image_name, "name": c.name})
        self.d.events.publish("container", "die", c.id, {"image": c.image_name, "name": c.name,
                                                        "exitCode": str(code)})
        cond = self.exits[c.id]
        async with cond:
            cond.notify_all()
        self.waiters.pop(c.id, None)
        if auto_remove:
            with contextlib.suppress(DockwrightError):
                await self.remove(c.id, force=True, volumes=True)
            return
        if self._should_restart(c, code):
            t = asyncio.create_task(self._restart_later(c))
            self._restart_tasks.add(t)
            t.add_done_callback(self._restart_tasks.discard)

    def _should_restart(self, c: Container, code: int) -> bool:
        rp = c.host_config.get("RestartPolicy") or {}
        name = rp.get("Name") or "no"
        if c.manually_stopped or name == "no":
            return False
        if name == "on-failure":
            mx = int(rp.get("MaximumRetryCount") or 0)
            return code != 0 and (mx == 0 or c.restart_count < mx)
        return name in ("always", "unless-stopped")

    async def _restart_later(self, c: Container) -> None:
        delay = min(0.1 * (2 ** min(c.restart_count, 10)), 60)
        async with self.locks[c.id]:
            c.state.update(Status="restarting", Restarting=True)
            await self._save(c)
        await asyncio.sleep(delay)
        async with self.locks[c.id]:
            if c.id not in self.containers or c.manually_stopped or c.running:
                return
            c.restart_count += 1
            try:
                await self._start_locked(c)
                self.d.events.publish("container", "restart", c.id, {"image": c.image_name, "name": c.name})
            except DockwrightError as exc:
                log.warning("restart of %s failed: %s", c.id[:12], exc)
                c.state.update(Status="exited", Restarting=False)
                await self._save(c)

    # -- restore -------------------------------------------------------------------------
    async def restore(self) -> None:
        await asyncio.to_thread(self._load_all)
        for c in list(self.containers.values()):
            if c.status in ("running", "paused", "restarting"):
                if c.status != "restarting" and self._monitor_up(c) and pid_alive(c.monitor_pid):
                    self.started.setdefault(c.id, asyncio.Event()).set()
                    self.waiters[c.id] = asyncio.create_task(self._wait_exit(c))
                    health.start_health(self, c)
                    continue
                info = self._read_exit_file(c) or {"exit_code": 255, "oom_killed": False,
                                                   "error": "the container was lost while the daemon was down"}
                c.state.update(Running=True)
                await self._handle_exit(c, info)
            elif c.status == "removing":
                with contextlib.suppress(DockwrightError):
                    await self.remove(c.id, force=True, volumes=True)
        running = {c.id for c in self.containers.values() if c.running}
        await asyncio.to_thread(self.d.networks.cleanup_stale, running)
        for c in list(self.containers.values()):
            rp = (c.host_config.get("RestartPolicy") or {}).get("Name")
            if not c.running and c.has_been_started and not c.manually_stopped and rp in ("always", "unless-stopped"):
                with contextlib.suppress(DockwrightError):
                    await self.start(c.id)

    # -- stop / kill / wait ------------------------------------------------------------------
    async def kill(self, ref: str, sig: str | None) -> None:
        c = self.get(ref)
        n = parse_signal(sig)
        if not c.running:
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        if n == signal.SIGKILL:
            c.manually_stopped = True
        await self._signal(c, n)
        self.d.events.publish("container", "kill", c.id, {"image": c.image_name, "name": c.name, "signal": str(n)})
        if n == signal.SIGKILL:  # as dockerd: the answer comes once the container is dead
            await self._wait_not_running(c, 10)

    async def _signal(self, c: Container, n: int) -> None:
        try:
            await self._runtime("kill", c.id, str(n), runtime=c.runtime)
        except Unavailable:
            pid = int(c.state.get("Pid") or 0)
            if pid and pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, n)

    async def _wait_not_running(self, c: Container, timeout: float | None) -> bool:
        cond = self.exits[c.id]
        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(lambda: not c.running), timeout)
                return True
            except TimeoutError:
                return False

    async def stop(self, ref: str, sig: str | None = None, timeout: int | None = None) -> None:
        c = self.get(ref)
        if c.status == "restarting":  # between two runs: the restart is what stops
            async with self.locks[c.id]:
                c.manually_stopped = True
                c.state.update(Status="exited", Restarting=False)
                await self._save(c)
            self.d.events.publish("container", "stop", c.id, {"image": c.image_name, "name": c.name})
            return
        if not c.running:
            raise NotModified("container already stopped")
        c.manually_stopped = True
        if c.status == "paused":
            await self._runtime("resume", c.id, runtime=c.runtime)
            c.state.update(Status="running", Paused=False)
        stop_sig = parse_signal(sig or c.config.get("StopSignal") or "SIGTERM", signal.SIGTERM)
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            timeout = 10 if timeout is None else int(timeout)
        if timeout != 0:
            await self._signal(c, stop_sig)
        stopped = timeout >= 0 and await self._wait_not_running(c, timeout if timeout > 0 else 0.001)
        if not stopped and c.running:
            await self._signal(c, signal.SIGKILL)
            await self._wait_not_running(c, 30)
        self.d.events.publish("container", "stop", c.id, {"image": c.image_name, "name": c.name})

    async def restart(self, ref: str, sig: str | None = None, timeout: int | None = None) -> None:
        c = self.get(ref)
        if c.running:
            await self.stop(ref, sig, timeout)
        await self.start(c.id)
        self.d.events.publish("container", "restart", c.id, {"image": c.image_name, "name": c.name})

    async def wait(self, ref: str, condition: str) -> dict[str, Any]:
        c = self.get(ref)
        if condition not in ("", "not-running", "next-exit", "removed"):
            raise InvalidParameter(f"invalid condition: {condition!r}")
        if condition == "removed":
            await self.removed[c.id].wait()
        elif condition == "next-exit" or c.running:
            cond = self.exits[c.id]
            async with cond:
                if condition == "next-exit" or c.running:
                    await cond.wait()
        err = c.state.get("Error") or ""
        if condition == "removed":
            err = ""  # a failed start was already reported by the start call
        return {"StatusCode": int(c.state.get("ExitCode", 0)), "Error": {"Message": err} if err else None}

    # -- remove / rename / pause -------------------------------------------------------------
    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        c = self.get(ref)
        if c.status == "restarting":
            if not force:
                raise Conflict(f"You cannot remove a restarting container {c.id}. Stop the container before "
                               "attempting removal or force remove")
            c.manually_stopped = True  # the pending restart sees it and gives up
        health.stop_health(c)
        if c.running:
            if not force:
                state = "paused" if c.status == "paused" else "running"
                raise Conflict(f'cannot remove container "/{c.name}": container is {state}: stop the container '
                               "before removing or force remove")
            c.manually_stopped = True
            if c.status == "paused":
                with contextlib.suppress(DockwrightError):
                    await self._runtime("resume", c.id, runtime=c.runtime)
            await self._signal(c, signal.SIGKILL)
            if not await self._wait_not_running(c, 15):
                raise Conflict(f"could not kill running container {c.id}, cannot remove")
        async with self.locks[c.id]:
            if c.id not in self.containers:
                return
            c.state["Status"] = "removing"
            await self._save(c)
            await self.d.networks_disconnect(c)  # idempotent: a namespace pin a failed start left
            await asyncio.to_thread(self._remove_files, c)
            self.containers.pop(c.id, None)
            if self.names.get(c.name) == c.id:
                del self.names[c.name]
            for ex in [e for e in self.execs.values() if e.container_id == c.id]:
                self.execs.pop(ex.id, None)
        self.d.events.publish("container", "destroy", c.id, {"image": c.image_name, "name": c.name})
        self.removed[c.id].set()
        cond = self.exits[c.id]
        async with cond:
            cond.notify_all()

    def _remove_files(self, c: Container) -> None:
        from ...snapshots.mount import unmount

        unmount(self.cdir(c) / "rootfs", lazy=True)
        with contextlib.suppress(DockwrightError):
            self.d.snapshotter.remove(c.id)
        shutil.rmtree(self.cdir(c), ignore_errors=True)
        shutil.rmtree(self.state_dir(c), ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.sock(c))
        with self.d.db.tx(write=True) as conn:
            conn.execute("DELETE FROM containers WHERE id = ?", (c.id,))

    async def rename(self, ref: str, new: str) -> None:
        c = self.get(ref)
        new = new.lstrip("/")
        if not new or not _NAME_RE.match(new):
            raise InvalidParameter(f"Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        if new == c.name:
            raise InvalidParameter("Renaming a container with the same name as its current name")
        if new in self.names:
            raise Conflict(f'Conflict. The container name "/{new}" is already in use by container '
                           f'"{self.names[new]}". You have to remove (or rename) that container to be able to reuse '
                           "that name.")
        async with self.locks[c.id]:
            old = c.name
            del self.names[old]
            c.name = new
            self.names[new] = c.id
            await self._save(c)
        self.d.events.publish("container", "rename", c.id, {"name": new, "oldName": "/" + old})

    async def pause(self, ref: str) -> None:
        c = self.get(ref)
        async with self.locks[c.id]:
            if not c.running:
                raise Conflict(f"Container {c.id} is not running")
            if c.status == "paused":
                raise Conflict(f"Container {c.id} is already paused")
            await self._runtime("pause", c.id, runtime=c.runtime)
            c.state.update(Status="paused", Paused=True)
            await self._save(c)
        self.d.events.publish("container", "pause", c.id, {"image": c.image_name, "name": c.name})

    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        async with self.locks[c.id]:
            if c.status != "paused":
                raise Conflict(f"Container {c.id} is not paused")
            await self._runtime("resume", c.id, runtime=c.runtime)
            c.state.update(Status="running", Paused=False)
            await self._save(c)
        self.d.events.publish("container", "unpause", c.id, {"image": c.image_name, "name": c.name})

    # -- views ----------------------------------------------------------------------------------
    def inspect(self, ref: str, size: bool = False) -> dict[str, Any]:
        c = self.get(ref)
        d = self.cdir(c)
        hc = dict(c.host_config)
        out: dict[str, Any] = {
            "Id": c.id,
            "Created": c.created,
            "Path": c.path,
            "Args": c.args,
            "State": dict(c.state),
            "Image": c.image_id,
            "ResolvConfPath": str(d / "resolv.conf"),
            "HostnamePath": str(d / "hostname"),
            "HostsPath": str(d / "hosts"),
            "LogPath": str(self.log_path(c)),
            "Name": "/" + c.name,
            "RestartCount": c.restart_count,
            "Driver": self.d.storage_driver_name,
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": [e.id for e in self.execs.values() if e.container_id == c.id] or None,
            "HostConfig": hc,
            "GraphDriver": {"Name": self.d.storage_driver_name, "Data": {}},
            "Mounts": bundle.mount_points(c.host_config),
            "Config": c.config,
            "NetworkSettings": self.d.network_settings(c),
        }
        return out

    def sizes(self, c: Container) -> tuple[int, int]:
        """(writable layer bytes, that plus the image): docker ps -s. Reads the upper dir: call off the loop."""
        try:
            rw = int(self.d.snapshotter.usage(c.id).size)
        except DockwrightError:
            rw = 0
        try:
            base = self.d.image_store.by_id(c.image_id).size
        except DockwrightError:
            base = 0
        return rw, rw + base

    def summary(self, c: Container) -> dict[str, Any]:
        cmd = shlex.join([c.path, *c.args]) if c.path else ""  # dockerd quotes words with spaces
        return {
            "Id": c.id,
            "Names": ["/" + c.name],
            "Image": c.image_name,
            "ImageID": c.image_id,
            "Command": cmd,
            "Created": int(_created_ts(c.created)),
            "Ports": ports.port_list((c.network or {}).get("ports") or [], c.config.get("ExposedPorts"))
            if c.running else [],
            "Labels": dict(c.config.get("Labels") or {}),
            "State": c.status,
            "Status": c.human_status() + (health.status_suffix(c) if c.running else ""),
            "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode") or "default"},
            "NetworkSettings": {"Networks": self.d.network_settings(c).get("Networks", {})},
            "Mounts": bundle.mount_points(c.host_config),
        }

    def list(self, all_: bool, limit: int, size: bool, f: Filters, latest: bool = False) -> list[dict[str, Any]]:
        cs = sorted(self.containers.values(), key=lambda c: c.created, reverse=True)
        if latest:
            limit = 1
        if limit > 0:
            all_ = True
        before = since = None
        if "before" in f:
            before = self.get(f["before"][0]).created
        if "since" in f:
            since = self.get(f["since"][0]).created
        out = []
        link_names = self._link_names()
        for c in cs:
            if not all_ and not c.running:
                continue
            if before is not None and c.created >= before:
                continue
            if since is not None and c.created <= since:
                continue
            if not self._matches(c, f):
                continue
            s = self.summary(c)
            if c.id in link_names:
                s["Names"] = [*s["Names"], *link_names[c.id]]
            if size:
                s["SizeRw"], s["SizeRootFs"] = self.sizes(c)
            out.append(s)
            if limit > 0 and len(out) >= limit:
                break
        return out

    def _link_names(self) -> _LinkNames:
        """``/parent/alias`` of every legacy link, by the linked container: dockerd lists them as names."""
        out: _LinkNames = {}
        for parent in self.containers.values():
            for spec in parent.host_config.get("Links") or []:
                name, alias = links.parse(str(spec))
                child = self.names.get(name) or (name if name in self.containers else "")
                if child:
                    out.setdefault(child, []).append(f"/{parent.name}/{alias}")
        return out

    async def remove_link(self, parent_ref: str, alias: str) -> None:
        """``docker rm --link /parent/alias``: the link goes, both containers stay."""
        parent = self.get(parent_ref)
        async with self.locks[parent.id]:
            kept = [s for s in parent.host_config.get("Links") or [] if links.parse(str(s))[1] != alias]
            if len(kept) == len(parent.host_config.get("Links") or []):
                raise NotFound(f"No such container: /{parent.name}/{alias}")
            parent.host_config["Links"] = kept or None
            await self._save(parent)

    def _matches(self, c: Container, f: Filters) -> bool:
        if "id" in f and not any(c.id.startswith(v) for v in f["id"]):
            return False
        if "name" in f and not any(re.search(v, c.name) or re.search(v, "/" + c.name) for v in f["name"]):
            return False
        if "label" in f and not label_matches(dict(c.config.get("Labels") or {}), f["label"]):
            return False
        if "status" in f:
            for v in f["status"]:
                if v not in ("created", "restarting", "running", "removing", "paused", "exited", "dead"):
                    raise InvalidParameter(f"Invalid filter 'status={v}'")
            if c.status not in f["status"]:
                return False
        if "exited" in f and (c.status != "exited" or str(c.state.get("ExitCode")) not in f["exited"]):
            return False
        if "ancestor" in f:
            ok = False
            for v in f["ancestor"]:
                try:
                    img_id = self.d.image_store.resolve_id(v)
                except DockwrightError:
                    img_id = None
                if img_id == c.image_id or v == c.image_name:
                    ok = True
            if not ok:
                return False
        if "health" in f and health.filter_value(c) not in f["health"]:
            return False
        if "network" in f:
            # as dockerd: a network's name, or a prefix of its ID (known once the container has started)
            nets = self.d.network_settings(c).get("Networks") or {}
            if not any(v in nets or any(str(n.get("NetworkID") or "").startswith(v) and n.get("NetworkID")
                                        for n in nets.values()) for v in f["network"]):
                return False
        if "expose" in f and not _ports_match(f["expose"], c.config.get("ExposedPorts") or {}):
            return False
        if "publish" in f:
            published = {str(k) if "/" in str(k) else f"{k}/tcp" for k in c.host_config.get("PortBindings") or {}}
            published |= {f"{x['container_port']}/{x['proto']}" for x in (c.network or {}).get("ports") or []}
            if not _ports_match(f["publish"], published):
                return False
        return True

    # -- logs -------------------------------------------------------------------------------------
    async def logs(self, ref: str, *, follow: bool, stdout: bool, stderr: bool, since: float, until: float,
                   tail: int, timestamps: bool) -> tuple[Container, AsyncIterator[tuple[int, bytes]]]:
        from ...runtime import jsonlog

        c = self.get(ref)
        if not stdout and not stderr:
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        ltype = (c.host_config.get("LogConfig") or {}).get("Type") or "json-file"
        if ltype == "none":
            raise InvalidParameter('configured logging driver does not support reading')
        path = self.log_path(c)
        want = {"stdout"} if stdout else set()
        if stderr:
            want.add("stderr")

        def fmt(rec: jsonlog.LogRecord) -> tuple[int, bytes]:
            data = rec.data
            if timestamps:
                data = rec.time.encode() + b" " + data
            return (2 if rec.stream == "stderr" else 1), data

        def accept(rec: jsonlog.LogRecord) -> bool:
            if rec.stream not in want:
                return False
            if since or until:
                t = rec.timestamp()
                if since and t < since:
                    return False
                if until and t > until:
                    return False
            return True

        async def gen() -> AsyncIterator[tuple[int, bytes]]:
            # judged before reading: a container that exits while we read has written everything by
            # then (its monitor closes the log before it reports the exit), so the loop gets the rest
            was_running = c.running or c.status == "restarting"
            reader = jsonlog.LogReader(path)
            try:
                recs = [r for r in await asyncio.to_thread(reader.snapshot) if accept(r)]
                if tail >= 0:
                    recs = recs[-tail:] if tail else []
                for rec in recs:
                    yield fmt(rec)
                if not follow or not was_running:
                    return
                while True:
                    running = c.running or c.status == "restarting"
                    new = await asyncio.to_thread(reader.read_new)
                    for rec in new:
                        if until and rec.timestamp() > until:
                            return
                        if accept(rec):
                            yield fmt(rec)
                    if not new:
                        if not running:
                            return
                        await asyncio.sleep(0.05)
            finally:
                reader.close()

        return c, gen()

    # -- attach -------------------------------------------------------------------------------------
    async def attach_monitor(self, c: Container, stdin: bool, stdout: bool, stderr: bool
                             ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Connect to the container's monitor, waiting for a start first when it was only created."""
        if not c.running:
            if c.status not in ("created", "exited", "restarting"):
                return None
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.attach_pending.setdefault(c.id, []).append(fut)
            ev = self.started.setdefault(c.id, asyncio.Event())
            ev.clear() if not c.running else None
            removed = asyncio.ensure_future(self.removed[c.id].wait())
            started = asyncio.ensure_future(ev.wait())
            done, _ = await asyncio.wait({removed, started}, return_when=asyncio.FIRST_COMPLETED)
            removed.cancel()
            started.cancel()
            if started not in done or not c.running and not self._monitor_up(c):
                return None
            try:
                conn = await self._attach_connect(c, stdin, stdout, stderr)
            finally:
                if not fut.done():
                    fut.set_result(None)
            return conn
        return await self._attach_connect(c, stdin, stdout, stderr)

    def _monitor_up(self, c: Container) -> bool:
        return os.path.exists(self.sock(c))

    async def _attach_connect(self, c: Container, stdin: bool, stdout: bool, stderr: bool
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await monitor_client.connect(self.sock(c))
        writer.write(json.dumps({"op": "attach", "stdin": stdin, "stdout": stdout, "stderr": stderr}).encode()
                     + b"\n")
        await writer.drain()
        line = await reader.readline()
        if not line or not json.loads(line).get("ok"):
            writer.close()
            raise Unavailable("the container's monitor refused the attach")
        return reader, writer

    async def resize(self, ref: str, h: int, w: int) -> None:
        c = self.get(ref)
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        await monitor_client.request(self.sock(c), {"op": "resize", "height": h, "width": w})

    # -- exec --------------------------------------------------------------------------------------
    async def exec_create(self, ref: str, body: Any) -> dict[str, Any]:
        c = self.get(ref)
        if not isinstance(body, dict):
            raise InvalidParameter("exec config must be a JSON object")
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd or not isinstance(cmd, list) or not all(isinstance(x, str) for x in cmd):
            raise InvalidParameter("No exec command specified")
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.status == "paused":
            raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
        eid = secrets.token_hex(32)
        self.execs[eid] = ExecRecord(eid, c.id, dict(body, Cmd=cmd))
        self.d.events.publish("container", "exec_create: " + " ".join(cmd), c.id,
                              {"image": c.image_name, "name": c.name, "execID": eid})
        return {"Id": eid}

    def exec_get(self, eid: str) -> ExecRecord:
        ex = self.execs.get(eid)
        if ex is None:
            raise NotFound(f"No such exec instance: {eid}")
        return ex

    def _exec_process(self, c: Container, ex: ExecRecord) -> dict[str, Any]:
        from ...runtime import spec as S

        cfg = ex.config
        rootfs = self.cdir(c) / "rootfs"
        user = S.resolve_user(rootfs, str(cfg.get("User") or c.config.get("User") or ""))
        env = S.merge_env([S.DEFAULT_PATH_ENV, f"HOSTNAME={c.config.get('Hostname') or c.id[:12]}"],
                          list(c.config.get("Env") or []) + list(cfg.get("Env") or []))
        if cfg.get("Tty") and not any(e.startswith("TERM=") for e in env):
            env.append("TERM=xterm")
        spec = json.loads((self.cdir(c) / "bundle" / "config.json").read_text())
        proc = dict(spec["process"])
        proc.update(args=cfg["Cmd"], env=env, cwd=cfg.get("WorkingDir") or c.config.get("WorkingDir") or "/",
                    terminal=bool(cfg.get("Tty")))
        proc["user"] = {"uid": user[0], "gid": user[1]}
        if user[2]:
            proc["user"]["additionalGids"] = list(user[2])
        if cfg.get("Privileged"):
            from ...runtime import caps

            allcaps = list(caps.ALL_CAPS) if hasattr(caps, "ALL_CAPS") else proc["capabilities"]["bounding"]
            proc["capabilities"] = {k: list(allcaps) for k in ("bounding", "effective", "permitted")}
        proc.pop("consoleSize", None)
        return proc

    def exec_check(self, eid: str) -> None:
        ex = self.exec_get(eid)
        c = self.get(ex.container_id)
        if ex.started:
            raise Conflict(f"Error: Exec command {eid} has already run")
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")

    async def exec_start(self, eid: str, detach: bool, tty: bool | None = None
                         ) -> tuple[ExecRecord, asyncio.StreamReader, asyncio.StreamWriter]:
        ex = self.exec_get(eid)
        c = self.get(ex.container_id)
        if ex.started:
            raise Conflict(f"Error: Exec command {eid} has already run")
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        ex.started = True
        proc = await asyncio.to_thread(self._exec_process, c, ex)
        reader, writer = await monitor_client.connect(self.sock(c))
        writer.write(json.dumps({"op": "exec", "exec_id": eid[:16], "process": proc,
                                 "tty": bool(ex.config.get("Tty")),
                                 "stdin": bool(ex.config.get("AttachStdin")) and not detach}).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
        resp = json.loads(line) if line else {"error": "the container's monitor closed the connection"}
        if "error" in resp:
            writer.close()
            ex.exit_code = 126 if "permission denied" in resp["error"] else 127
            ex.done.set()
            raise InvalidParameter(_runtime_message(resp["error"]))
        ex.pid = int(resp["pid"])
        ex.running = True
        self.d.events.publish("container", "exec_start: " + " ".join(ex.config["Cmd"]), c.id,
                              {"image": c.image_name, "name": c.name, "execID": eid})
        return ex, reader, writer

    def exec_finished(self, ex: ExecRecord, code: int) -> None:
        ex.running = False
        ex.exit_code = code
        ex.done.set()
        c = self.containers.get(ex.container_id)
        if c is not None:
            self.d.events.publish("container", "exec_die", c.id, {"image": c.image_name, "name": c.name,
                                                                  "execID": ex.id, "exitCode": str(code)})

    def exec_inspect(self, eid: str) -> dict[str, Any]:
        ex = self.exec_get(eid)
        cfg = ex.config
        return {
            "ID": ex.id, "Running": ex.running, "ExitCode": ex.exit_code, "ProcessConfig": {
                "tty": bool(cfg.get("Tty")), "entrypoint": cfg["Cmd"][0], "arguments": cfg["Cmd"][1:],
                "privileged": bool(cfg.get("Privileged")), "user": cfg.get("User", "")},
            "OpenStdin": bool(cfg.get("AttachStdin")), "OpenStderr": bool(cfg.get("AttachStderr")),
            "OpenStdout": bool(cfg.get("AttachStdout")), "CanRemove": False, "ContainerID": ex.container_id,
            "DetachKeys": "", "Pid": ex.pid,
        }

    async def exec_resize(self, eid: str, h: int, w: int) -> None:
        ex = self.exec_get(eid)
        c = self.get(ex.container_id)
        if not ex.running:
            raise Conflict(f"Exec {eid} is not running")
        await monitor_client.request(self.sock(c), {"op": "resize", "height": h, "width": w, "exec_pid": ex.pid})

    # -- prune ----------------------------------------------------------------------------------------
    async def prune(self, f: Filters) -> dict[str, Any]:
        from ..filters import parse_timestamp

        until = min(parse_timestamp(v) for v in f["until"]) if "until" in f else None
        deleted = []
        reclaimed = 0
        for c in list(self.containers.values()):
            if c.running or c.status in ("paused", "restarting"):
                continue
            if until is not None and _created_ts(c.created) > until:
                continue
            labels = dict(c.config.get("Labels") or {})
            if "label" in f and not label_matches(labels, f["label"]):
                continue
            if "label!" in f and not label_matches(labels, f["label!"], negate=True):
                continue
            rw = (await asyncio.to_thread(self.sizes, c))[0]
            with contextlib.suppress(DockwrightError):
                await self.remove(c.id)
                deleted.append(c.id)
                reclaimed += rw
        self.d.events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed}


class WarmMonitors:
    """Monitors started ahead of need: a container start skips the interpreter's start-up.

    Each waits on a control pipe for its container's config; closing the pipe (daemon
    shutdown or crash) makes it exit. Kept small: a burst of starts spawns the rest cold.
    """

    def __init__(self, run_root: Path, size: int = 2) -> None:
        self.run_root = run_root
        self.size = size
        self.pool: list[tuple[int, int]] = []
        self._refilling = False

    def spawn(self) -> tuple[int, int]:
        ctl_r, ctl_w = os.pipe()
        rfd, wfd = os.pipe()
        os.set_inheritable(ctl_r, True)
        os.set_inheritable(wfd, True)
        try:
            with open(self.run_root / "monitors.log", "ab") as log_f:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "dockwright.runtime.monitor", "--warm", str(ctl_r), str(wfd)],
                    stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f, pass_fds=(ctl_r, wfd),
                    start_new_session=True, close_fds=True,
                )
            proc.wait()  # the launcher exits at once; the monitor waits, adopted by init
        finally:
            os.close(ctl_r)
            os.close(wfd)
        os.set_inheritable(ctl_w, False)
        os.set_inheritable(rfd, False)
        return ctl_w, rfd

    def take(self) -> tuple[int, int] | None:
        return self.pool.pop() if self.pool else None

    def refill_soon(self) -> None:
        if self._refilling or len(self.pool) >= self.size:
            return
        self._refilling = True

        async def refill() -> None:
            try:
                while len(self.pool) < self.size:
                    self.pool.append(await asyncio.to_thread(self.spawn))
            except OSError as exc:
                log.warning("cannot start a spare container monitor: %s", exc)
            finally:
                self._refilling = False

        task = asyncio.get_running_loop().create_task(refill())
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    def close(self) -> None:
        while self.pool:
            ctl_w, rfd = self.pool.pop()
            os.close(ctl_w)
            os.close(rfd)


_BACKGROUND: set[asyncio.Task[None]] = set()


def _builtin_call(argv: list[str]) -> tuple[int, bytes]:
    """Run a builtin-runtime command in this process; its log goes to a file we read back on failure."""
    import tempfile

    from ...runtime.builtin import cmd as builtin_cmd

    with tempfile.NamedTemporaryFile(prefix="dw-runtime-", suffix=".log") as logf:
        rc = builtin_cmd.main(["--log", logf.name, "--log-format", "json", *argv])
        text = Path(logf.name).read_bytes() if rc else b""
    return rc, text


_LinkNames = dict[str, list[str]]  # outside the class: its method ``list`` shadows the builtin there


def _validate_endpoints(networking: Any, hc: dict[str, Any]) -> None:
    """What ``--ip`` and ``--mac-address`` send; a fixed address needs a user network, as in dockerd."""
    endpoints = ((networking or {}).get("EndpointsConfig") or {}) if isinstance(networking, dict) else {}
    for ep in endpoints.values():
        ipam = (ep or {}).get("IPAMConfig") or {}
        if ipam.get("IPv4Address") or ipam.get("IPv6Address"):
            raise InvalidParameter("user specified IP address is supported on user defined networks only")
        mac = (ep or {}).get("MacAddress") or ""
        if mac and not re.fullmatch(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", mac):
            raise InvalidParameter(f"invalid MAC address: {mac}")


def _check_platform(ref: str, config: dict[str, Any], wanted: str) -> None:
    """``--platform`` on create names the platform the local image must be (dockerd 24+)."""
    from ...distribution.manifest import parse_platform

    want = parse_platform(wanted)
    have_os, have_arch = str(config.get("os") or "linux"), str(config.get("architecture") or "")
    if have_arch and (want.os, want.architecture) != (have_os, have_arch):
        raise NotFound(f"image with reference {ref} was found but does not match the specified platform: "
                       f"wanted {want.os}/{want.architecture}, actual: {have_os}/{have_arch}")


def _ports_match(wanted: list[str], have: Any) -> bool:
    """``publish=``/``expose=`` filters: ``80``, ``80/udp`` or ``8000-8080/tcp`` (tcp unless said)."""
    keys = {str(k) if "/" in str(k) else f"{k}/tcp" for k in have}
    for value in wanted:
        ports_s, _, proto = value.partition("/")
        lo_s, _, hi_s = ports_s.partition("-")
        if not lo_s.isdigit() or (hi_s and not hi_s.isdigit()):
            raise InvalidParameter(f"invalid port filter {value!r}: use PORT[-PORT][/PROTO]")
        lo, hi = int(lo_s), int(hi_s or lo_s)
        if any(f"{p}/{proto or 'tcp'}" in keys for p in range(lo, hi + 1)):
            return True
    return False


def _created_ts(ts: str) -> float:
    from ...images.imageconfig import parse_created

    return parse_created(ts)


def _tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n:].strip()
    except OSError:
        return ""


def _runtime_message(text: str) -> str:
    """The runtime's last meaningful line, prefixed as dockerd prefixes OCI errors."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    msg = lines[-1] if lines else "unknown error"
    try:
        obj = json.loads(msg)
        if isinstance(obj, dict) and "msg" in obj:
            msg = str(obj["msg"])
    except ValueError:
        pass
    if msg.startswith("time=") and 'msg="' in msg:
        msg = msg.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return f"failed to create shim task: OCI runtime create failed: {msg}: unknown"
