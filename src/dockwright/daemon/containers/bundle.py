"""From a container record (Config + HostConfig) and its mounted rootfs to an OCI spec.

Docker's create-time merge of the user's config with the image's lives here too
(``merge_image_config``), so ``docker inspect`` shows the same Config as dockerd.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from ...errors import InvalidParameter
from ...runtime import init
from ...runtime import spec as S
from ...runtime.securejoin import secure_join


def merge_image_config(user: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """Docker's rules: the image fills what the user left empty; Env and Labels merge by key."""
    out = dict(user)
    img = image or {}
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = img.get("Cmd")
            if img.get("ArgsEscaped"):
                out["ArgsEscaped"] = True
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = img.get("Entrypoint")
    env = list(img.get("Env") or [])
    for e in out.get("Env") or []:
        k = e.partition("=")[0]
        env = [x for x in env if x.partition("=")[0] != k]
        env.append(e)
    out["Env"] = env
    for key in ("WorkingDir", "User", "StopSignal", "Healthcheck", "Shell"):
        if not out.get(key) and img.get(key):
            out[key] = img[key]
    labels = dict(img.get("Labels") or {})
    labels.update(out.get("Labels") or {})
    out["Labels"] = labels
    ports = dict(img.get("ExposedPorts") or {})
    ports.update(out.get("ExposedPorts") or {})
    if ports:
        out["ExposedPorts"] = ports
    vols = dict(img.get("Volumes") or {})
    vols.update(out.get("Volumes") or {})
    if vols:
        out["Volumes"] = vols
    if out.get("OnBuild") is None:
        out["OnBuild"] = None
    return out


def command_of(cfg: dict[str, Any]) -> tuple[str, list[str]]:
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    if not argv:
        raise InvalidParameter("No command specified")
    return argv[0], argv[1:]


def parse_bind(spec: str) -> dict[str, Any]:
    """``/src:/dst[:ro|rw|z|Z|...]``; named volumes are for a later issue."""
    parts = spec.split(":")
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    src, dst = parts[0], parts[1]
    opts = parts[2].split(",") if len(parts) == 3 else []
    if not dst.startswith("/"):
        raise InvalidParameter(f"invalid volume specification: '{spec}': invalid mount config: "
                               "mount path must be absolute")
    if not src.startswith("/"):
        raise InvalidParameter(f"invalid volume specification: '{spec}': named volumes are not supported yet, "
                               "give an absolute host path")
    bad = [o for o in opts if o not in ("ro", "rw", "z", "Z", "private", "rprivate", "shared", "rshared",
                                        "slave", "rslave", "nocopy", "consistent", "cached", "delegated")]
    if bad:
        raise InvalidParameter(f"invalid volume specification: '{spec}': invalid mode: {bad[0]}")
    if not os.path.exists(src):
        raise InvalidParameter(f"invalid mount config for type \"bind\": bind source path does not exist: {src}")
    return S.bind_mount(src, dst, readonly="ro" in opts)


def parse_mounts(hc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """``HostConfig.Mounts`` (``--mount``): (OCI bind mounts, tmpfs (destination, options)). Also
    checks every destination of Binds, Tmpfs and Mounts is used once, as dockerd does."""
    binds: list[dict[str, Any]] = []
    tmpfs: list[tuple[str, str]] = []
    seen = {parse_bind(str(b))["destination"] for b in hc.get("Binds") or []}
    if len(seen) != len(hc.get("Binds") or []):
        raise InvalidParameter("Duplicate mount point: the same destination is given twice in Binds")
    seen |= set(hc.get("Tmpfs") or {})
    for m in hc.get("Mounts") or []:
        if not isinstance(m, dict):
            raise InvalidParameter("HostConfig.Mounts must be a list of objects")
        kind, src, dst = str(m.get("Type") or ""), str(m.get("Source") or ""), str(m.get("Target") or "")
        if not dst.startswith("/"):
            raise InvalidParameter(f'invalid mount config for type "{kind}": invalid mount path: \'{dst}\' '
                                   "mount path must be absolute")
        if dst in seen:
            raise InvalidParameter(f"Duplicate mount point: {dst}")
        seen.add(dst)
        if kind == "bind":
            if not src:
                raise InvalidParameter('invalid mount config for type "bind": field Source must not be empty')
            if not os.path.exists(src):
                raise InvalidParameter(f'invalid mount config for type "bind": bind source path does not exist: {src}')
            prop = str((m.get("BindOptions") or {}).get("Propagation") or "rprivate")
            binds.append(S.bind_mount(src, dst, readonly=bool(m.get("ReadOnly")), propagation=prop))
        elif kind == "tmpfs":
            if src:
                raise InvalidParameter('invalid mount config for type "tmpfs": field Source must be empty')
            t = m.get("TmpfsOptions") or {}
            opts = [*([f"size={int(t['SizeBytes'])}"] if t.get("SizeBytes") else []),
                    *([f"mode={int(t['Mode']):o}"] if t.get("Mode") else []), *(["ro"] if m.get("ReadOnly") else [])]
            tmpfs.append((dst, ",".join(opts)))
        elif kind == "volume":
            raise InvalidParameter('invalid mount config for type "volume": volumes are not supported yet; '
                                   f"bind a host directory instead (--mount type=bind,source=/host/dir,target={dst})")
        else:
            raise InvalidParameter(f"mount type unknown: {kind!r}: use bind or tmpfs")
    return binds, tmpfs


def mount_points(hc: dict[str, Any]) -> list[dict[str, Any]]:
    """``docker inspect``'s ``Mounts``: binds (``-v`` and ``--mount``) and ``--mount`` tmpfs."""
    out = []
    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        mode = parts[2] if len(parts) == 3 else ""
        out.append({"Type": "bind", "Source": parts[0], "Destination": parts[1], "Mode": mode,
                    "RW": "ro" not in mode.split(","), "Propagation": "rprivate"})
    for m in hc.get("Mounts") or []:
        if isinstance(m, dict) and m.get("Type") in ("bind", "tmpfs"):
            bind = m.get("Type") == "bind"
            out.append({"Type": m["Type"], "Source": str(m.get("Source") or ""), "Destination": str(m.get("Target")),
                        "Mode": "", "RW": not m.get("ReadOnly"),
                        "Propagation": str((m.get("BindOptions") or {}).get("Propagation") or "rprivate") if bind
                        else ""})
    return out


def _ulimits(hc: dict[str, Any]) -> list[tuple[str, int, int]]:
    out = []
    for u in hc.get("Ulimits") or []:
        if not isinstance(u, dict) or "Name" not in u:
            raise InvalidParameter("invalid ulimit: expected {Name, Soft, Hard}")
        out.append((str(u["Name"]), int(u.get("Soft", 0)), int(u.get("Hard", 0))))
    return out


def _security(hc: dict[str, Any]) -> tuple[bool, str | bytes | None, bool]:
    """(no_new_privileges, seccomp profile (b'' = default, None = unconfined), custom)."""
    nnp = False
    profile: str | bytes | None = b""
    for opt in hc.get("SecurityOpt") or []:
        key, sep, val = opt.partition("=") if "=" in opt else opt.partition(":")
        if key == "no-new-privileges":
            nnp = val.lower() in ("", "true", "1") if sep else True
        elif key == "seccomp":
            if val == "unconfined":
                profile = None
            elif val in ("builtin", "default"):
                profile = b""
            else:
                profile = val  # the docker CLI sends the file's content
        elif key in ("apparmor", "label", "systempaths", "writable-cgroups"):
            continue
        else:
            raise InvalidParameter(f"invalid --security-opt: {opt!r}")
    return nnp, profile, profile != b""


def build(
    c_id: str,
    cfg: dict[str, Any],
    hc: dict[str, Any],
    rootfs: Path,
    cdir: Path,
    *,
    netns: str | None,
    netmode: str,
) -> dict[str, Any]:
    user = S.resolve_user(rootfs, str(cfg.get("User") or ""), [str(g) for g in hc.get("GroupAdd") or []])
    workdir = str(cfg.get("WorkingDir") or "/")
    if not workdir.startswith("/"):
        raise InvalidParameter(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    wd = Path(secure_join(str(rootfs), workdir))
    if not wd.exists():
        wd.mkdir(parents=True, exist_ok=True)
        os.chown(wd, user[0], user[1])
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    env = list(cfg.get("Env") or [])
    if cfg.get("Tty") and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    opts: list[S.SpecOpt] = [
        S.with_process(argv, env, workdir, user, bool(cfg.get("Tty"))),
        S.with_rootfs(str(rootfs), bool(hc.get("ReadonlyRootfs"))),
        S.with_hostname(str(cfg.get("Hostname") or c_id[:12]), str(cfg.get("Domainname") or "")),
    ]
    files = []
    for name, dst in (("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname"), ("hosts", "/etc/hosts")):
        if (cdir / name).exists():
            files.append(S.bind_mount(str(cdir / name), dst, readonly=bool(hc.get("ReadonlyRootfs"))))
    extra_binds, extra_tmpfs = parse_mounts(hc)
    mounts = files + [parse_bind(b) for b in hc.get("Binds") or []] + extra_binds
    if mounts:
        opts.append(S.with_mounts(mounts))
    for dst, topts in [*(hc.get("Tmpfs") or {}).items(), *extra_tmpfs]:
        opts.append(S.with_tmpfs(dst, topts or ""))
    if hc.get("ShmSize"):
        opts.append(S.with_shm_size(int(hc["ShmSize"])))
    if hc.get("Privileged"):
        opts.append(S.with_privileged())
    if hc.get("CapAdd") or hc.get("CapDrop"):
        opts.append(S.with_caps(add=list(hc.get("CapAdd") or []), drop=list(hc.get("CapDrop") or [])))
    nnp, profile, custom = _security(hc)
    if nnp:
        opts.append(S.with_no_new_privileges(True))
    nano = hc.get("NanoCpus") or 0
    opts.append(S.with_resources(
        memory=hc.get("Memory") or None,
        memory_swap=hc.get("MemorySwap") or None,
        memory_reservation=hc.get("MemoryReservation") or None,
        cpu_shares=hc.get("CpuShares") or None,
        cpus=(nano / 1e9) if nano else None,
        cpu_quota=hc.get("CpuQuota") or None,
        cpu_period=hc.get("CpuPeriod") or None,
        cpuset_cpus=hc.get("CpusetCpus") or None,
        cpuset_mems=hc.get("CpusetMems") or None,
        pids_limit=hc.get("PidsLimit") or None,
        oom_kill_disable=hc.get("OomKillDisable") or None,
        blkio_weight=hc.get("BlkioWeight") or None,
    ))
    devices = []
    for d in hc.get("Devices") or []:
        if isinstance(d, dict):
            devices.append(f"{d.get('PathOnHost')}:{d.get('PathInContainer') or d.get('PathOnHost')}:"
                           f"{d.get('CgroupPermissions') or 'rwm'}")
    if devices:
        opts.append(S.with_devices(devices))
    ul = _ulimits(hc)
    if ul:
        opts.append(S.with_ulimits(ul))
    if hc.get("Sysctls"):
        opts.append(S.with_sysctls(dict(hc["Sysctls"])))
    if netmode == "host":
        opts.append(S.with_host_namespace("network"))
    elif netns:
        opts.append(S.with_namespace("network", netns))
    if hc.get("PidMode") == "host":
        opts.append(S.with_host_namespace("pid"))
    if hc.get("IpcMode") == "host":
        opts.append(S.with_host_namespace("ipc"))
    if hc.get("UTSMode") == "host":
        opts.append(S.with_host_namespace("uts"))
    if custom:
        opts.append(S.with_seccomp(profile))
    spec = S.build_spec(c_id, *opts)
    if hc.get("UTSMode") == "host":  # the host's name: a runtime refuses to set one in a shared namespace
        spec.pop("hostname", None)
        spec.pop("domainname", None)
    if hc.get("Init"):
        init.with_init(spec)
    return spec


def split_command(cmd: str) -> list[str]:
    return shlex.split(cmd)
