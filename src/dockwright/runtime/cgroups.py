"""Container cgroups on v1, hybrid and v2 hosts: create with limits, join, stats, freeze, remove.

Layout (``path`` is the spec's ``linux.cgroupsPath``, taken from each hierarchy's root)::

    v1 / hybrid:  /sys/fs/cgroup/<controller>/<path>/   one dir per mounted v1 controller hierarchy
    v2:           /sys/fs/cgroup/<path>/                 one dir; controllers enabled in the parents'
                                                         cgroup.subtree_control

The builtin runtime's init imports this module, so it imports nothing but ``os``
at module level. Device rules go to devices.allow/deny on v1 and become an eBPF
program on v2 (``devfilter``).
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

def mounts() -> tuple[dict[str, str], str | None]:
    """(v1 controller → mount point, v2 mount point or None) from /proc/self/mountinfo.

    Named v1 hierarchies appear as ``name=<name>`` (runc and Docker put containers in
    ``name=systemd`` too, and systemd inside a container looks for it).
    """
    v1: dict[str, str] = {}
    v2: str | None = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields = pre.split()
            fstype, _src, opts = (post.split() + ["", "", ""])[:3]
            mnt = fields[4]
            if fstype == "cgroup2":
                if v2 is None or mnt == "/sys/fs/cgroup":
                    v2 = mnt
            elif fstype == "cgroup":
                for o in opts.split(","):
                    if o in ("rw", "ro", "noprefix", "clone_children", "xattr", "favordynmods"):
                        continue
                    if "=" in o and not o.startswith("name="):
                        continue
                    v1.setdefault(o, mnt)
    return v1, v2


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _read_int(path: str) -> int | None:
    try:
        s = _read(path).strip()
    except OSError:
        return None
    if s == "max":
        return None
    try:
        return int(s)
    except ValueError:
        return None


def _kv(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in _read(path).splitlines():
            parts = line.split()
            if len(parts) == 2:
                try:
                    out[parts[0]] = int(parts[1])
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def _norm(path: str) -> str:
    p = "/" + path.strip("/")
    if ".." in p.split("/"):
        raise ValueError(f"invalid cgroups path {path!r}: '..' is not allowed")
    return p


class Stats:
    """One sample of a container's usage; counters are cumulative since the cgroup was made.

    A plain class, not a dataclass: this module is imported by the runtime's init, where
    ``dataclasses`` (and the ``inspect`` it pulls in) would cost milliseconds per container.
    """

    def __init__(self) -> None:
        self.cpu_usage_ns = 0
        self.cpu_percpu_ns: list[int] = []
        self.cpu_user_ns = 0
        self.cpu_system_ns = 0
        self.throttled_periods = 0
        self.throttled_ns = 0
        self.memory_usage = 0
        self.memory_max_usage = 0
        self.memory_limit: int | None = None
        self.memory_stat: dict[str, int] = {}
        self.pids_current = 0
        self.pids_limit: int | None = None
        self.blkio_read_bytes = 0
        self.blkio_write_bytes = 0
        self.oom_kills = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Cgroup:
    """A container's cgroup across hierarchies; ``dirs`` is controller → directory (``""`` on v2)."""

    def __init__(self, dirs: dict[str, str], v2: bool) -> None:
        self.dirs = dirs
        self.v2 = v2

    def to_json(self) -> dict[str, Any]:
        return {"dirs": self.dirs, "v2": self.v2}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cgroup:
        return cls(dict(data.get("dirs") or {}), bool(data.get("v2")))

    @classmethod
    def for_path(cls, path: str) -> Cgroup:
        """The cgroup at ``path`` (spec ``cgroupsPath``) on this host; nothing is created."""
        p = _norm(path)
        v1, v2 = mounts()
        if v1:
            return cls({c: mnt + p for c, mnt in v1.items()}, False)
        if v2 is None:
            raise OSError(2, "no cgroup filesystem is mounted")
        return cls({"": v2 + p}, True)

    # --- lifecycle ---------------------------------------------------------------------------------

    def create(self, resources: dict[str, Any] | None = None) -> None:
        for ctrl, d in self.dirs.items():
            if self.v2:
                self._v2_mkdirs(d)
            else:
                self._v1_mkdirs(ctrl, d)
        self.update(resources or {}, initial=True)

    def _v1_mkdirs(self, ctrl: str, d: str) -> None:
        if ctrl != "cpuset":
            os.makedirs(d, exist_ok=True)
            return
        # A new cpuset has no cpus or mems and refuses tasks: copy the parent's at each new level.
        missing = []
        cur = d
        while not os.path.isdir(cur):
            missing.append(cur)
            cur = os.path.dirname(cur)
        for level in reversed(missing):
            os.mkdir(level)
            parent = os.path.dirname(level)
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not _read(os.path.join(level, f)).strip():
                    _write(os.path.join(level, f), _read(os.path.join(parent, f)).strip())

    def _v2_mkdirs(self, d: str) -> None:
        _v1, root = mounts()
        assert root is not None
        rel = os.path.relpath(d, root)
        cur = root
        for part in rel.split("/"):
            try:
                avail = _read(os.path.join(cur, "cgroup.controllers")).split()
                want = [c for c in ("cpu", "cpuset", "memory", "pids", "io") if c in avail]
                if want:
                    _write(os.path.join(cur, "cgroup.subtree_control"), " ".join("+" + c for c in want))
            except OSError:
                pass
            cur = os.path.join(cur, part)
            os.makedirs(cur, exist_ok=True)

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0 = the calling single-threaded process) into every hierarchy.

        On v1 the caller moves itself through ``tasks``: migrating one thread skips the
        threadgroup lock, whose write side waits for an RCU grace period (5-15 ms per
        container start through ``cgroup.procs``). The init and exec children are
        single-threaded, so their one thread is the whole process.
        """
        name = "tasks" if pid == 0 and not self.v2 else "cgroup.procs"
        for d in self.dirs.values():
            _write(os.path.join(d, name), str(pid))

    def pids(self) -> list[int]:
        for d in self.dirs.values():
            try:
                return sorted({int(x) for x in _read(os.path.join(d, "cgroup.procs")).split()})
            except OSError:
                continue
        return []

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove the directories, waiting for dying tasks to leave; raises if some stay busy."""
        deadline = time.monotonic() + timeout
        pending = list(self.dirs.values())
        while pending:
            left = []
            for d in pending:
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(d)
            pending = left
            if pending:
                if time.monotonic() > deadline:
                    raise OSError(16, f"cgroup still busy: {pending[0]}")
                time.sleep(0.005)

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs.values())

    # --- limits ------------------------------------------------------------------------------------

    def update(self, res: dict[str, Any], initial: bool = False) -> None:
        """Write OCI ``linux.resources`` (create or ``runtime update``); device rules only at creation."""
        if self.v2:
            self._update_v2(res)
            if initial and res.get("devices"):
                from dockwright.runtime import devfilter

                devfilter.attach(self.dirs[""], list(res["devices"]))
        else:
            self._update_v1(res, initial)

    def _update_v1(self, res: dict[str, Any], initial: bool) -> None:
        d = self.dirs
        mem = res.get("memory") or {}
        if "memory" in d and mem:
            md = d["memory"]
            limit, swap = mem.get("limit"), mem.get("swap")
            has_memsw = os.path.exists(os.path.join(md, "memory.memsw.limit_in_bytes"))
            order: list[tuple[str, Any]] = [("memory.limit_in_bytes", limit)]
            if has_memsw:
                # memsw must stay >= limit: raise memsw first when growing, limit first when shrinking.
                cur = _read_int(os.path.join(md, "memory.memsw.limit_in_bytes")) or 0
                if swap is not None and (swap == -1 or (cur > 0 and swap > cur)):
                    order.insert(0, ("memory.memsw.limit_in_bytes", swap))
                else:
                    order.append(("memory.memsw.limit_in_bytes", swap))
            for f, v in order:
                if v is not None and v != 0:
                    _write(os.path.join(md, f), str(v))
            if mem.get("reservation"):
                _write(os.path.join(md, "memory.soft_limit_in_bytes"), str(mem["reservation"]))
            if mem.get("disableOOMKiller"):
                _write(os.path.join(md, "memory.oom_control"), "1")
            if mem.get("swappiness") is not None and 0 <= mem["swappiness"] <= 100:
                _write(os.path.join(md, "memory.swappiness"), str(mem["swappiness"]))
        cpu = res.get("cpu") or {}
        if "cpu" in d and cpu:
            if cpu.get("shares"):
                _write(os.path.join(d["cpu"], "cpu.shares"), str(cpu["shares"]))
            if cpu.get("period"):
                _write(os.path.join(d["cpu"], "cpu.cfs_period_us"), str(cpu["period"]))
            if cpu.get("quota"):
                _write(os.path.join(d["cpu"], "cpu.cfs_quota_us"), str(cpu["quota"]))
        if "cpuset" in d:
            if cpu.get("cpus"):
                _write(os.path.join(d["cpuset"], "cpuset.cpus"), cpu["cpus"])
            if cpu.get("mems"):
                _write(os.path.join(d["cpuset"], "cpuset.mems"), cpu["mems"])
        pids = res.get("pids") or {}
        if "pids" in d and pids.get("limit") is not None and pids["limit"] != 0:
            v = pids["limit"]
            _write(os.path.join(d["pids"], "pids.max"), "max" if v < 0 else str(v))
        blk = res.get("blockIO") or {}
        if "blkio" in d and blk.get("weight"):
            for f in ("blkio.weight", "blkio.bfq.weight"):
                p = os.path.join(d["blkio"], f)
                if os.path.exists(p):
                    _write(p, str(blk["weight"]))
                    break
        devs = res.get("devices")
        if "devices" in d and devs and initial:
            dd = d["devices"]
            for rule in devs:
                kind = rule.get("type") or "a"
                if kind == "a" and rule.get("major") is None and rule.get("minor") is None:
                    line = "a"
                else:
                    maj = "*" if rule.get("major") is None else str(rule["major"])
                    mnr = "*" if rule.get("minor") is None else str(rule["minor"])
                    line = f"{kind} {maj}:{mnr} {rule.get('access') or 'rwm'}"
                _write(os.path.join(dd, "devices.allow" if rule.get("allow") else "devices.deny"), line)

    def _update_v2(self, res: dict[str, Any]) -> None:
        d = self.dirs[""]

        def w(f: str, v: str) -> None:
            p = os.path.join(d, f)
            if os.path.exists(p):
                _write(p, v)

        mem = res.get("memory") or {}
        limit, swap = mem.get("limit"), mem.get("swap")
        if limit:
            w("memory.max", "max" if limit < 0 else str(limit))
        if swap:
            if swap < 0:
                w("memory.swap.max", "max")
            elif limit and limit > 0:
                w("memory.swap.max", str(max(swap - limit, 0)))
        if mem.get("reservation"):
            w("memory.low", str(mem["reservation"]))
        cpu = res.get("cpu") or {}
        if cpu.get("shares"):
            w("cpu.weight", str(1 + ((int(cpu["shares"]) - 2) * 9999) // 262142))
        if cpu.get("quota") or cpu.get("period"):
            q = cpu.get("quota") or 0
            w("cpu.max", f"{'max' if q <= 0 else q} {cpu.get('period') or 100000}")
        if cpu.get("cpus"):
            w("cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            w("cpuset.mems", cpu["mems"])
        pids = res.get("pids") or {}
        if pids.get("limit"):
            w("pids.max", "max" if pids["limit"] < 0 else str(pids["limit"]))
        blk = res.get("blockIO") or {}
        if blk.get("weight"):
            w("io.weight", f"default {1 + (int(blk['weight']) - 10) * 9999 // 990}")

    # --- freezer -----------------------------------------------------------------------------------

    def freeze(self, timeout: float = 5.0) -> None:
        self._set_frozen(True, timeout)

    def thaw(self, timeout: float = 5.0) -> None:
        self._set_frozen(False, timeout)

    def frozen(self) -> bool:
        try:
            if self.v2:
                return _kv(os.path.join(self.dirs[""], "cgroup.events")).get("frozen") == 1
            if "freezer" not in self.dirs:
                return False
            return _read(os.path.join(self.dirs["freezer"], "freezer.state")).strip() == "FROZEN"
        except OSError:
            return False

    def _set_frozen(self, on: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if self.v2:
            _write(os.path.join(self.dirs[""], "cgroup.freeze"), "1" if on else "0")
        elif "freezer" in self.dirs:
            _write(os.path.join(self.dirs["freezer"], "freezer.state"), "FROZEN" if on else "THAWED")
        else:
            raise OSError(95, "the freezer cgroup is not available")
        while self.frozen() != on:
            if time.monotonic() > deadline:
                raise OSError(110, "timed out waiting for the cgroup to " + ("freeze" if on else "thaw"))
            if not self.v2:
                _write(os.path.join(self.dirs["freezer"], "freezer.state"), "FROZEN" if on else "THAWED")
            time.sleep(0.001)

    # --- stats -------------------------------------------------------------------------------------

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer killed a task in this cgroup (the ``OOMKilled`` flag)."""
        return self._oom_kills() > 0

    def _oom_kills(self) -> int:
        if self.v2:
            ev = _kv(os.path.join(self.dirs[""], "memory.events"))
            return ev.get("oom_kill", 0)
        if "memory" not in self.dirs:
            return 0
        return _kv(os.path.join(self.dirs["memory"], "memory.oom_control")).get("oom_kill", 0)

    def stats(self) -> Stats:
        return self._stats_v2() if self.v2 else self._stats_v1()

    def _stats_v1(self) -> Stats:
        s = Stats()
        d = self.dirs
        if "cpuacct" in d:
            s.cpu_usage_ns = _read_int(os.path.join(d["cpuacct"], "cpuacct.usage")) or 0
            try:
                s.cpu_percpu_ns = [int(x) for x in _read(os.path.join(d["cpuacct"], "cpuacct.usage_percpu")).split()]
            except OSError:
                pass
            st = _kv(os.path.join(d["cpuacct"], "cpuacct.stat"))
            tick = 10_000_000  # USER_HZ = 100
            s.cpu_user_ns = st.get("user", 0) * tick
            s.cpu_system_ns = st.get("system", 0) * tick
        if "cpu" in d:
            cs = _kv(os.path.join(d["cpu"], "cpu.stat"))
            s.throttled_periods = cs.get("nr_throttled", 0)
            s.throttled_ns = cs.get("throttled_time", 0)
        if "memory" in d:
            md = d["memory"]
            s.memory_usage = _read_int(os.path.join(md, "memory.usage_in_bytes")) or 0
            s.memory_max_usage = _read_int(os.path.join(md, "memory.max_usage_in_bytes")) or 0
            lim = _read_int(os.path.join(md, "memory.limit_in_bytes"))
            s.memory_limit = lim if lim is not None and lim < (1 << 62) else None
            s.memory_stat = _kv(os.path.join(md, "memory.stat"))
            s.oom_kills = _kv(os.path.join(md, "memory.oom_control")).get("oom_kill", 0)
        if "pids" in d:
            s.pids_current = _read_int(os.path.join(d["pids"], "pids.current")) or 0
            s.pids_limit = _read_int(os.path.join(d["pids"], "pids.max"))
        if "blkio" in d:
            for f in ("blkio.throttle.io_service_bytes_recursive", "blkio.io_service_bytes_recursive"):
                try:
                    text = _read(os.path.join(d["blkio"], f))
                except OSError:
                    continue
                for line in text.splitlines():
                    parts = line.split()
                    if len(parts) == 3 and parts[1] in ("Read", "Write"):
                        if parts[1] == "Read":
                            s.blkio_read_bytes += int(parts[2])
                        else:
                            s.blkio_write_bytes += int(parts[2])
                break
        return s

    def _stats_v2(self) -> Stats:
        s = Stats()
        d = self.dirs[""]
        cs = _kv(os.path.join(d, "cpu.stat"))
        s.cpu_usage_ns = cs.get("usage_usec", 0) * 1000
        s.cpu_user_ns = cs.get("user_usec", 0) * 1000
        s.cpu_system_ns = cs.get("system_usec", 0) * 1000
        s.throttled_periods = cs.get("nr_throttled", 0)
        s.throttled_ns = cs.get("throttled_usec", 0) * 1000
        s.memory_usage = _read_int(os.path.join(d, "memory.current")) or 0
        s.memory_max_usage = _read_int(os.path.join(d, "memory.peak")) or 0
        s.memory_limit = _read_int(os.path.join(d, "memory.max"))
        s.memory_stat = _kv(os.path.join(d, "memory.stat"))
        s.oom_kills = _kv(os.path.join(d, "memory.events")).get("oom_kill", 0)
        s.pids_current = _read_int(os.path.join(d, "pids.current")) or 0
        s.pids_limit = _read_int(os.path.join(d, "pids.max"))
        try:
            for line in _read(os.path.join(d, "io.stat")).splitlines():
                for kv in line.split()[1:]:
                    k, _, v = kv.partition("=")
                    if k == "rbytes":
                        s.blkio_read_bytes += int(v)
                    elif k == "wbytes":
                        s.blkio_write_bytes += int(v)
        except OSError:
            pass
        return s
