"""The daemon process: one per data root, clean shutdown, config file, TCP and TLS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import DOCKER
from tests.support.certs import make_tls
from tests.support.daemon import DaemonProc, new_daemon
from tests.support.ports import free_port


@pytest.fixture
def daemon() -> DaemonProc:
    d = new_daemon("dw-life-")
    yield d
    d.cleanup()


def _run_daemon(d: DaemonProc, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockwright", "daemon", "--data-root", str(d.data_root),
         "--exec-root", str(d.tmp / "exec2"), *args],
        capture_output=True, text=True, timeout=timeout,
    )


def test_one_daemon_per_data_root_and_sigterm(daemon: DaemonProc) -> None:
    daemon.start()
    pidfile = daemon.tmp / "exec" / "dockwright.pid"
    assert pidfile.read_text().strip() == str(daemon.proc.pid)  # type: ignore[union-attr]
    second = _run_daemon(daemon, "-H", f"unix://{daemon.tmp}/second.sock")
    assert second.returncode == 1
    assert "another dockwright daemon" in second.stderr and str(daemon.data_root) in second.stderr
    assert daemon.request("GET", "/_ping") == (200, b"OK")
    assert daemon.stop(signal.SIGTERM) == 0
    assert not os.path.exists(daemon.socket) and not pidfile.exists()


def test_config_file(daemon: DaemonProc) -> None:
    cfg = daemon.tmp / "daemon.json"
    cfg.write_text(json.dumps({"no-such-key": 1}))
    r = _run_daemon(daemon, "--config-file", str(cfg), "-H", f"unix://{daemon.socket}")
    assert r.returncode == 1 and "don't match any configuration option: no-such-key" in r.stderr
    cfg.write_text("{broken")
    r = _run_daemon(daemon, "--config-file", str(cfg), "-H", f"unix://{daemon.socket}")
    assert r.returncode == 1 and "unable to configure the daemon" in r.stderr
    cfg.write_text(json.dumps({"labels": ["team=infra"], "insecure-registries": ["myreg:5000"],
                               "default-runtime": "runc"}))
    daemon.extra_args = ["--config-file", str(cfg)]
    daemon.start()
    status, body = daemon.request("GET", "/v1.47/info")
    info = json.loads(body)
    assert info["Labels"] == ["team=infra"]
    assert info["RegistryConfig"]["IndexConfigs"]["myreg:5000"]["Secure"] is False


def test_plain_tcp_refused_off_loopback(daemon: DaemonProc) -> None:
    r = _run_daemon(daemon, "-H", "tcp://0.0.0.0:23999")
    assert r.returncode == 1 and "without TLS" in r.stderr


def test_tcp_loopback_and_tls(daemon: DaemonProc) -> None:
    port, tls_port = free_port(), free_port()
    certs = make_tls(daemon.tmp / "certs")
    daemon.extra_args = [
        "-H", f"tcp://127.0.0.1:{port}",
        "--tlsverify", "--tlscacert", str(certs["ca.pem"]), "--tlscert", str(certs["server-cert.pem"]),
        "--tlskey", str(certs["server-key.pem"]),
    ]
    # the TLS flags apply to every TCP host; the loopback one gets them too
    daemon.start()
    env = dict(daemon.env, DOCKER_HOST=f"tcp://127.0.0.1:{port}", DOCKER_TLS_VERIFY="1",
               DOCKER_CERT_PATH=str(certs["ca.pem"].parent))
    r = subprocess.run([DOCKER, "version", "--format", "{{.Server.APIVersion}}"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1.47"
    env.pop("DOCKER_TLS_VERIFY")
    env["DOCKER_CERT_PATH"] = str(daemon.tmp / "nocerts")
    r = subprocess.run([DOCKER, "version"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0  # no client certificate: refused
    _ = tls_port, Path
