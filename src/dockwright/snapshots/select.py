"""Pick the snapshotter for a data root: overlay where the kernel allows it, else native.

Each driver keeps its own root (``<data-root>/snapshots/overlay``, ``.../native``) so
switching drivers never mixes their metadata; ``info`` can show ``reason`` when the
daemon fell back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockwright.errors import InvalidParameter, Unavailable
from dockwright.snapshots.base import BaseSnapshotter
from dockwright.snapshots.native import NativeSnapshotter
from dockwright.snapshots.overlay import OverlaySnapshotter


@dataclass(frozen=True)
class Selected:
    snapshotter: BaseSnapshotter
    driver: str  # "overlay" or "native"
    reason: str  # why not overlay, when native was chosen automatically; "" otherwise


def open_snapshotter(root: Path, driver: str = "auto") -> Selected:
    """``driver``: "overlay", "native" or "auto" (overlay when it works here)."""
    if driver not in ("auto", "overlay", "overlay2", "native", "vfs"):
        raise InvalidParameter(f"unknown storage driver {driver!r}: use overlay or native")
    if driver in ("native", "vfs"):
        return Selected(NativeSnapshotter(root / "native"), "native", "")
    try:
        OverlaySnapshotter.check(root / "overlay")
    except (Unavailable, InvalidParameter) as exc:
        if driver != "auto":
            raise Unavailable(f"overlay storage driver unusable: {exc}") from exc
        return Selected(NativeSnapshotter(root / "native"), "native", str(exc))
    return Selected(OverlaySnapshotter(root / "overlay"), "overlay", "")
