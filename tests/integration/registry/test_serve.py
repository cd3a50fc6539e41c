"""``dockwright registry serve``: flags, env overrides, access log, health and metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.ports import free_port, wait_for_port

from .conftest import RegistryProc, skopeo
from .layouts import single_image


def test_serve_without_config_uses_flags(tmp_path: Path) -> None:
    port = free_port()
    root = tmp_path / "root"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockwright", "registry", "serve", "--addr", f"127.0.0.1:{port}", "--root", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        wait_for_port(port)
        r = requests.post(f"http://127.0.0.1:{port}/v2/x/blobs/uploads/", timeout=5)
        assert r.status_code == 202
        assert (root / "docker/registry/v2/repositories/x/_uploads").is_dir()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_env_override_access_log_health_metrics(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    reg = start_proc({"storage": {"delete": {"enabled": False}}},
                     env={"REGISTRY_STORAGE_DELETE_ENABLED": "true"})
    src = tmp_path / "img"
    desc = single_image(src, "v1")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:v1", f"docker://{reg.addr}/logged:v1")
    r = requests.delete(f"{reg.url}/v2/logged/manifests/{desc['digest']}", timeout=5)
    assert r.status_code == 202  # the env override enabled deletes
    assert reg.get("/debug/health").status_code == 200
    metrics = reg.get("/metrics").text
    assert 'registry_http_requests_total{route="manifest",method="PUT",code="201"} 1' in metrics
    time.sleep(0.2)
    log = reg.log.read_text()
    line = next(ln for ln in log.splitlines() if "method=PUT" in ln and "route=manifest" in ln)
    for key in ("request_id=", "repo=logged", f"digest={desc['digest']}", "bytes_in=", "duration="):
        assert key in line


REGISTRY2_CONFIG = """
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""


def test_registry2_users_config_file(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "config.yml"
    cfg.write_text(REGISTRY2_CONFIG.format(root=tmp_path / "data", addr=f"127.0.0.1:{port}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_CONFIGURATION_PATH"] = str(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "dockwright", "registry", "serve"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_for_port(port)
        src = tmp_path / "img"
        single_image(src, "v1")
        skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:v1", f"docker://127.0.0.1:{port}/r2/app:v1")
        r = requests.get(f"http://127.0.0.1:{port}/v2/r2/app/tags/list", timeout=5)
        assert r.json() == {"name": "r2/app", "tags": ["v1"]}
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert (tmp_path / "data/docker/registry/v2/repositories/r2/app/_manifests/tags/v1/current/link").exists()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_json_log_formatter(start_proc: Callable[..., RegistryProc]) -> None:
    import json

    reg = start_proc({"log": {"formatter": "json", "level": "info"}})
    assert reg.get("/v2/").status_code == 200
    time.sleep(0.2)
    lines = [json.loads(ln) for ln in reg.log.read_text().splitlines() if ln.startswith("{")]
    assert any("route=base" in ln["msg"] and ln["logger"] == "dockwright.registry.access" for ln in lines)
