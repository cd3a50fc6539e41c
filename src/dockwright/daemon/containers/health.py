"""Healthchecks: one probe task per running container that has a ``Config.Healthcheck``.

The probe runs through the container's monitor like ``docker exec`` (same
process spec: user, env, working dir), and its result goes into
``State.Health`` as dockerd keeps it: ``starting`` until the first success,
``unhealthy`` after ``Retries`` consecutive failures (failures inside the start
period do not count), the last five results in ``Log``. A status change is
published as a ``health_status: <status>`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import time
from typing import TYPE_CHECKING, Any

from ...errors import DockwrightError
from . import monitor_client
from .model import Container, now_rfc3339

if TYPE_CHECKING:
    from .service import ContainerService

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096

_tasks: dict[str, asyncio.Task[None]] = {}


def _secs(ns: Any, default: float) -> float:
    return ns / 1e9 if isinstance(ns, int) and not isinstance(ns, bool) and ns > 0 else default


def probe_command(hc: dict[str, Any] | None) -> list[str] | None:
    """The argv of the probe, or None when the container has no (or a disabled) healthcheck."""
    test = (hc or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:]) or None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test)  # an argv without a kind, as old API versions sent it


def start_health(svc: ContainerService, c: Container) -> None:
    """Start probing ``c`` (call after the container is running); a no-op without a healthcheck."""
    stop_health(c)
    cmd = probe_command(c.config.get("Healthcheck"))
    if cmd is None:
        c.state.pop("Health", None)
        return
    c.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
    _tasks[c.id] = asyncio.get_running_loop().create_task(_run(svc, c, cmd))


def stop_health(c: Container) -> None:
    """Stop probing ``c`` (call when it exits or is removed); ``State.Health`` keeps its last value."""
    t = _tasks.pop(c.id, None)
    if t is not None and not t.done():
        t.cancel()


async def _run(svc: ContainerService, c: Container, cmd: list[str]) -> None:
    hc = c.config.get("Healthcheck") or {}
    interval = _secs(hc.get("Interval"), DEFAULT_INTERVAL)
    timeout = _secs(hc.get("Timeout"), DEFAULT_TIMEOUT)
    start_period = _secs(hc.get("StartPeriod"), 0.0)
    start_interval = _secs(hc.get("StartInterval"), DEFAULT_START_INTERVAL)
    r = hc.get("Retries")
    retries = r if isinstance(r, int) and not isinstance(r, bool) and r > 0 else DEFAULT_RETRIES
    started = time.monotonic()
    try:
        while c.running:
            in_start = start_period > 0 and time.monotonic() - started < start_period
            await asyncio.sleep(start_interval if in_start else interval)
            if not c.running:
                return
            if c.status == "paused":
                continue
            began = now_rfc3339()
            code, output = await _probe(svc, c, cmd, timeout)
            in_start = start_period > 0 and time.monotonic() - started < start_period
            await _record(svc, c, began, code, output, retries, in_start)
    except asyncio.CancelledError:
        raise
    except Exception:  # a broken probe must not take the daemon's loop down with it
        log.exception("healthcheck of %s stopped", c.id[:12])
    finally:
        if _tasks.get(c.id) is asyncio.current_task():
            _tasks.pop(c.id, None)


async def _record(svc: ContainerService, c: Container, began: str, code: int, output: str, retries: int,
                  in_start: bool) -> None:
    h = c.state.setdefault("Health", {"Status": "starting", "FailingStreak": 0, "Log": []})
    before = h.get("Status")
    h["Log"] = [*(h.get("Log") or []), {"Start": began, "End": now_rfc3339(), "ExitCode": code,
                                        "Output": output}][-MAX_LOG_ENTRIES:]
    if code == 0:
        h["FailingStreak"] = 0
        h["Status"] = "healthy"
    elif not in_start:
        h["FailingStreak"] = int(h.get("FailingStreak") or 0) + 1
        if h["FailingStreak"] >= retries:
            h["Status"] = "unhealthy"
    if not c.running:
        return
    if h["Status"] != before:  # published with the change, before any await: readers see both together
        svc.d.events.publish("container", f"health_status: {h['Status']}", c.id,
                             {"image": c.image_name, "name": c.name})
    with contextlib.suppress(DockwrightError, OSError):
        await svc._save(c)


async def _probe(svc: ContainerService, c: Container, cmd: list[str], timeout: float) -> tuple[int, str]:
    from .service import ExecRecord

    ex = ExecRecord(secrets.token_hex(32), c.id, {"Cmd": cmd})
    try:
        proc = await asyncio.to_thread(svc._exec_process, c, ex)
        reader, writer = await monitor_client.connect(svc.sock(c))
    except (DockwrightError, OSError, ValueError) as exc:
        return -1, f"failed to run the health check: {exc}"
    out = bytearray()
    pid = 0
    try:
        writer.write(json.dumps({"op": "exec", "exec_id": ex.id[:16], "process": proc, "tty": False,
                                 "stdin": False}).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
        resp = json.loads(line) if line else {"error": "the container's monitor closed the connection"}
        if "error" in resp:
            return -1, str(resp["error"]).strip()
        pid = int(resp["pid"])

        async def collect() -> int:
            while True:
                stream, data = await monitor_client.read_frame(reader)
                if stream in (1, 2) and len(out) < MAX_OUTPUT:
                    out.extend(data[: MAX_OUTPUT - len(out)])
                elif stream == 3:
                    return int(json.loads(data).get("exit_code", -1))
                elif stream == 0:
                    return -1

        try:
            code = await asyncio.wait_for(collect(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            return -1, f"Health check exceeded timeout ({_go_duration(timeout)})"
        except (asyncio.IncompleteReadError, ConnectionError):
            return -1, "the container's monitor closed the connection"
        return code, out.decode(errors="replace")
    finally:
        writer.close()


def _go_duration(secs: float) -> str:
    if secs == int(secs):
        return f"{int(secs)}s"
    if secs < 1:
        return f"{secs * 1000:g}ms"
    return f"{secs:g}s"


def status_suffix(c: Container) -> str:
    """What ``docker ps`` shows after ``Up 5 minutes`` for a running container with a healthcheck."""
    h = c.state.get("Health")
    if not h or not c.running or c.status == "paused":
        return ""
    st = str(h.get("Status") or "")
    return " (health: starting)" if st == "starting" else f" ({st})" if st else ""


def filter_value(c: Container) -> str:
    """The value the ``health`` filter of ``GET /containers/json`` matches: starting|healthy|unhealthy|none."""
    h = c.state.get("Health")
    return str(h.get("Status") or "none") if h else "none"
