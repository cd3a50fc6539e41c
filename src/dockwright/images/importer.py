"""``docker import``: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image."""

from __future__ import annotations

from typing import BinaryIO

from ..content.store import ContentStore
from ..metadata.leases import Lease
from ..oci.digest import Digest
from ..oci.reference import Reference
from .changes import apply_changes
from .imageconfig import encode, new_config
from .store import ImageStore
from .unpack import LayerSnapshotter, unpack_layer


def import_rootfs(
    stream: BinaryIO,
    store: ImageStore,
    content: ContentStore,
    snapshotter: LayerSnapshotter,
    lease: Lease,
    *,
    source: str = "-",
    message: str = "",
    changes: list[str] | None = None,
    refs: list[Reference] | None = None,
    platform_os: str = "linux",
    architecture: str | None = None,
) -> tuple[str, list[tuple[str, str | None]]]:
    config: dict[str, object] = {}
    apply_changes(config, changes or [])  # before the unpack: a bad change fails fast
    layer, blob = unpack_layer(store, content, snapshotter, stream, "")
    lease.snapshots.add(layer.chain_id)
    lease.blobs.add(blob[0])
    cfg = new_config(
        [layer.diff_id],
        config=config,
        comment=message or f"Imported from {source}",
        os_name=platform_os,
        architecture=architecture,
    )
    if not message:
        cfg.pop("comment", None)
    data = encode(cfg)
    image_id = str(content.put_bytes(data))
    lease.blobs.add(Digest(image_id))
    _, moved = store.add(image_id, [layer], created=str(cfg["created"]), source="import", refs=refs or [])
    return image_id, moved
