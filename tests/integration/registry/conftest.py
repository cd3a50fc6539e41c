"""A real ``dockwright registry serve`` process on 127.0.0.1 and skopeo as the client."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.support.moto import moto_server
from tests.support.ports import free_port, wait_for_port

SKOPEO = shutil.which("skopeo")


class RegistryProc:
    def __init__(self, workdir: Path, doc: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        doc.setdefault("version", "0.1")
        doc.setdefault("http", {})["addr"] = self.addr
        self.root = workdir / "storage"
        storage = doc.setdefault("storage", {})
        if "s3" not in storage and "inmemory" not in storage:
            storage.setdefault("filesystem", {"rootdirectory": str(self.root)})
        self.config = workdir / "config.yml"
        self.config.write_text(yaml.safe_dump(doc))
        self.log = workdir / "registry.log"
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        tls = doc.get("http", {}).get("tls")
        self.url = f"{'https' if tls else 'http'}://{self.addr}"

    def start(self) -> RegistryProc:
        env = {**os.environ, **self.env}
        env.pop("REGISTRY_HTTP_ADDR", None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dockwright", "registry", "serve", str(self.config)],
                stdout=log, stderr=log, env=env, start_new_session=True,
            )
        if wait_for_port(self.port, 15, self.proc):
            return self
        if self.proc.poll() is not None:
            raise RuntimeError(f"registry exited: {self.log.read_text()[-2000:]}")
        raise RuntimeError("registry did not start listening")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def gc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dockwright", "registry", "gc", str(self.config), *args],
            capture_output=True, text=True, timeout=60, check=True,
        )

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kw)


@pytest.fixture
def start_proc(tmp_path: Path) -> Iterator[Callable[..., RegistryProc]]:
    procs: list[RegistryProc] = []

    def start(doc: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> RegistryProc:
        wd = tmp_path / f"reg{len(procs)}"
        wd.mkdir()
        p = RegistryProc(wd, doc or {"storage": {"delete": {"enabled": True}}}, env)
        procs.append(p)
        return p.start()

    yield start
    for p in procs:
        p.stop()


def skopeo(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if SKOPEO is None:
        pytest.skip("skopeo is not installed")
    r = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {r.stderr}")
    return r


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint
