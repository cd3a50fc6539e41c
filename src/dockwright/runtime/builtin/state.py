"""Per-container state kept by the builtin runtime, and the status it derives.

Layout under ``--root`` (default /run/dockwright-runtime)::

    <root>/<id>/state.json   id, init pid and its start time, bundle, created, cgroup dirs, annotations
    <root>/<id>/config.json  the spec as given to create (exec reads seccomp and namespaces from it)
    <root>/<id>/exec.fifo    exists while the container is "created"; the init blocks opening it

Status is derived, never stored: the init's pid with a matching start time
(so a reused pid is not mistaken for the container) and the fifo tell created
from running, the freezer tells paused, anything else is stopped.
"""

from __future__ import annotations

import os

from dockwright.runtime.builtin import fastjson
from dockwright.runtime.cgroups import Cgroup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ROOT = "/run/dockwright-runtime"
OCI_VERSION = "1.0.2"


class CommandError(Exception):
    """A user-facing failure of a runtime command (printed, exit status 1)."""


def valid_id(cid: str) -> bool:
    return bool(cid) and len(cid) <= 1024 and all(c.isalnum() or c in "_+-." for c in cid) and cid not in (".", "..")


def container_dir(root: str, cid: str) -> str:
    if not valid_id(cid):
        raise CommandError(f"invalid container id format: {cid}")
    return os.path.join(root, cid)


def proc_start_time(pid: int) -> tuple[int, str] | None:
    """(start time in clock ticks, state letter) of a live pid, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2 :].split()
    return int(rest[19]), rest[0].decode()


class Container:
    def __init__(self, root: str, cid: str, data: dict[str, Any]) -> None:
        self.root = root
        self.id = cid
        self.data = data
        self.dir = container_dir(root, cid)

    @classmethod
    def load(cls, root: str, cid: str) -> Container:
        d = container_dir(root, cid)
        try:
            with open(os.path.join(d, "state.json"), "rb") as f:
                data = fastjson.loads(f.read())
        except FileNotFoundError:
            raise CommandError(f"container does not exist: {cid}") from None
        return cls(root, cid, data)

    def save(self) -> None:
        tmp = os.path.join(self.dir, "state.json.tmp")
        with open(tmp, "w") as f:
            f.write(fastjson.dumps(self.data))
        os.rename(tmp, os.path.join(self.dir, "state.json"))

    @property
    def pid(self) -> int:
        return int(self.data.get("pid") or 0)

    @property
    def fifo(self) -> str:
        return os.path.join(self.dir, "exec.fifo")

    def cgroup(self) -> Cgroup | None:
        cg = self.data.get("cgroup")
        return Cgroup.from_json(cg) if cg else None

    def config(self) -> dict[str, Any]:
        with open(os.path.join(self.dir, "config.json"), "rb") as f:
            cfg: dict[str, Any] = fastjson.loads(f.read())
        return cfg

    def alive(self) -> bool:
        pid = self.pid
        if pid <= 0:
            return False
        st = proc_start_time(pid)
        return st is not None and st[0] == self.data.get("start_time") and st[1] not in ("Z", "X")

    def status(self) -> str:
        if not self.alive():
            return "stopped"
        if os.path.exists(self.fifo):
            return "created"
        cg = self.cgroup()
        if cg is not None and cg.frozen():
            return "paused"
        return "running"

    def oci_state(self) -> dict[str, Any]:
        status = self.status()
        st: dict[str, Any] = {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "status": status,
            "pid": self.pid if status != "stopped" else 0,
            "bundle": self.data.get("bundle", ""),
            "rootfs": self.data.get("rootfs", ""),
            "created": self.data.get("created", ""),
            "owner": "",
        }
        if self.data.get("annotations"):
            st["annotations"] = self.data["annotations"]
        return st
