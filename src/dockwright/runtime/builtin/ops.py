"""``state``, ``kill``, ``delete``, ``ps``, ``pause``, ``resume``, ``update`` and ``features``."""

from __future__ import annotations

import os
import time

from dockwright.runtime.builtin.state import CommandError, Container

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
    "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
    "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
    "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}


def parse_signal(s: str) -> int:
    if s.isdigit():
        return int(s)
    name = s.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name.startswith("RTMIN+") and name[6:].isdigit():
        return 34 + int(name[6:])
    if name in _SIGNALS:
        return _SIGNALS[name]
    raise CommandError(f"unknown signal {s!r}")


def kill(c: Container, sig: int, all_: bool) -> None:
    status = c.status()
    if status == "stopped":
        raise CommandError("container not running")
    if all_:
        cg = c.cgroup()
        pids = cg.pids() if cg else [c.pid]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if cg is not None and status == "paused" and sig == 9:
            cg.thaw()
        return
    try:
        os.kill(c.pid, sig)
    except ProcessLookupError:
        raise CommandError("container not running") from None


def delete(c: Container, force: bool) -> None:
    status = c.status()
    if status in ("running", "paused") and not force:
        raise CommandError(f"cannot delete container {c.id} that is not stopped: {status}")
    cg = c.cgroup()
    if status != "stopped" or (cg is not None and cg.pids()):
        victims = cg.pids() if cg is not None else []
        if c.alive() and c.pid not in victims:
            victims.append(c.pid)
        for pid in victims:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        if cg is not None and status == "paused":
            try:
                cg.thaw()
            except OSError:
                pass
        deadline = time.monotonic() + 5.0
        while c.alive() or (cg is not None and cg.pids()):
            if time.monotonic() > deadline:
                raise CommandError(f"container {c.id} did not stop after SIGKILL")
            if cg is not None:
                for pid in cg.pids():
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
            time.sleep(0.002)
    post = (c.data.get("hooks") or {}).get("poststop")
    if post:
        from dockwright.runtime.builtin import hooks as H

        try:
            H.run(post, dict(c.oci_state(), status="stopped"), "poststop")
        except H.HookError:
            pass  # the container is gone either way; runc only warns too
    if cg is not None:
        try:
            cg.destroy()
        except OSError as e:
            raise CommandError(f"unable to remove the container's cgroup: {e.strerror}") from e
    for name in ("exec.fifo", "config.json", "state.json"):
        try:
            os.unlink(os.path.join(c.dir, name))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(c.dir)
    except OSError as e:
        raise CommandError(f"unable to remove the container's state directory: {e.strerror}") from e


def ps(c: Container, fmt: str) -> str:
    cg = c.cgroup()
    pids = cg.pids() if cg is not None else ([c.pid] if c.alive() else [])
    if fmt == "json":
        from dockwright.runtime.builtin import fastjson

        return fastjson.dumps(pids)
    lines = ["PID  CMD"]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmd = ""
        lines.append(f"{pid}  {cmd}")
    return "\n".join(lines)


def pause(c: Container) -> None:
    if c.status() != "running":
        raise CommandError("container not running")
    cg = c.cgroup()
    if cg is None:
        raise CommandError("container has no cgroup to freeze")
    cg.freeze()


def resume(c: Container) -> None:
    if c.status() != "paused":
        raise CommandError("container not paused")
    cg = c.cgroup()
    assert cg is not None
    cg.thaw()


def update(c: Container, resources: dict[str, Any]) -> None:
    if c.status() == "stopped":
        raise CommandError("container not running")
    cg = c.cgroup()
    if cg is None:
        raise CommandError("container has no cgroup")
    try:
        cg.update(resources)
    except OSError as e:
        raise CommandError(f"unable to set cgroup limits: {e}") from e


def features() -> dict[str, Any]:
    from dockwright.runtime.builtin.mounts import _FLAGS, _PROPAGATION
    from dockwright.runtime.builtin.seccomp_load import _ARCHES, _OPS
    from dockwright.runtime.caps import all_caps

    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.0.2",
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": sorted([*_FLAGS, *_PROPAGATION]),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": all_caps(),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {
                "enabled": True,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": sorted(_OPS),
                "archs": sorted(_ARCHES),
            },
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"org.dockwright.runtime": "builtin"},
    }
