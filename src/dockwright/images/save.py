"""``docker save``: one tarball for several images, in Docker 25's layout.

The tar is an OCI image layout (``oci-layout``, ``index.json``,
``blobs/sha256/...``) that also carries the legacy ``manifest.json``, so
both old ``docker load`` (which reads manifest.json) and OCI tools accept
it. Layer blobs are written as stored (as imported, loaded or pulled), so the
bytes and diff IDs round-trip exactly. Written as a stream: entries are
added one by one with their known sizes.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..content.store import ContentStore
from ..errors import DataLoss
from ..oci import mediatypes
from ..oci.digest import Digest, sha256_bytes
from ..oci.reference import Reference
from .model import ImageRecord
from .store import ImageStore

_OCI_LAYER_TYPE = {
    mediatypes.DOCKER_LAYER: mediatypes.OCI_LAYER,
    mediatypes.DOCKER_LAYER_GZIP: mediatypes.OCI_LAYER_GZIP,
    mediatypes.OCI_LAYER_ZSTD: mediatypes.OCI_LAYER_ZSTD,
    mediatypes.OCI_LAYER: mediatypes.OCI_LAYER,
    mediatypes.OCI_LAYER_GZIP: mediatypes.OCI_LAYER_GZIP,
}
_MTIME = 0


@dataclass
class SaveItem:
    image: ImageRecord
    refs: list[Reference] = field(default_factory=list)


def _blob_name(digest: str) -> str:
    alg, _, hexpart = digest.partition(":")
    return f"blobs/{alg}/{hexpart}"


def _info(name: str, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.mode = 0o644
    ti.mtime = _MTIME
    return ti


def _dir(name: str) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    ti.mtime = _MTIME
    return ti


def write_archive(out: BinaryIO, items: list[SaveItem], store: ImageStore, content: ContentStore) -> None:
    written: set[str] = set()
    index: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_dir("blobs"))
        tar.addfile(_dir("blobs/sha256"))

        def add_bytes(digest: str, data: bytes) -> None:
            if digest in written:
                return
            written.add(digest)
            tar.addfile(_info(_blob_name(digest), len(data)), io.BytesIO(data))

        def add_blob(digest: str) -> None:
            if digest in written:
                return
            try:
                info = content.info(Digest(digest))
                f = content.open(Digest(digest))
            except Exception as exc:
                raise DataLoss(f"blob {digest} is missing from the content store; run dockwright system check") from exc
            with f:
                written.add(digest)
                tar.addfile(_info(_blob_name(digest), info.size), f)

        for item in items:
            img = item.image
            add_bytes(img.id, img.config_bytes)
            layer_descs = []
            layer_paths = []
            for layer in img.layers:
                blobs = store.layer_blobs(layer.diff_id)
                if not blobs:
                    raise DataLoss(f"layer {layer.diff_id} has no stored blob; it cannot be saved")
                digest, media_type, size = blobs[0]
                add_blob(digest)
                layer_descs.append(
                    {"mediaType": _OCI_LAYER_TYPE.get(media_type, media_type), "digest": digest, "size": size}
                )
                layer_paths.append(_blob_name(digest))
            manifest = {
                "schemaVersion": 2,
                "mediaType": mediatypes.OCI_MANIFEST,
                "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": img.id, "size": len(img.config_bytes)},
                "layers": layer_descs,
            }
            mbytes = json.dumps(manifest, separators=(",", ":")).encode()
            mdigest = sha256_bytes(mbytes)
            add_bytes(mdigest, mbytes)
            desc = {"mediaType": mediatypes.OCI_MANIFEST, "digest": mdigest, "size": len(mbytes)}
            tags = [r for r in item.refs if r.tag]
            if tags:
                for ref in tags:
                    index.append(
                        desc
                        | {
                            "annotations": {
                                "io.containerd.image.name": str(ref),
                                "org.opencontainers.image.ref.name": ref.tag,
                            }
                        }
                    )
            else:
                index.append(dict(desc))
            legacy.append(
                {
                    "Config": _blob_name(img.id),
                    "RepoTags": [r.familiar() for r in tags],
                    "Layers": layer_paths,
                }
            )
        for name, obj in (
            ("index.json", {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": index}),
            ("manifest.json", legacy),
            ("oci-layout", {"imageLayoutVersion": "1.0.0"}),
        ):
            data = json.dumps(obj, separators=(",", ":")).encode()
            tar.addfile(_info(name, len(data)), io.BytesIO(data))
