"""Containers outlive the daemon: kill -9 it with containers running, start it again."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from tests.integration.conftest import docker
from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon
from tests.support.ports import http_get

HTTPD = "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www"


def _published(d: DaemonProc, name: str) -> int:
    return int(docker(d, "port", name, "80").stdout.split(":")[-1])


def test_kill9_daemon_keeps_containers(tmp_path: Path) -> None:
    d = new_daemon("dw-restart-")
    try:
        d.start()
        docker(d, "import", "-", "busybox:latest", input=rootfs_tar_bytes())
    except Exception:
        d.cleanup()
        raise
    try:
        for n in ("keep1", "keep2"):
            docker(d, "run", "-d", "--name", n, "busybox", "sh", "-c",
                   "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done")
        docker(d, "run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sh", "-c", HTTPD)
        docker(d, "run", "-d", "--name", "ends", "-p", "127.0.0.1::80", "busybox", "sh", "-c", "sleep 1; exit 42")
        web = _published(d, "web")
        ends_port = _published(d, "ends")
        assert http_get(web) == b"up\n"
        pids = {n: json.loads(docker(d, "inspect", n).stdout)[0]["State"]["Pid"] for n in ("keep1", "keep2")}
        d.kill9()
        time.sleep(1.5)  # "ends" exits while the daemon is down
        for pid in pids.values():
            os.kill(pid, 0)  # still running
        assert http_get(web) == b"up\n"  # its port proxy keeps serving without the daemon
        d.start()
        assert _published(d, "web") == web and http_get(web) == b"up\n"
        with pytest.raises(ConnectionRefusedError):  # the proxy of the container that ended meanwhile is gone
            socket.create_connection(("127.0.0.1", ends_port), timeout=5)
        docker(d, "rm", "-f", "web")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", web), timeout=5)
        ps = docker(d, "ps", "--format", "{{.Names}} {{.Status}}").stdout
        assert "keep1 Up" in ps and "keep2 Up" in ps and "ends" not in ps
        ends = json.loads(docker(d, "inspect", "ends").stdout)[0]["State"]
        assert ends["Status"] == "exited" and ends["ExitCode"] == 42
        lines = [int(x) for x in docker(d, "logs", "keep1").stdout.split()]
        assert lines == list(range(len(lines))) and len(lines) > 20  # continuous across the restart
        docker(d, "stop", "-t", "1", "keep1", "keep2")
        states = [json.loads(docker(d, "inspect", n).stdout)[0]["State"] for n in ("keep1", "keep2")]
        assert all(not s["Running"] for s in states)
        docker(d, "rm", "keep1", "keep2", "ends")
    finally:
        d.cleanup()
