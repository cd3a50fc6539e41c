"""Records the image store hands out: immutable snapshots of rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LayerRecord:
    chain_id: str
    diff_id: str
    parent: str
    size: int  # bytes of file content unpacked in this layer


@dataclass(frozen=True)
class ImageRecord:
    id: str  # config digest, "sha256:..."
    config_bytes: bytes
    layers: tuple[LayerRecord, ...]
    refs: tuple[str, ...]  # normalised references pointing at it (tags and digests)
    created: str
    size: int  # sum of layer sizes
    parent: str
    source: str
    added_at: float
    last_tag_time: float
    manifest_digest: str = ""
    manifest_media_type: str = ""
    _config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def config(self) -> dict[str, Any]:
        if not self._config:
            object.__setattr__(self, "_config", json.loads(self.config_bytes))
        return self._config

    @property
    def labels(self) -> dict[str, str]:
        cfg = self.config.get("config") or {}
        labels = cfg.get("Labels") or {}
        return dict(labels) if isinstance(labels, dict) else {}

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    @property
    def top_chain(self) -> str:
        return self.layers[-1].chain_id if self.layers else ""
