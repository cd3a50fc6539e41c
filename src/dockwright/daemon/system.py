"""``/info``, ``/version``, ``/system/df`` and the store check: what the engine knows about itself."""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import time
from typing import TYPE_CHECKING, Any

from .. import API_VERSION, MIN_API_VERSION, __version__
from ..images import gc
from ..images.imageconfig import go_arch
from ..oci.digest import Digest

if TYPE_CHECKING:
    from .daemon import Daemon


def _os_release_field(key: str, default: str) -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1].strip().strip('"')
    return default


def _mem_total() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


class SystemService:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon

    def version(self) -> dict[str, Any]:
        kernel = platform.release()
        details = {
            "ApiVersion": API_VERSION,
            "Arch": go_arch(),
            "BuildTime": "",
            "Experimental": "false",
            "GitCommit": "",
            "GoVersion": "python" + platform.python_version(),
            "KernelVersion": kernel,
            "MinAPIVersion": MIN_API_VERSION,
            "Os": "linux",
        }
        return {
            "Platform": {"Name": "dockwright"},
            "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
            "Version": __version__,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "",
            "GoVersion": "python" + platform.python_version(),
            "Os": "linux",
            "Arch": go_arch(),
            "KernelVersion": kernel,
            "BuildTime": "",
        }

    def _counts(self) -> dict[str, int]:
        with self.d.db.tx() as conn:
            images = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            rows = conn.execute("SELECT state, COUNT(*) FROM containers GROUP BY state").fetchall()
        states = {r[0]: r[1] for r in rows}
        running = states.get("running", 0) + states.get("restarting", 0)
        paused = states.get("paused", 0)
        total = sum(states.values())
        return {"images": images, "containers": total, "running": running, "paused": paused,
                "stopped": total - running - paused}

    async def info(self) -> dict[str, Any]:
        tasks = len(asyncio.all_tasks())
        result: dict[str, Any] = await asyncio.to_thread(self._info_sync, tasks)
        return result

    def _info_sync(self, tasks: int) -> dict[str, Any]:
        c = self._counts()
        cfg = self.d.config
        runtimes = {name: {"path": path} for name, path in self.d.runtime_paths().items()}
        insecure = ["127.0.0.0/8", *[r for r in cfg.insecure_registries if "/" in r]]
        index_configs: dict[str, Any] = {
            "docker.io": {"Name": "docker.io", "Mirrors": list(cfg.registry_mirrors), "Secure": True,
                          "Official": True},
        }
        for r in cfg.insecure_registries:
            if "/" not in r:
                index_configs[r] = {"Name": r, "Mirrors": [], "Secure": False, "Official": False}
        security = ["name=seccomp,profile=builtin"]
        if cgroup_version() == "2":
            security.append("name=cgroupns")
        warnings: list[str] = []
        if self.d.storage_driver_name != "overlay2":
            warnings.append(
                "WARNING: overlayfs is not available here; the copying snapshotter is used (slower, more disk)"
            )
        driver_status = [["Backing Filesystem", self.d.backing_fs()], ["Supports d_type", "true"],
                         ["Using metacopy", "false"], ["Native Overlay Diff", "true"], ["userxattr", "false"]]
        if self.d.storage_driver_name != "overlay2":
            driver_status = [["Backing Filesystem", self.d.backing_fs()]]
        return {
            "ID": self.d.engine_id,
            "Containers": c["containers"],
            "ContainersRunning": c["running"],
            "ContainersPaused": c["paused"],
            "ContainersStopped": c["stopped"],
            "Images": c["images"],
            "Driver": self.d.storage_driver_name,
            "DriverStatus": driver_status,
            "DockerRootDir": str(self.d.root),
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "null"],
                "Authorization": [],
                "Log": ["json-file"],
            },
            "MemoryLimit": True,
            "SwapLimit": os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
            or cgroup_version() == "2",
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "OomKillDisable": cgroup_version() == "1",
            "IPv4Forwarding": _read("/proc/sys/net/ipv4/ip_forward") == "1",
            "BridgeNfIptables": False,
            "BridgeNfIp6tables": False,
            "Debug": cfg.debug,
            "NFd": len(os.listdir("/proc/self/fd")),
            "NGoroutines": tasks,
            "SystemTime": _now_rfc3339(),
            "LoggingDriver": cfg.log_driver,
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": cgroup_version(),
            "NEventsListener": self.d.events_listeners,
            "KernelVersion": platform.release(),
            "OperatingSystem": _os_release_field("PRETTY_NAME", "Linux"),
            "OSVersion": _os_release_field("VERSION_ID", ""),
            "OSType": "linux",
            "Architecture": platform.machine(),
            "NCPU": os.cpu_count() or 1,
            "MemTotal": _mem_total(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": [],
                "AllowNondistributableArtifactsHostnames": [],
                "InsecureRegistryCIDRs": insecure,
                "IndexConfigs": index_configs,
                "Mirrors": list(cfg.registry_mirrors),
            },
            "GenericResources": [],
            "HttpProxy": os.environ.get("HTTP_PROXY", os.environ.get("http_proxy", "")),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", os.environ.get("https_proxy", "")),
            "NoProxy": os.environ.get("NO_PROXY", os.environ.get("no_proxy", "")),
            "Name": socket.gethostname(),
            "Labels": list(cfg.labels),
            "ExperimentalBuild": False,
            "ServerVersion": __version__,
            "Runtimes": runtimes,
            "DefaultRuntime": cfg.default_runtime,
            "Swarm": {
                "NodeID": "",
                "NodeAddr": "",
                "LocalNodeState": "inactive",
                "ControlAvailable": False,
                "Error": "",
                "RemoteManagers": [],
            },
            "LiveRestoreEnabled": True,
            "Isolation": "",
            "InitBinary": "",
            "ContainerdCommit": {"ID": "", "Expected": ""},
            "RuncCommit": {"ID": "", "Expected": ""},
            "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": security,
            "CDISpecDirs": [],
            "Warnings": warnings,
        }

    def _df_sync(self, types: set[str], images_svc: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        def want(t: str) -> bool:
            return not types or t in types

        if want("image"):
            imgs = images_svc._list_sync(True, {}, True)
            with self.d.db.tx() as conn:
                layers_size = conn.execute("SELECT COALESCE(SUM(size), 0) FROM layers").fetchone()[0]
            out["LayersSize"] = layers_size
            out["Images"] = imgs
        if want("container"):
            out["Containers"] = self.d.container_summaries_for_df()
        if want("volume"):
            out["Volumes"] = []
        if want("build-cache"):
            builds = getattr(self.d, "builds", None)
            out["BuildCache"] = builds.df_sync() if builds is not None else []
            out["BuilderSize"] = sum(int(b["Size"]) for b in out["BuildCache"] if not b["Shared"])
        return out

    async def df(self, types: set[str]) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(self._df_sync, types, self.d.images)
        return result

    def _check_sync(self, remove: bool) -> dict[str, Any]:
        errors: list[str] = []
        orphans: list[str] = []
        blobs = 0
        for info in list(self.d.content.walk()):
            blobs += 1
            if not self.d.content.verify(Digest(info.digest)):
                errors.append(f"blob {info.digest}: content does not match its digest")
        with self.d.db.tx() as conn:
            for r in conn.execute("SELECT id FROM images"):
                if not self.d.content.exists(Digest(r[0])):
                    errors.append(f"image {r[0]}: config blob is missing")
            layer_rows = conn.execute("SELECT chain_id, diff_id FROM layers").fetchall()
            blob_rows = conn.execute("SELECT diff_id, digest FROM layer_blobs").fetchall()
            il = conn.execute(
                "SELECT image_id, chain_id FROM image_layers WHERE chain_id NOT IN (SELECT chain_id FROM layers)"
            ).fetchall()
        snaps = {s.name for s in self.d.snapshotter.walk()}
        with_blob = {d for d, _ in blob_rows}
        for chain, diff_id in layer_rows:
            # a layer kept as its blob only (a build's imported cache) is unpacked on first use
            if chain not in snaps and diff_id not in with_blob:
                errors.append(f"layer {chain}: snapshot is missing")
        for diff_id, digest in blob_rows:
            if not self.d.content.exists(Digest(digest)):
                errors.append(f"layer {diff_id}: blob {digest} is missing")
        for image_id, chain in il:
            errors.append(f"image {image_id}: layer {chain} has no row")
        # orphans: what GC would take
        pinned_blobs, pinned_snaps = self.d.leases.pinned()
        live = gc.live_chains(self.d.db, pinned_snaps)
        with self.d.db.tx() as conn:
            live_blobs = {r[0] for r in conn.execute("SELECT id FROM images")}
            live_blobs |= {r[0] for r in conn.execute("SELECT digest FROM layer_blobs")}
            live_blobs |= {r[0] for r in conn.execute("SELECT manifest_digest FROM images")}
            live_blobs |= {r[0] for r in conn.execute("SELECT digest FROM blobs_extra")}
        for info in self.d.content.walk():
            if info.digest not in live_blobs and info.digest not in pinned_blobs:
                orphans.append(f"blob {info.digest}")
        for s in self.d.snapshotter.walk():
            kind = getattr(s.kind, "name", str(s.kind))
            if kind == "COMMITTED" and s.name not in live:
                orphans.append(f"snapshot {s.name}")
        for p in self.d.snapshotter.orphans():
            orphans.append(f"directory {p.name} in snapshots")
        for ing in self.d.content.ingests():
            if not self.d.leases.active():
                orphans.append(f"ingest {ing.ref}")
        removed = 0
        if remove and orphans:
            self.d.collect_garbage()
            self.d.snapshotter.cleanup()
            if not self.d.leases.active():
                for ing in self.d.content.ingests():
                    self.d.content.abort(ing.ref)
            removed = len(orphans)
        return {"Blobs": blobs, "Errors": errors, "Orphans": orphans, "Removed": removed}

    async def check(self, remove: bool) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(self._check_sync, remove)
        return result


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e9):09d}Z"
