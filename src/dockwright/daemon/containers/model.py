"""A container record: Docker's ContainerJSON fields, persisted as one JSON document per row.

The row's ``state`` column mirrors ``State.Status`` so counts and filters need
no JSON parsing; everything else lives in ``config`` as JSON. Records are
mutated only by the container service, under the container's lock, and saved
after each transition.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_rfc3339() -> str:
    t = time.time_ns()
    s, ns = divmod(t, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ns:09d}Z"


def new_state() -> dict[str, Any]:
    return {
        "Status": "created", "Running": False, "Paused": False, "Restarting": False, "OOMKilled": False,
        "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "", "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME,
    }


@dataclass
class Container:
    id: str
    name: str  # without the leading slash
    created: str
    image_id: str
    image_name: str  # as the user asked for it (Config.Image)
    config: dict[str, Any]
    host_config: dict[str, Any]
    networking: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=new_state)
    path: str = ""
    args: list[str] = field(default_factory=list)
    runtime: str = "runc"
    restart_count: int = 0
    network: dict[str, Any] = field(default_factory=dict)  # NetworkSettings
    exec_ids: list[str] = field(default_factory=list)
    has_been_started: bool = False
    manually_stopped: bool = False
    monitor_pid: int = 0
    size_rw: int = -1

    @property
    def status(self) -> str:
        return str(self.state["Status"])

    @property
    def running(self) -> bool:
        return bool(self.state["Running"])

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str) -> Container:
        raw = json.loads(data)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def set_running(self, pid: int) -> None:
        self.state.update(Status="running", Running=True, Paused=False, Restarting=False, OOMKilled=False,
                          Dead=False, Pid=pid, ExitCode=0, Error="", StartedAt=now_rfc3339())
        self.has_been_started = True

    def set_exited(self, code: int, *, oom: bool = False, error: str = "", finished: str = "") -> None:
        self.state.update(Status="exited", Running=False, Paused=False, Restarting=False, OOMKilled=oom,
                          Pid=0, ExitCode=code, Error=error, FinishedAt=finished or now_rfc3339())

    def human_status(self) -> str:
        """``docker ps``' STATUS column is computed client-side from State; the API's Status string."""
        st = self.status
        if st == "running":
            return "Up " + _ago(self.state["StartedAt"]) + (" (Paused)" if self.state.get("Paused") else "")
        if st == "paused":
            return "Up " + _ago(self.state["StartedAt"]) + " (Paused)"
        if st == "restarting":
            return f"Restarting ({self.state['ExitCode']}) " + _ago(self.state["FinishedAt"]) + " ago"
        if st == "exited":
            return f"Exited ({self.state['ExitCode']}) " + _ago(self.state["FinishedAt"]) + " ago"
        if st == "dead":
            return "Dead"
        if st == "removing":
            return "Removal In Progress"
        return "Created"


def _parse(ts: str) -> float:
    from ...images.imageconfig import parse_created

    return parse_created(ts)


def _ago(ts: str) -> str:
    secs = max(0.0, time.time() - _parse(ts))
    if secs < 1:
        return "Less than a second"
    if secs < 60:
        return f"{int(secs)} second{'s' if int(secs) != 1 else ''}"
    mins = secs / 60
    if mins < 60:
        return "About a minute" if int(mins) == 1 else f"{int(mins)} minutes"
    hours = mins / 60
    if hours < 48:
        return "About an hour" if int(hours) == 1 else f"{int(hours)} hours"
    days = hours / 24
    if days < 14:
        return f"{int(days)} days"
    if days < 60:
        return f"{int(days / 7)} weeks"
    if days < 730:
        return f"{int(days / 30)} months"
    return f"{int(days / 365)} years"


def pid_alive(pid: int) -> bool:
    """A live process (a zombie is not): the init of a container whose exit is not recorded yet."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
