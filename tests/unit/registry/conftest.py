"""A real registry on 127.0.0.1 (port 0) in a background thread, driven with requests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dockwright.registry.app import serve
from dockwright.registry.config import Config, from_dict


class Server:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "registry did not start"
        scheme = "https" if cfg.tls_certificate else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def ready(host: str, port: int) -> None:
                self.port = port
                self._ready.set()

            await serve(self.cfg, ready=ready, stop=self._stop)

        asyncio.run(main())

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def config(root: Path, **extra: Any) -> Config:
    doc: dict[str, Any] = {
        "version": "0.1",
        "http": {"addr": "127.0.0.1:0"},
        "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True}},
        "log": {"accesslog": {"disabled": True}},
    }
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(doc.get(k), dict):
            doc[k] = {**doc[k], **v}
        else:
            doc[k] = v
    return from_dict(doc)


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(cfg: Config | None = None, **extra: Any) -> Server:
        s = Server(cfg or config(tmp_path / f"root{len(servers)}", **extra))
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def registry(start_registry: Callable[..., Server]) -> Server:
    return start_registry()


class Client:
    def __init__(self, url: str, **kw: Any) -> None:
        self.url = url
        self.s = requests.Session()
        self.verify = kw.pop("verify", None)  # per request: REQUESTS_CA_BUNDLE beats Session.verify
        for k, v in kw.items():
            setattr(self.s, k, v)

    def req(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        if self.verify is not None:
            kw.setdefault("verify", self.verify)
        return self.s.request(method, self.url + path, **kw)

    def push_blob(self, repo: str, data: bytes) -> str:
        d = sha256(data)
        r = self.req("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", data=data)
        assert r.status_code == 201, r.text
        return d

    def push_manifest(self, repo: str, ref: str, doc: dict[str, Any]) -> tuple[str, requests.Response]:
        data = json.dumps(doc).encode()
        r = self.req("PUT", f"/v2/{repo}/manifests/{ref}", data=data,
                     headers={"Content-Type": doc.get("mediaType", "application/vnd.oci.image.manifest.v1+json")})
        return sha256(data), r

    def push_image(self, repo: str, tag: str, layer: bytes = b"layer", **extra: Any) -> tuple[str, dict[str, Any]]:
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "layer": layer.hex()[:16]}).encode()
        doc = image_manifest(self.push_blob(repo, cfg), len(cfg), self.push_blob(repo, layer), len(layer), **extra)
        d, r = self.push_manifest(repo, tag, doc)
        assert r.status_code == 201, r.text
        return d, doc

    def close(self) -> None:
        self.s.close()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_manifest(cfg_digest: str, cfg_size: int, layer_digest: str, layer_size: int,
                   **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": layer_size}],
    }
    doc.update(extra)
    return doc


@pytest.fixture
def client(registry: Server) -> Iterator[Client]:
    c = Client(registry.url)
    yield c
    c.close()


def error_code(r: requests.Response) -> str:
    return str(r.json()["errors"][0]["code"])
