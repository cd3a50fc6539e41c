"""The engine: stores and services wired together for one data root.

Owns the process-wide pieces (metadata DB, content store, snapshotter, image
store, leases, event bus) and the services the API routes call. One daemon
per data root: ``lock()`` takes an exclusive flock on ``<root>/dockwright.lock``
and a second daemon on the same root says so and exits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from ..config import DaemonConfig
from ..content.store import ContentStore
from ..errors import FailedPrecondition
from ..images import gc
from ..images.store import ImageStore
from ..metadata.db import MetadataDB
from ..metadata.leases import LeaseManager
from .events import EventBus

log = logging.getLogger(__name__)


def overlay_supported(root: Path) -> bool:
    """Mount a tiny overlay under the data root: the only honest test."""
    try:
        with open("/proc/filesystems") as f:
            if "overlay" not in f.read():
                return False
    except OSError:
        return False
    probe = root / "tmp" / f"overlay-probe-{uuid.uuid4().hex[:8]}"
    try:
        for d in ("l", "u", "w", "m"):
            (probe / d).mkdir(parents=True)
        r = subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={probe / 'l'},upperdir={probe / 'u'},workdir={probe / 'w'}", str(probe / "m")],
            capture_output=True,
        )
        if r.returncode != 0:
            return False
        subprocess.run(["umount", str(probe / "m")], capture_output=True)
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


class Daemon:
    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.root = Path(config.data_root).absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self._lock_file: IO[str] | None = None
        self.events_listeners = 0
        self._gc_lock = threading.Lock()

    def lock(self) -> None:
        f = open(self.root / "dockwright.lock", "a+")  # noqa: SIM115 - held open: the flock lives with it
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            f.seek(0)
            other = f.read().strip()
            f.close()
            raise FailedPrecondition(
                f"another dockwright daemon (pid {other or '?'}) is using the data root {self.root}; "
                "stop it first or start this one with another --data-root"
            ) from exc
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock_file = f

    def open_stores(self) -> None:
        self.db = MetadataDB(self.root / "dockwright.db")
        self.content = ContentStore(self.root / "content")
        driver = self.config.storage_driver
        if driver in ("", "overlay2", "overlay") and overlay_supported(self.root):
            from ..snapshots.overlay import OverlaySnapshotter

            self.snapshotter: Any = OverlaySnapshotter(self.root / "snapshots")
            self.storage_driver_name = "overlay2"
        else:
            if driver in ("overlay2", "overlay"):
                log.warning("overlayfs is not available; using the copying snapshotter")
            from ..snapshots.native import NativeSnapshotter

            self.snapshotter = NativeSnapshotter(self.root / "snapshots")
            self.storage_driver_name = "native"
        self.image_store = ImageStore(self.db, self.content)
        self.leases = LeaseManager()
        self.events = EventBus()
        id_file = self.root / "engine-id"
        if not id_file.exists():
            id_file.write_text(str(uuid.uuid4()))
        self.engine_id = id_file.read_text().strip()
        from .containers.service import ContainerService
        from .images import ImageService
        from .networks import NetworkService
        from .system import SystemService

        self.images = ImageService(self)
        self.system = SystemService(self)
        self.containers = ContainerService(self)
        self.networks = NetworkService(self)  # started from a worker thread: pyroute2 runs its own loop
        from .distribution import DistributionService

        self.distribution = DistributionService(self)
        from .build import BuildService

        self.builds = BuildService(self)

    def startup_gc(self) -> None:
        """What a crash left behind (half loads, unfinished extracts, ingests) goes now."""
        stats = gc.collect(self.db, self.content, self.snapshotter, self.leases, startup=True)
        self.snapshotter.cleanup()
        shutil.rmtree(self.root / "tmp", ignore_errors=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        if stats.blobs or stats.snapshots or stats.layers:
            log.info("startup gc removed %d blobs, %d snapshots, %d layers", stats.blobs, stats.snapshots,
                     stats.layers)

    def collect_garbage(self) -> gc.GCStats:
        with self._gc_lock:
            return gc.collect(self.db, self.content, self.snapshotter, self.leases)

    def close(self) -> None:
        containers = getattr(self, "containers", None)
        if containers is not None:
            containers.warm.close()
        networks = getattr(self, "networks", None)
        if networks is not None:
            networks.close()
        try:
            self.db.close()
        except Exception:  # noqa: BLE001 - closing on the way out
            pass
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # -- small facts the services need --------------------------------------------
    def runtime_commands(self) -> dict[str, list[str]]:
        """Runtime name -> argv prefix: runc and crun when installed, our builtin one, daemon.json's."""
        out: dict[str, list[str]] = {}
        for name in ("runc", "crun"):
            p = shutil.which(name)
            if p:
                out[name] = [p]
        from ..runtime.ociruntime import builtin_argv

        out["dockwright"] = builtin_argv()
        for name, rc in self.config.runtimes.items():
            out[name] = [rc.path, *rc.args]
        return out

    def runtime_paths(self) -> dict[str, str]:
        return {name: " ".join(argv) for name, argv in self.runtime_commands().items()}

    # networking, delegated to the network service
    async def networks_connect(self, c: Any, ref: int | Path) -> None:
        await self.networks.connect(c, ref)

    async def networks_loopback(self, pid: int) -> None:
        await self.networks.loopback(pid)

    async def networks_disconnect(self, c: Any) -> None:
        await self.networks.disconnect(c)

    def network_settings(self, c: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.networks.settings(c)
        return result

    def backing_fs(self) -> str:
        try:
            best = ("", "")
            with open("/proc/mounts") as f:
                lines = f.readlines()
            for line in lines:
                parts = line.split()
                mnt = parts[1]
                if str(self.root).startswith(mnt) and len(mnt) > len(best[0]):
                    best = (mnt, parts[2])
            return {"ext4": "extfs", "ext3": "extfs", "ext2": "extfs"}.get(best[1], best[1]) or "unknown"
        except OSError:
            return "unknown"

    def layer_dirs(self, chains: list[str]) -> list[str]:
        fs_dir = getattr(self.snapshotter, "diff_dir", None)
        if fs_dir is None:
            return []
        try:
            return [str(fs_dir(c)) for c in chains]
        except Exception:  # noqa: BLE001 - informational only
            return []

    def container_summaries_for_df(self) -> list[dict[str, Any]]:
        out = []
        for c in list(self.containers.containers.values()):
            s = self.containers.summary(c)
            s["SizeRw"] = 0
            s["SizeRootFs"] = 0
            out.append(s)
        return out
