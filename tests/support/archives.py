"""Generated image archives for tests and benchmarks: docker-save tarballs of random layers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path


def big_archive(path: Path, *, layers: int = 3, mib: int = 48, tag: str = "big:crash") -> str:
    """A legacy docker-save tarball with ``layers`` random layers of ``mib`` MiB; returns the image ID."""
    diff_ids = []
    layer_tars = []
    for i in range(layers):
        ltar = path.parent / f".{path.name}.layer{i}.tar"
        h = hashlib.sha256()
        with tarfile.open(ltar, "w", format=tarfile.PAX_FORMAT) as t:
            ti = tarfile.TarInfo(f"data{i}.bin")
            ti.size = mib << 20
            t.addfile(ti, io.BytesIO(os.urandom(ti.size)))
        with open(ltar, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        diff_ids.append("sha256:" + h.hexdigest())
        layer_tars.append(ltar)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "created": "2026-01-01T00:00:00Z"}).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [tag],
                            "Layers": [f"l{i}/layer.tar" for i in range(layers)]}]).encode()
    with tarfile.open(path, "w") as t:
        for i, ltar in enumerate(layer_tars):
            t.add(ltar, f"l{i}/layer.tar")
            ltar.unlink()
        for name, data in ((cfg_name, config), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return "sha256:" + hashlib.sha256(config).hexdigest()


def tiny_rootfs(label: str) -> bytes:
    """A one-file rootfs whose content differs per ``label`` (so every import is a new layer)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = f"{label}\n".encode()
        ti = tarfile.TarInfo("id.txt")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
