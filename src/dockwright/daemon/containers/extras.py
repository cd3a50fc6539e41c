"""Container operations beside the lifecycle: top, stats, cp, diff, export, commit, update.

Functions over the ``ContainerService`` (its records, runtime and snapshotter)
so they stay out of the state machine: they read a container's state and
never change it, except ``update`` (HostConfig) and ``commit`` (a new image).
File work (tars, walks, /proc) runs in worker threads; a stopped container's
root is mounted on a temporary directory for the length of the operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import stat
import subprocess
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from ...errors import Conflict, DockwrightError, Forbidden, Internal, InvalidParameter
from ..streams import BodyReader, ChunkWriter
from . import archive
from .model import ZERO_TIME, Container, now_rfc3339, pid_alive

if TYPE_CHECKING:
    from .service import ContainerService

T = TypeVar("T")

# paths dockerd never reports in `docker diff`: mount points the engine or the runtime puts there
_DIFF_HIDDEN = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev", "/proc", "/sys", "/.dockerenv")


def cgroup_path(c: Container) -> str:
    return f"/dockwright/{c.id}"


# -- rootfs access -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _rootfs(svc: ContainerService, c: Container, *, with_mounts: bool = False) -> Iterator[Path]:
    """The container's root: the live mount while it runs, else a temporary mount of its snapshot.

    ``with_mounts``: a running container's root as its processes see it (``/proc/<pid>/root``), so
    that ``docker cp`` reaches its volumes, binds and tmpfs mounts as dockerd's does.
    """
    from ...snapshots.mount import is_mounted, temp_mount

    pid = int(c.state.get("Pid") or 0)
    if with_mounts and c.running and pid and os.path.isdir(f"/proc/{pid}/root/"):
        yield Path(f"/proc/{pid}/root")
        return
    live = svc.cdir(c) / "rootfs"
    if (c.running or c.status == "paused") and is_mounted(live):
        yield live
        return
    with temp_mount(svc.d.snapshotter.mounts(c.id), base=svc.cdir(c)) as d:
        yield d


@contextlib.asynccontextmanager
async def _hold(svc: ContainerService, c: Container) -> AsyncIterator[None]:
    """A stopped container's lock, so that a start cannot mount its layer a second time meanwhile."""
    if c.running or c.status == "paused":
        yield
        return
    async with svc.locks[c.id]:
        yield


async def _in_rootfs(svc: ContainerService, c: Container, fn: Callable[[Path], T]) -> T:
    def run() -> T:
        with _rootfs(svc, c, with_mounts=True) as root:
            return fn(root)

    async with _hold(svc, c):
        return await asyncio.to_thread(run)


# -- top ---------------------------------------------------------------------------------------------------
def container_pids(c: Container) -> list[int]:
    from ...runtime.cgroups import Cgroup

    try:
        pids = Cgroup.for_path(cgroup_path(c)).pids()
    except (OSError, ValueError):
        pids = []
    if not pids and c.state.get("Pid"):
        pids = [int(c.state["Pid"])]
    return sorted(set(pids))


async def top(svc: ContainerService, ref: str, ps_args: str = "") -> dict[str, Any]:
    c = svc.get(ref)
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    if c.status == "restarting":
        raise Conflict(f"Container {c.id} is restarting, wait until the container is running")
    args = ps_args.split() if ps_args.strip() else ["-ef"]
    pids = await asyncio.to_thread(container_pids, c)
    try:
        r = await asyncio.create_subprocess_exec("ps", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise Internal("ps is not installed on the host: install procps") from exc
    out, err = await r.communicate()
    if r.returncode != 0:
        first = err.decode(errors="replace").strip().split("\n", 1)[0]  # the line saying why, as dockerd shows
        raise Internal(f"ps: {first}" if first else f"Error running ps: exit status {r.returncode}")
    return parse_ps(out.decode(errors="replace"), set(pids))


def parse_ps(output: str, pids: set[int]) -> dict[str, Any]:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    if not lines:
        return {"Titles": [], "Processes": []}
    titles = lines[0].split()
    if "PID" not in titles:
        raise Internal("Couldn't find PID field in ps output")
    col = titles.index("PID")
    procs: list[list[str]] = []
    for ln in lines[1:]:
        fields = ln.split(None, len(titles) - 1)
        try:
            pid = int(fields[col])
        except (IndexError, ValueError) as exc:
            raise Internal(f"Unexpected pid '{fields[col] if col < len(fields) else ''}'") from exc
        if pid in pids:
            procs.append(fields)
    return {"Titles": titles, "Processes": procs}


# -- stats -------------------------------------------------------------------------------------------------
_ZERO_CPU: dict[str, Any] = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                             "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
_BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
               "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
               "sectors_recursive")


def _system_cpu_ns() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * (1_000_000_000 // (os.sysconf("SC_CLK_TCK") or 100))


def _host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _networks(pid: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return out
    for line in lines:
        name, _, rest = line.partition(":")
        name = name.strip()
        v = [int(x) for x in rest.split()]
        if name == "lo" or len(v) < 12:
            continue
        out[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                     "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11]}
    return out


def zero_stats(c: Container) -> dict[str, Any]:
    return {"read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {},
            "blkio_stats": {k: [] for k in _BLKIO_KEYS}, "num_procs": 0, "storage_stats": {},
            "cpu_stats": json.loads(json.dumps(_ZERO_CPU)), "precpu_stats": json.loads(json.dumps(_ZERO_CPU)),
            "memory_stats": {}, "name": "/" + c.name, "id": c.id}


def sample(c: Container) -> dict[str, Any]:
    """One stats sample of a running container, in Docker's ``cpu_stats``/``memory_stats``/... shape."""
    from ...runtime.cgroups import Cgroup

    cg = Cgroup.for_path(cgroup_path(c))
    s = cg.stats()
    out = zero_stats(c)
    out["read"] = now_rfc3339()
    out["pids_stats"] = {"current": s.pids_current}
    if s.pids_limit:
        out["pids_stats"]["limit"] = s.pids_limit
    blk = []
    if s.blkio_read_bytes or s.blkio_write_bytes:
        blk = [{"major": 0, "minor": 0, "op": "read", "value": s.blkio_read_bytes},
               {"major": 0, "minor": 0, "op": "write", "value": s.blkio_write_bytes}]
    out["blkio_stats"]["io_service_bytes_recursive"] = blk
    cpu: dict[str, Any] = {"total_usage": s.cpu_usage_ns, "usage_in_kernelmode": s.cpu_system_ns,
                           "usage_in_usermode": s.cpu_user_ns}
    if s.cpu_percpu_ns:
        cpu["percpu_usage"] = s.cpu_percpu_ns
    out["cpu_stats"] = {"cpu_usage": cpu, "system_cpu_usage": _system_cpu_ns(),
                        "online_cpus": len(s.cpu_percpu_ns) or os.cpu_count() or 1,
                        "throttling_data": {"periods": 0, "throttled_periods": s.throttled_periods,
                                            "throttled_time": s.throttled_ns}}
    limit = s.memory_limit if s.memory_limit else _host_memory()
    out["memory_stats"] = {"usage": s.memory_usage, "stats": dict(s.memory_stat), "limit": limit}
    if not cg.v2:
        out["memory_stats"]["max_usage"] = s.memory_max_usage
    pid = int(c.state.get("Pid") or 0)
    nets = _networks(pid) if pid and (c.host_config.get("NetworkMode") or "default") != "host" else {}
    if nets:
        out["networks"] = nets
    return out


def _sample_or_zero(c: Container) -> dict[str, Any]:
    if not c.running:
        return zero_stats(c)
    try:
        return sample(c)
    except (OSError, ValueError):
        return zero_stats(c)  # exited between the check and the read


def _with_pre(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    if prev is not None:
        cur["preread"] = prev["read"]
        cur["precpu_stats"] = prev["cpu_stats"]
    return cur


async def stats(svc: ContainerService, ref: str, *, stream: bool,
                one_shot: bool) -> AsyncGenerator[dict[str, Any], None]:
    """Samples, one per second while ``stream``; a single one otherwise (two reads a second apart
    unless ``one_shot``, so that CPU percentages can be computed, as dockerd does)."""
    c = svc.get(ref)

    async def gen() -> AsyncGenerator[dict[str, Any], None]:
        prev: dict[str, Any] | None = None
        if not stream:
            if not c.running:
                yield zero_stats(c)
                return
            if not one_shot:
                prev = await asyncio.to_thread(_sample_or_zero, c)
                await asyncio.sleep(1)
            yield _with_pre(await asyncio.to_thread(_sample_or_zero, c), prev)
            return
        while c.id in svc.containers:
            cur = await asyncio.to_thread(_sample_or_zero, c)
            yield _with_pre(cur, prev if cur["read"] != ZERO_TIME else None)
            prev = cur if cur["read"] != ZERO_TIME else None
            await asyncio.sleep(1)

    return gen()


# -- changes (docker diff) ----------------------------------------------------------------------------------
def _hidden(path: str) -> bool:
    return any(path == h or path.startswith(h + "/") for h in _DIFF_HIDDEN)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _in_lowers(lowers: list[str], rel: str) -> bool:
    for low in lowers:
        try:
            os.lstat(os.path.join(low, rel))
            return True
        except OSError:
            continue
    return False


def overlay_changes(upper: Path, lowers: list[Path]) -> list[dict[str, Any]]:
    """Kind 0 modified, 1 added, 2 deleted, from an overlay upper dir (whiteouts, opaque dirs)."""
    low = [os.fspath(p) for p in lowers]
    out: list[dict[str, Any]] = []

    def walk(d: str, rel: str) -> bool:
        """Records the changes under ``d``; whether anything visible was recorded."""
        shown = False
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            r = f"{rel}/{e.name}"
            st = e.stat(follow_symlinks=False)
            if _hidden(r):
                continue
            if _is_whiteout(st):
                out.append({"Path": r, "Kind": 2})
                shown = True
                continue
            existed = _in_lowers(low, r.lstrip("/"))
            idx = len(out)
            out.append({"Path": r, "Kind": 0 if existed else 1})
            below = stat.S_ISDIR(st.st_mode) and walk(e.path, r)
            if stat.S_ISDIR(st.st_mode) and not below and _only_hidden(e.path, r):
                out.pop(idx)  # copied up only for the engine's mount points
                continue
            shown = True
        return shown

    walk(os.fspath(upper), "")
    return out


def _only_hidden(d: str, rel: str) -> bool:
    with os.scandir(d) as it:
        names = [e.name for e in it]
    return bool(names) and all(_hidden(f"{rel}/{n}") for n in names)


def native_changes(upper: Path, lowers: list[Path]) -> list[dict[str, Any]]:
    """The same from a full copy (the copying snapshotter): compare with the parent's tree."""
    out: list[dict[str, Any]] = []
    parent = os.fspath(lowers[0]) if lowers else ""

    def walk(u: str, lo: str, rel: str) -> None:
        unames = set(os.listdir(u)) if u else set()
        lnames = set(os.listdir(lo)) if lo and os.path.isdir(lo) and not os.path.islink(lo) else set()
        for n in sorted(unames | lnames):
            r = f"{rel}/{n}"
            if _hidden(r):
                continue
            up, lp = os.path.join(u, n), os.path.join(lo, n) if lo else ""
            if n not in unames:
                out.append({"Path": r, "Kind": 2})
                continue
            ust = os.lstat(up)
            if n not in lnames:
                out.append({"Path": r, "Kind": 1})
                if stat.S_ISDIR(ust.st_mode):
                    idx = len(out)
                    walk(up, "", r)
                    if len(out) == idx and _only_hidden(up, r):
                        out.pop()  # made only for the engine's mount points
                continue
            lst = os.lstat(lp)
            idx = len(out)
            changed = (ust.st_mode, ust.st_uid, ust.st_gid) != (lst.st_mode, lst.st_uid, lst.st_gid) or (
                not stat.S_ISDIR(ust.st_mode) and (ust.st_size, ust.st_mtime_ns) != (lst.st_size, lst.st_mtime_ns))
            if changed:
                out.append({"Path": r, "Kind": 0})
            if stat.S_ISDIR(ust.st_mode):
                walk(up, lp if stat.S_ISDIR(lst.st_mode) else "", r)
                if not changed and len(out) > idx:
                    out.insert(idx, {"Path": r, "Kind": 0})  # a directory whose entries changed, as overlay shows

    walk(os.fspath(upper), parent, "")
    return out


async def changes(svc: ContainerService, ref: str) -> list[dict[str, Any]]:
    c = svc.get(ref)
    sn = svc.d.snapshotter

    def run() -> list[dict[str, Any]]:
        upper, lowers = sn.upper_dir(c.id), sn.lower_dirs(c.id)
        if sn.whiteout_format() == "overlay":
            return overlay_changes(upper, lowers)
        return native_changes(upper, lowers)

    return await asyncio.to_thread(run)


# -- export / archive ------------------------------------------------------------------------------------------
def _produce(svc: ContainerService, c: Container, write: Callable[[Path, BinaryIO], None], *,
             with_mounts: bool = False) -> AsyncIterator[bytes]:
    """Run ``write(root, sink)`` in a worker and stream what it writes."""
    loop = asyncio.get_running_loop()
    cw = ChunkWriter(loop)

    def run() -> None:
        try:
            with _rootfs(svc, c, with_mounts=with_mounts) as root:
                write(root, cw)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            with contextlib.suppress(BrokenPipeError):
                cw.finish(exc)
            return
        with contextlib.suppress(BrokenPipeError):
            cw.finish()

    async def gen() -> AsyncIterator[bytes]:
        async with _hold(svc, c):
            fut = loop.run_in_executor(None, run)
            try:
                async for chunk in cw.chunks():
                    yield chunk
            finally:
                cw.abandon()
                with contextlib.suppress(BaseException):
                    await fut

    return gen()


async def export(svc: ContainerService, ref: str) -> AsyncIterator[bytes]:
    from ...diff.tarwrite import write_tree

    c = svc.get(ref)
    if c.status == "removing":
        raise Conflict(f"cannot export container {c.id}: container is being removed")
    svc.d.events.publish("container", "export", c.id, {"image": c.image_name, "name": c.name})
    return _produce(svc, c, lambda root, out: (write_tree(root, out), None)[1])


async def archive_stat(svc: ContainerService, ref: str, path: str) -> dict[str, object]:
    c = svc.get(ref)
    _check_path(path)
    _host, info = await _in_rootfs(svc, c, lambda root: archive.stat_path(root, path, ref))
    return info


def _check_path(path: str) -> None:
    if not path:
        raise InvalidParameter("path must not be empty: give the path of a file or directory in the container")


async def archive_get(svc: ContainerService, ref: str, path: str) -> tuple[dict[str, object], AsyncIterator[bytes]]:
    """The path's stat (for the header, checked first so a 404 can still be sent) and its tar."""
    c = svc.get(ref)
    _check_path(path)
    info = await archive_stat(svc, ref, path)
    name = str(info["name"])

    def write(root: Path, out: BinaryIO) -> None:
        host, _ = archive.stat_path(root, path, ref)
        archive.write_archive(host, name, out)

    svc.d.events.publish("container", "archive-path", c.id, {"image": c.image_name, "name": c.name})
    return info, _produce(svc, c, write, with_mounts=True)


async def archive_put(svc: ContainerService, ref: str, path: str, read: Callable[[int], Any], *,
                      no_overwrite_dir_non_dir: bool, copy_uid_gid: bool) -> None:
    c = svc.get(ref)
    _check_path(path)
    if c.host_config.get("ReadonlyRootfs") and not c.running:
        raise Forbidden("container rootfs is marked read-only")  # running: checked on the path's own mount
    body = BodyReader(read, asyncio.get_running_loop())

    def run(root: Path) -> None:
        archive.extract_into(root, path, ref, body, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir,  # type: ignore[arg-type]
                             copy_uid_gid=copy_uid_gid, spool_dir=svc.cdir(c))

    await _in_rootfs(svc, c, run)
    svc.d.events.publish("container", "extract-to-dir", c.id, {"image": c.image_name, "name": c.name})


# -- update ------------------------------------------------------------------------------------------------------
_UPDATABLE_INTS = ("Memory", "MemorySwap", "MemoryReservation", "KernelMemory", "CpuShares", "NanoCpus",
                   "CpuQuota", "CpuPeriod", "CpuRealtimePeriod", "CpuRealtimeRuntime", "PidsLimit",
                   "BlkioWeight")


async def update(svc: ContainerService, ref: str, body: Any) -> dict[str, Any]:
    from ...runtime import spec as S
    from .service import RESTART_POLICIES

    c = svc.get(ref)
    if not isinstance(body, dict):
        raise InvalidParameter("update config must be a JSON object")
    for k in _UPDATABLE_INTS:
        v = body.get(k)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise InvalidParameter(f"{k} must be an integer")
    for k in ("CpusetCpus", "CpusetMems"):
        if body.get(k) is not None and not isinstance(body[k], str):
            raise InvalidParameter(f"{k} must be a string")
    rp = body.get("RestartPolicy")
    if rp is not None and not isinstance(rp, dict):
        raise InvalidParameter("RestartPolicy must be an object")
    prefix = f"Cannot update container {c.id}: "
    mem = body.get("Memory") or 0
    if mem and mem < 6 << 20:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    swap = body.get("MemorySwap") or 0
    if mem and swap > 0 and swap < mem:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if rp and rp.get("Name") not in RESTART_POLICIES:
        raise InvalidParameter(f"invalid restart policy '{rp.get('Name')}'")
    if rp and rp.get("MaximumRetryCount") and rp.get("Name") != "on-failure":
        raise InvalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'")
    nano = body.get("NanoCpus") or 0
    if nano and nano > (os.cpu_count() or 1) * 1_000_000_000:
        raise InvalidParameter(f"Range of CPUs is from 0.01 to {os.cpu_count()}.00, as there are only "
                               f"{os.cpu_count()} CPUs available")
    async with svc.locks[c.id]:
        hc = dict(c.host_config)
        if c.status == "removing":
            raise Conflict(prefix + "container is marked for removal and cannot be \"update\"")
        if rp and rp.get("Name") not in ("", "no") and hc.get("AutoRemove"):
            raise InvalidParameter(prefix + "Restart policy cannot be updated because AutoRemove is enabled "
                                   "for the container")
        if nano and (hc.get("CpuQuota") or hc.get("CpuPeriod")) and not body.get("CpuQuota"):
            raise Conflict(prefix + "Conflicting options: Nano CPUs cannot be updated as CPU Period/Quota has "
                           "already been set")
        if (body.get("CpuQuota") or body.get("CpuPeriod")) and hc.get("NanoCpus") and not nano:
            raise Conflict(prefix + "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already "
                           "been set")
        old_swap = int(hc.get("MemorySwap") or 0)
        if mem and not swap and old_swap > 0 and mem > old_swap and hc.get("Memory"):
            raise Conflict(prefix + "Memory limit should be smaller than already set memoryswap limit, update "
                           "the memoryswap at the same time")
        for k in (*_UPDATABLE_INTS, "CpusetCpus", "CpusetMems"):
            if body.get(k):
                hc[k] = body[k]
        if body.get("PidsLimit") is not None:
            hc["PidsLimit"] = body["PidsLimit"] if body["PidsLimit"] > 0 else 0  # 0 and -1: unlimited
        if mem and not swap and not (old_swap > 0 and c.host_config.get("Memory") and old_swap >= mem) \
                and old_swap != -1:
            hc["MemorySwap"] = mem * 2  # dockerd's default: as much swap as memory
        resources_changed = any(body.get(k) is not None for k in (*_UPDATABLE_INTS, "CpusetCpus", "CpusetMems"))
        if rp:
            hc["RestartPolicy"] = {"Name": rp.get("Name") or "no",
                                   "MaximumRetryCount": int(rp.get("MaximumRetryCount") or 0)}
        if resources_changed and (c.running or c.status == "paused"):
            spec: dict[str, Any] = {}
            cfg_nano = int(hc.get("NanoCpus") or 0)
            try:
                S.with_resources(
                    memory=hc.get("Memory") or None, memory_swap=hc.get("MemorySwap") or None,
                    memory_reservation=hc.get("MemoryReservation") or None, cpu_shares=hc.get("CpuShares") or None,
                    cpus=(cfg_nano / 1e9) if cfg_nano else None, cpu_quota=hc.get("CpuQuota") or None,
                    cpu_period=hc.get("CpuPeriod") or None, cpuset_cpus=hc.get("CpusetCpus") or None,
                    cpuset_mems=hc.get("CpusetMems") or None, pids_limit=hc.get("PidsLimit") or None,
                    blkio_weight=hc.get("BlkioWeight") or None,
                )(spec)
            except InvalidParameter as exc:
                raise InvalidParameter(prefix + str(exc)) from exc
            res = spec.get("linux", {}).get("resources", {})
            if body.get("PidsLimit") is not None:
                res["pids"] = {"limit": hc["PidsLimit"] or -1}
            fname = await asyncio.to_thread(_write_resources, svc.cdir(c), res)
            try:
                try:
                    await svc._runtime("update", "--resources", fname, c.id, runtime=c.runtime)
                except DockwrightError as exc:
                    msg = str(exc).split("OCI runtime create failed: ", 1)[-1].removesuffix(": unknown")
                    raise InvalidParameter(prefix + msg) from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(fname)
        c.host_config = hc
        await svc._save(c)
    svc.d.events.publish("container", "update", c.id, {"image": c.image_name, "name": c.name})
    return {"Warnings": []}


def _write_resources(d: Path, res: dict[str, Any]) -> str:
    fd, fname = tempfile.mkstemp(prefix="update-", suffix=".json", dir=d)
    with os.fdopen(fd, "w") as f:
        json.dump(res, f)
    return fname


# -- commit ------------------------------------------------------------------------------------------------------
def _merge_config(container_cfg: dict[str, Any], user: Any) -> dict[str, Any]:
    """dockerd's merge: what the request's config sets wins, the container's config fills the rest."""
    cfg: dict[str, Any] = json.loads(json.dumps(container_cfg))
    if isinstance(user, dict):
        for k, v in user.items():
            if v not in (None, "", [], {}, 0, False):
                cfg[k] = v
    return cfg


async def commit(svc: ContainerService, *, container: str, repo: str, tag: str, comment: str, author: str,
                 pause: bool, changes: list[str], config: Any) -> dict[str, str]:
    from ...images.changes import apply_changes
    from ...oci.reference import ReferenceError, parse_reference, valid_tag

    if config is not None and not isinstance(config, dict):
        raise InvalidParameter("the commit's container config must be a JSON object")
    c = svc.get(container)
    if c.status == "removing":
        raise Conflict(f"cannot commit container {c.id}: container is marked for removal")
    refs = []
    if repo:
        if tag and not valid_tag(tag):
            raise InvalidParameter(f"invalid tag format: {tag!r}")
        try:
            ref = parse_reference(f"{repo}:{tag}" if tag else repo)
        except ReferenceError as exc:
            raise InvalidParameter(f"invalid reference format: {exc}") from exc
        if ref.digest:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        refs.append(ref)
    elif tag:
        raise InvalidParameter("tag without a repository: give repo too")
    cfg = _merge_config(c.config, config)
    try:
        apply_changes(cfg, changes)
    except DockwrightError:
        raise
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from exc
    paused = False
    if pause and c.running and c.status != "paused":
        try:
            await svc._runtime("pause", c.id, runtime=c.runtime)
            paused = True
        except DockwrightError:
            # its process ended a moment ago (the exit is being recorded): nothing left to freeze
            if pid_alive(int(c.state.get("Pid") or 0)):
                raise
    try:
        image_id = await asyncio.to_thread(_commit_sync, svc, c, cfg, comment, author, refs)
    finally:
        if paused:
            with contextlib.suppress(DockwrightError):
                await svc._runtime("resume", c.id, runtime=c.runtime)
    attrs = {"comment": comment, "imageID": image_id, "image": c.image_name, "name": c.name}
    if refs:
        attrs["imageRef"] = refs[0].familiar()
    svc.d.events.publish("container", "commit", c.id, attrs)
    for r in refs:
        svc.d.events.publish("image", "tag", image_id, {"name": r.familiar()})
    return {"Id": image_id}


def _drop_mountpoints(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy a layer tar without the engine's mount points (dockerd keeps them in an init layer,
    so they never reach a commit)."""
    import tarfile

    with tarfile.open(fileobj=src, mode="r|") as tin, \
            tarfile.open(fileobj=dst, mode="w|", format=tarfile.PAX_FORMAT) as tout:
        for m in tin:
            if _hidden("/" + m.name.strip("/")):
                continue
            tout.addfile(m, tin.extractfile(m) if m.isreg() else None)


def _commit_sync(svc: ContainerService, c: Container, cfg: dict[str, Any], comment: str, author: str,
                 refs: list[Any]) -> str:
    from ...diff.tarwrite import write_diff
    from ...images.imageconfig import encode, now_rfc3339
    from ...images.unpack import unpack_layer

    d = svc.d
    sn = d.snapshotter
    parent = d.image_store.by_id(c.image_id)
    pcfg = json.loads(parent.config_bytes)
    created_by = " ".join(c.config.get("Cmd") or [])  # the container's Cmd, as dockerd writes it
    with d.leases.hold() as lease, tempfile.TemporaryFile(dir=svc.cdir(c)) as raw, \
            tempfile.TemporaryFile(dir=svc.cdir(c)) as spool:
        write_diff(sn.upper_dir(c.id), raw, whiteouts=sn.whiteout_format(), lower=sn.lower_dirs(c.id))  # type: ignore[arg-type, unused-ignore]
        raw.seek(0)
        _drop_mountpoints(raw, spool)  # type: ignore[arg-type, unused-ignore]
        spool.seek(0)
        layer, blob = unpack_layer(d.image_store, d.content, sn, spool, parent.top_chain)  # type: ignore[arg-type, unused-ignore]
        lease.snapshots.add(layer.chain_id)
        lease.blobs.add(blob[0])
        created = now_rfc3339()
        entry: dict[str, Any] = {"created": created}
        if author:
            entry["author"] = author
        entry["created_by"] = created_by
        if comment:
            entry["comment"] = comment
        new: dict[str, Any] = {"architecture": pcfg.get("architecture") or "amd64"}
        if author:
            new["author"] = author
        if comment:
            new["comment"] = comment
        new["config"] = cfg
        new["created"] = created
        new["history"] = [*(pcfg.get("history") or []), entry]
        new["os"] = pcfg.get("os") or "linux"
        if pcfg.get("variant"):
            new["variant"] = pcfg["variant"]
        new["rootfs"] = {"type": "layers",
                         "diff_ids": [*((pcfg.get("rootfs") or {}).get("diff_ids") or []), layer.diff_id]}
        from ...oci.digest import Digest

        image_id = str(d.content.put_bytes(encode(new)))
        lease.blobs.add(Digest(image_id))
        d.image_store.add(image_id, [*parent.layers, layer], created=created, source="commit", parent=parent.id,
                          refs=refs)
    return image_id


# -- small helpers used by the router ------------------------------------------------------------------------------
def parse_changes(values: list[str]) -> list[str]:
    """``changes`` query values; each may hold several Dockerfile lines."""
    out: list[str] = []
    for v in values:
        out += [ln for ln in v.splitlines() if ln.strip()]
    return out


def parse_ps_args(value: str) -> str:
    try:
        shlex.split(value)
    except ValueError as exc:
        raise InvalidParameter(f"invalid ps_args: {exc}") from exc
    return value
