"""OCI runtime specs (``config.json``) with Docker's defaults, built from small options.

``default_spec(id)`` is what ``docker run IMAGE`` gets with no flags: Docker's 14
capabilities, its seccomp profile resolved for them, its masked and read-only
paths, mounts, device rules and namespaces. Every ``docker run`` flag is a
:data:`SpecOpt`, a function that edits the spec in place, applied in order by
:func:`build_spec` (the shape of containerd's ``oci.SpecOpts``)::

    spec = build_spec(cid, with_process(["sh"], env, "/", user), with_caps(add=["NET_ADMIN"]),
                      with_resources(memory=64 << 20), with_seccomp(None))

Order matters in one place only: the seccomp filter depends on the capability
set, so :func:`with_caps` and :func:`with_privileged` re-resolve the default
profile, and a custom profile given with :func:`with_seccomp` should come last.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dockwright.errors import InvalidParameter
from dockwright.runtime import caps as _caps
from dockwright.runtime import seccomp as _seccomp
from dockwright.runtime.user import User as User
from dockwright.runtime.user import resolve_user as resolve_user

Spec = dict[str, Any]
SpecOpt = Callable[[Spec], None]

OCI_VERSION = "1.0.2-dev"
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 << 20

MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
DEFAULT_NAMESPACES = ("pid", "network", "ipc", "uts", "mount", "cgroup")
NAMESPACE_KINDS = ("pid", "network", "ipc", "uts", "mount", "cgroup", "user", "time")

# The device cgroup as Docker leaves it with runc (devices.list of a default
# container): deny all, mknod of anything, open only the standard nodes. The
# fuse deny comes before any wildcard: runc's v1 emulation cannot punch a hole
# in an allowed wildcard.
DEFAULT_DEVICE_RULES: tuple[dict[str, Any], ...] = (
    {"allow": False, "access": "rwm"},
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
)

NETNS_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}

RLIMITS = (
    "cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as", "locks",
    "sigpending", "msgqueue", "nice", "rtprio", "rttime",
)


def _default_mounts(shm_size: int) -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]},
    ]


def default_spec(container_id: str) -> Spec:
    """The spec of ``docker run`` without flags, for a container with this ID (hostname = 12-char prefix)."""
    caps = list(_caps.DEFAULT_CAPS)
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [DEFAULT_PATH_ENV, f"HOSTNAME={container_id[:12]}"],
            "cwd": "/",
            "capabilities": {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)},
            "oomScoreAdj": 0,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": container_id[:12],
        "mounts": _default_mounts(DEFAULT_SHM_SIZE),
        "linux": {
            # Docker sets these for every container with its own network namespace
            "sysctl": dict(NETNS_SYSCTLS),
            "resources": {"devices": [dict(r) for r in DEFAULT_DEVICE_RULES]},
            "cgroupsPath": f"/dockwright/{container_id}",
            "namespaces": [{"type": k} for k in DEFAULT_NAMESPACES],
            "seccomp": _seccomp.translate(_seccomp.default_profile(), caps),
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def build_spec(container_id: str, *opts: SpecOpt) -> Spec:
    spec = default_spec(container_id)
    apply_opts(spec, *opts)
    return spec


def apply_opts(spec: Spec, *opts: SpecOpt) -> Spec:
    for opt in opts:
        opt(spec)
    return spec


# --- process --------------------------------------------------------------------------------------


def with_process(
    args: Sequence[str],
    env: Sequence[str] = (),
    cwd: str = "/",
    user: tuple[int, int, Sequence[int]] = (0, 0, ()),
    terminal: bool = False,
) -> SpecOpt:
    """The command, environment, working directory, identity and TTY of the container's process.

    ``PATH`` and ``HOSTNAME`` stay from the defaults unless ``env`` sets them (Docker's merge).
    """
    if not args:
        raise InvalidParameter("No command specified")
    if not cwd.startswith("/"):
        raise InvalidParameter(f"the working directory '{cwd}' is invalid, it needs to be an absolute path")

    def opt(spec: Spec) -> None:
        p = spec["process"]
        p["args"] = list(args)
        p["env"] = merge_env(p.get("env") or [], env)
        p["cwd"] = cwd
        p["terminal"] = bool(terminal)
        _set_user(p, user)

    return opt


def merge_env(base: Iterable[str], overrides: Iterable[str]) -> list[str]:
    out: dict[str, str] = {}
    for e in [*base, *overrides]:
        key = e.split("=", 1)[0]
        out[key] = e
    return list(out.values())


def _set_user(p: dict[str, Any], user: tuple[int, int, Sequence[int]]) -> None:
    uid, gid, extra = user
    u: dict[str, Any] = {"uid": int(uid), "gid": int(gid)}
    if extra:
        u["additionalGids"] = [int(g) for g in extra]
    p["user"] = u


def with_user(uid: int, gid: int, additional_gids: Sequence[int] = ()) -> SpecOpt:
    def opt(spec: Spec) -> None:
        _set_user(spec["process"], (uid, gid, additional_gids))

    return opt


def with_env(env: Sequence[str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["env"] = merge_env(spec["process"].get("env") or [], env)

    return opt


def with_hostname(hostname: str, domainname: str = "") -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["hostname"] = hostname
        if domainname:
            spec["domainname"] = domainname
        spec["process"]["env"] = merge_env(spec["process"].get("env") or [], [f"HOSTNAME={hostname}"])

    return opt


def with_rootfs(path: str | os.PathLike[str], readonly: bool = False) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["root"] = {"path": os.fspath(path), "readonly": bool(readonly)}

    return opt


def with_oom_score_adj(score: int) -> SpecOpt:
    if not -1000 <= score <= 1000:
        raise InvalidParameter(f"Invalid value {score}, range for oom score adj is [-1000, 1000]")

    def opt(spec: Spec) -> None:
        spec["process"]["oomScoreAdj"] = score

    return opt


def with_annotations(annotations: Mapping[str, str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec.setdefault("annotations", {}).update(annotations)

    return opt


# --- mounts ---------------------------------------------------------------------------------------


def with_mounts(mounts: Sequence[Mapping[str, Any]]) -> SpecOpt:
    """Add OCI mounts; one at a destination the defaults use replaces the default (as ``-v x:/dev/shm``).

    A user mount over ``/dev`` also drops the default mounts under it, and mounts are ordered so that a
    parent directory is mounted before what is mounted inside it.
    """
    for m in mounts:
        dest = m.get("destination")
        if not isinstance(dest, str) or not dest.startswith("/"):
            raise InvalidParameter(f"invalid mount config: destination {dest!r} must be an absolute path")

    def opt(spec: Spec) -> None:
        user = [dict(m) for m in mounts]
        dests = {os.path.normpath(m["destination"]) for m in user}
        kept = []
        for m in spec.get("mounts") or []:
            d = os.path.normpath(m["destination"])
            if d in dests:
                continue
            if "/dev" in dests and d.startswith("/dev/"):
                continue
            kept.append(m)
        combined = kept + user
        spec["mounts"] = sorted(combined, key=lambda m: len(os.path.normpath(m["destination"]).split("/")))

    return opt


def bind_mount(source: str, destination: str, readonly: bool = False, propagation: str = "rprivate") -> dict[str, Any]:
    """An OCI bind mount as Docker writes ``-v /host:/ctr[:ro]``."""
    opts = ["rbind", propagation]
    if readonly:
        opts.append("ro")
    return {"destination": destination, "type": "bind", "source": source, "options": opts}


def with_tmpfs(destination: str, options: str = "") -> SpecOpt:
    """``--tmpfs /dst:opts``: Docker's defaults noexec,nosuid,nodev unless the options say otherwise."""
    user_opts = [o for o in options.split(",") if o]
    flags = {"noexec", "nosuid", "nodev"}
    for o in user_opts:
        if o in ("exec", "suid", "dev"):
            flags.discard("no" + o)
    merged = sorted(flags) + [o for o in user_opts if o not in ("exec", "suid", "dev")]
    return with_mounts([{"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": merged}])


def with_shm_size(size: int) -> SpecOpt:
    if size <= 0:
        raise InvalidParameter("SHM size must be greater than 0")

    def opt(spec: Spec) -> None:
        for m in spec.get("mounts") or []:
            if m["destination"] == "/dev/shm" and m.get("type") == "tmpfs":
                m["options"] = [o for o in m.get("options", []) if not o.startswith("size=")] + [f"size={size}"]

    return opt


# --- security -------------------------------------------------------------------------------------


def _set_caps(spec: Spec, caps: list[str]) -> None:
    old = list(spec["process"].get("capabilities", {}).get("bounding") or [])
    spec["process"]["capabilities"] = {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)}
    sec = spec.get("linux", {}).get("seccomp")
    if sec is not None and sec == _seccomp.translate(_seccomp.default_profile(), old):
        spec["linux"]["seccomp"] = _seccomp.translate(_seccomp.default_profile(), caps)


def with_caps(add: Sequence[str] = (), drop: Sequence[str] = ()) -> SpecOpt:
    """``--cap-add``/``--cap-drop`` with Docker's rules: ``ALL`` in drop empties the set first."""
    add_n = [_caps.normalize(c) for c in add]
    drop_n = [_caps.normalize(c) for c in drop]
    for c in add_n + drop_n:
        if c != "ALL" and c not in _caps.CAP_NUMBERS:
            raise InvalidParameter(f"invalid capability: {c}")
    for c in add_n:
        if c != "ALL" and c in drop_n:
            raise InvalidParameter(f"capability {c} cannot be both added and dropped")

    def opt(spec: Spec) -> None:
        current = list(spec["process"].get("capabilities", {}).get("bounding") or [])
        if "ALL" in add_n:
            base = _caps.all_caps()
        elif "ALL" in drop_n:
            base = []
        else:
            base = [c for c in current if c not in drop_n]
        for c in add_n:
            if c != "ALL" and c not in base:
                base.append(c)
        if "ALL" in add_n:
            base = [c for c in base if c not in drop_n]
        _set_caps(spec, base)

    return opt


def with_privileged() -> SpecOpt:
    """``--privileged``: every capability, no seccomp, nothing masked, /sys and cgroups writable, all devices."""

    def opt(spec: Spec) -> None:
        _set_caps(spec, _caps.all_caps())
        linux = spec.setdefault("linux", {})
        linux.pop("seccomp", None)
        linux["maskedPaths"] = []
        linux["readonlyPaths"] = []
        for m in spec.get("mounts") or []:
            if m["destination"] in ("/sys", "/sys/fs/cgroup"):
                m["options"] = [o for o in m.get("options", []) if o != "ro"]
        linux.setdefault("resources", {})["devices"] = [{"allow": True, "access": "rwm"}]
        linux["devices"] = host_devices()

    return opt


def with_seccomp(profile_json: str | bytes | Mapping[str, Any] | None) -> SpecOpt:
    """A custom profile (Docker's JSON format), or ``None`` for ``seccomp=unconfined``."""
    if profile_json is None:
        prof: Mapping[str, Any] | None = None
    elif isinstance(profile_json, (str, bytes)):
        prof = _seccomp.parse_profile(profile_json)
    else:
        prof = profile_json

    def opt(spec: Spec) -> None:
        linux = spec.setdefault("linux", {})
        if prof is None:
            linux.pop("seccomp", None)
            return
        bounding = spec["process"].get("capabilities", {}).get("bounding") or []
        linux["seccomp"] = _seccomp.translate(prof, bounding)

    return opt


def with_no_new_privileges(enabled: bool = True) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["noNewPrivileges"] = bool(enabled)

    return opt


def with_masked_paths(masked: Sequence[str] | None = None, readonly: Sequence[str] | None = None) -> SpecOpt:
    """``--security-opt systempaths=unconfined`` is ``with_masked_paths([], [])``."""

    def opt(spec: Spec) -> None:
        linux = spec.setdefault("linux", {})
        if masked is not None:
            linux["maskedPaths"] = list(masked)
        if readonly is not None:
            linux["readonlyPaths"] = list(readonly)

    return opt


# --- resources ------------------------------------------------------------------------------------


def with_resources(
    *,
    memory: int | None = None,
    memory_swap: int | None = None,
    memory_reservation: int | None = None,
    cpu_shares: int | None = None,
    cpus: float | None = None,
    cpu_quota: int | None = None,
    cpu_period: int | None = None,
    cpuset_cpus: str | None = None,
    cpuset_mems: str | None = None,
    pids_limit: int | None = None,
    oom_kill_disable: bool | None = None,
    blkio_weight: int | None = None,
) -> SpecOpt:
    """Docker's resource flags; ``memory_swap`` is memory+swap as in Docker (-1 = unlimited swap).

    With ``memory`` and no ``memory_swap`` the container may use as much swap as memory (Docker's
    default); ``cpus`` becomes a CFS quota over a 100 ms period.
    """
    if memory is not None and 0 < memory < 6 << 20:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if memory_swap is not None and memory_swap > 0 and memory is not None and memory_swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if cpus is not None and (cpu_quota or cpu_period):
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set")
    if cpus is not None and cpus < 0:
        raise InvalidParameter("Range of CPUs is from 0.01 to the number of CPUs available")
    if blkio_weight is not None and blkio_weight and not 10 <= blkio_weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")

    def opt(spec: Spec) -> None:
        res = spec.setdefault("linux", {}).setdefault("resources", {})
        mem = res.setdefault("memory", {})
        if memory:
            mem["limit"] = memory
            if memory_swap is None or memory_swap == 0:
                mem["swap"] = memory * 2
            else:
                mem["swap"] = memory_swap
        elif memory_swap:
            mem["swap"] = memory_swap
        if memory_reservation:
            mem["reservation"] = memory_reservation
        if oom_kill_disable is not None:
            mem["disableOOMKiller"] = bool(oom_kill_disable)
        if not mem:
            res.pop("memory")
        cpu = res.setdefault("cpu", {})
        if cpu_shares:
            cpu["shares"] = cpu_shares
        if cpus:
            cpu["period"] = 100000
            cpu["quota"] = int(round(cpus * 100000))
        if cpu_quota:
            cpu["quota"] = cpu_quota
        if cpu_period:
            cpu["period"] = cpu_period
        if cpuset_cpus:
            cpu["cpus"] = cpuset_cpus
        if cpuset_mems:
            cpu["mems"] = cpuset_mems
        if not cpu:
            res.pop("cpu")
        if pids_limit is not None and pids_limit != 0:
            res["pids"] = {"limit": pids_limit if pids_limit > 0 else -1}
        if blkio_weight:
            res["blockIO"] = {"weight": blkio_weight}

    return opt


def parse_device(spec: str) -> tuple[str, str, str]:
    """``--device /dev/x[:/dev/y][:rwm]`` → (host path, container path, permissions)."""
    parts = spec.split(":")
    perms = "rwm"
    if len(parts) == 3:
        src, dst, perms = parts
    elif len(parts) == 2:
        if parts[1] and set(parts[1]) <= set("rwm") and not parts[1].startswith("/"):
            src, dst, perms = parts[0], parts[0], parts[1]
        else:
            src, dst = parts
    elif len(parts) == 1:
        src = dst = parts[0]
    else:
        raise InvalidParameter(f"invalid device specification: {spec}")
    if not perms or not set(perms) <= set("rwm"):
        raise InvalidParameter(f"invalid device mode: {perms}")
    if not dst.startswith("/"):
        raise InvalidParameter(f"invalid device specification: {spec}: the container path must be absolute")
    return src, dst or src, perms


def _device_entry(host: str, dest: str) -> dict[str, Any] | None:
    st = os.stat(host)
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    elif stat.S_ISFIFO(st.st_mode):
        kind = "p"
    else:
        return None
    return {
        "path": dest, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
        "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
    }


def host_devices() -> list[dict[str, Any]]:
    """The host's device nodes (for ``--privileged``), skipping the ones a container never gets."""
    out: list[dict[str, Any]] = []
    skip_dirs = {"/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd"}
    for dirpath, dirnames, filenames in os.walk("/dev"):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip_dirs]
        for f in filenames:
            p = os.path.join(dirpath, f)
            if p in ("/dev/console", "/dev/ptmx") or os.path.islink(p):
                continue
            try:
                e = _device_entry(p, p)
            except OSError:
                continue
            if e is not None and e["type"] != "p":
                out.append(e)
    return out


def with_devices(devices: Sequence[str]) -> SpecOpt:
    """``--device``: create the nodes in the container and allow them in the device cgroup."""
    entries: list[tuple[dict[str, Any], str]] = []
    for d in devices:
        src, dst, perms = parse_device(d)
        try:
            st = os.stat(src)
        except OSError as exc:
            raise InvalidParameter(f"error gathering device information while adding custom device "
                                   f"\"{src}\": no such file or directory") from exc
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(src)):
                e = _device_entry(os.path.join(src, name), os.path.join(dst, name))
                if e is not None:
                    entries.append((e, perms))
            continue
        e = _device_entry(src, dst)
        if e is None:
            raise InvalidParameter(f"error gathering device information while adding custom device \"{src}\": "
                                   "not a device node")
        entries.append((e, perms))

    def opt(spec: Spec) -> None:
        linux = spec.setdefault("linux", {})
        devs = linux.setdefault("devices", [])
        rules = linux.setdefault("resources", {}).setdefault("devices", [])
        for e, perms in entries:
            devs.append(dict(e))
            rules.append({"allow": True, "type": e["type"], "major": e["major"], "minor": e["minor"],
                          "access": perms})

    return opt


def with_ulimits(ulimits: Sequence[tuple[str, int, int]]) -> SpecOpt:
    """``--ulimit nofile=1024:2048`` as (name, soft, hard)."""
    for name, soft, hard in ulimits:
        if name not in RLIMITS:
            raise InvalidParameter(f"invalid ulimit type: {name}")
        if soft > hard and hard != -1:
            raise InvalidParameter(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")

    def opt(spec: Spec) -> None:
        rl = [r for r in spec["process"].get("rlimits") or []
              if r["type"] not in {"RLIMIT_" + n.upper() for n, _, _ in ulimits}]
        for name, soft, hard in ulimits:
            rl.append({"type": "RLIMIT_" + name.upper(), "soft": _u64(soft), "hard": _u64(hard)})
        spec["process"]["rlimits"] = rl

    return opt


def _u64(v: int) -> int:
    return (1 << 64) - 1 if v < 0 else v


def with_sysctls(sysctls: Mapping[str, str]) -> SpecOpt:
    """``--sysctl``: only namespaced ones, as Docker validates (kernel.msg*, kernel.sem, fs.mqueue.*, net.*)."""
    for k in sysctls:
        ok = (k in ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.domainname")
              or k.startswith(("fs.mqueue.", "net.")))
        if not ok:
            raise InvalidParameter(f"sysctl '{k}' is not allowed")

    def opt(spec: Spec) -> None:
        spec.setdefault("linux", {}).setdefault("sysctl", {}).update({k: str(v) for k, v in sysctls.items()})

    return opt


def with_namespace(kind: str, path: str | None = None) -> SpecOpt:
    """Own namespace (``path=None``) or join one by path (``--network container:x`` → ``/proc/PID/ns/net``)."""
    if kind not in NAMESPACE_KINDS:
        raise InvalidParameter(f"unknown namespace type {kind!r}")

    def opt(spec: Spec) -> None:
        nss = [n for n in spec.setdefault("linux", {}).get("namespaces") or [] if n["type"] != kind]
        ns: dict[str, Any] = {"type": kind}
        if path:
            ns["path"] = path
        nss.append(ns)
        spec["linux"]["namespaces"] = nss

    return opt


def with_host_namespace(kind: str) -> SpecOpt:
    """Share the host's namespace (``--network host``, ``--pid host``, ``--ipc host``, ``--uts host``)."""
    if kind not in NAMESPACE_KINDS:
        raise InvalidParameter(f"unknown namespace type {kind!r}")

    def opt(spec: Spec) -> None:
        linux = spec.setdefault("linux", {})
        linux["namespaces"] = [n for n in linux.get("namespaces") or [] if n["type"] != kind]
        if kind == "network":
            # net.* sysctls would change the host's network namespace: Docker drops its defaults
            sysctl = {k: v for k, v in (linux.get("sysctl") or {}).items() if k not in NETNS_SYSCTLS}
            if sysctl:
                linux["sysctl"] = sysctl
            else:
                linux.pop("sysctl", None)

    return opt


def with_hook(kind: str, path: str, args: Sequence[str] = (), env: Sequence[str] = (),
              timeout: int | None = None) -> SpecOpt:
    """Append an OCI hook (``prestart``, ``createRuntime``, ``poststart``, ``poststop``, ...)."""
    if kind not in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"):
        raise InvalidParameter(f"unknown hook kind {kind!r}")
    if not path.startswith("/"):
        raise InvalidParameter(f"hook path {path!r} must be absolute")

    def opt(spec: Spec) -> None:
        h: dict[str, Any] = {"path": path, "args": list(args) or [path]}
        if env:
            h["env"] = list(env)
        if timeout:
            h["timeout"] = timeout
        spec.setdefault("hooks", {}).setdefault(kind, []).append(h)

    return opt


def with_cgroups_path(path: str) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec.setdefault("linux", {})["cgroupsPath"] = path

    return opt


def clone(spec: Spec) -> Spec:
    return copy.deepcopy(spec)
