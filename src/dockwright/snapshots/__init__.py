"""Snapshotters (overlay, native copying fallback) and mount helpers; see ``types`` for the vocabulary."""

from dockwright.snapshots.mount import Mount, mount_all, temp_mount, unmount
from dockwright.snapshots.native import NativeSnapshotter
from dockwright.snapshots.overlay import OverlaySnapshotter, overlay_supported
from dockwright.snapshots.types import Kind, SnapshotInfo, Snapshotter, Usage

__all__ = [
    "Kind",
    "Mount",
    "NativeSnapshotter",
    "OverlaySnapshotter",
    "SnapshotInfo",
    "Snapshotter",
    "Usage",
    "mount_all",
    "overlay_supported",
    "temp_mount",
    "unmount",
]
