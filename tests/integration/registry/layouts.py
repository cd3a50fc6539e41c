"""Hand-made OCI image layouts for skopeo to copy: one image, or a multi-arch index."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1_700_000_000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def blob(self, data: bytes) -> str:
        d = _sha(data)
        (self.root / "blobs" / "sha256" / d.split(":")[1]).write_bytes(data)
        return d

    def image(self, arch: str = "amd64", files: dict[str, bytes] | None = None,
              extra_layer: bytes | None = None) -> dict[str, Any]:
        """Write an image; returns its manifest descriptor."""
        raw = layer_tar(files or {"etc/hello": f"hello from {arch}\n".encode()})
        gz = gzip.compress(raw, mtime=0)
        layers = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": self.blob(gz),
                   "size": len(gz)}]
        diff_ids = [_sha(raw)]
        if extra_layer is not None:
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": self.blob(extra_layer),
                           "size": len(extra_layer)})
            diff_ids.append(_sha(extra_layer))
        config = json.dumps({
            "architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": self.blob(config),
                       "size": len(config)},
            "layers": layers,
        }).encode()
        return {"mediaType": OCI_MANIFEST, "digest": self.blob(manifest), "size": len(manifest),
                "platform": {"architecture": arch, "os": "linux"}}

    def index(self, manifests: list[dict[str, Any]]) -> dict[str, Any]:
        data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
        return {"mediaType": OCI_INDEX, "digest": self.blob(data), "size": len(data)}

    def tag(self, desc: dict[str, Any], tag: str) -> None:
        p = self.root / "index.json"
        doc = json.loads(p.read_text()) if p.exists() else {"schemaVersion": 2, "manifests": []}
        d = {k: v for k, v in desc.items() if k != "platform"}
        d["annotations"] = {"org.opencontainers.image.ref.name": tag}
        doc["manifests"].append(d)
        p.write_text(json.dumps(doc))


def single_image(root: Path, tag: str = "latest", **kw: Any) -> dict[str, Any]:
    lay = Layout(root)
    desc = lay.image(**kw)
    lay.tag(desc, tag)
    return desc


def multi_arch(root: Path, tag: str = "latest") -> dict[str, Any]:
    lay = Layout(root)
    idx = lay.index([lay.image("amd64"), lay.image("arm64")])
    lay.tag(idx, tag)
    return idx


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
