"""Which blob a layer became on which registry: so a re-push compresses nothing.

A JSON file under the data root (``<data-root>/distribution/blobsums.json``),
small and rewritten atomically (tmp + rename)::

    {"<registry domain>": {"<diff id>": [{"digest": "sha256:...",
                                           "mediaType": "...", "size": N,
                                           "repository": "library/busybox"}, ...]}}

Push consults it before compressing: a blob the registry already has under
this repository is skipped after a HEAD, one it has under another repository
is mounted. Pull records what it fetched, so pushing a pulled image back (or
to a sibling repository) uploads nothing. Entries are hints, always checked
against the registry; losing the file only costs a recompression.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PushedBlob:
    digest: str
    media_type: str
    size: int
    repository: str


class BlobSums:
    MAX_PER_LAYER = 8

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, list[dict[str, Any]]]] | None = None

    def _load(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text())
                self._data = raw if isinstance(raw, dict) else {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def lookup(self, registry: str, diff_id: str) -> list[PushedBlob]:
        with self._lock:
            entries = self._load().get(registry, {}).get(diff_id, [])
            out = []
            for e in entries:
                try:
                    out.append(PushedBlob(str(e["digest"]), str(e["mediaType"]), int(e["size"]),
                                          str(e["repository"])))
                except (KeyError, TypeError, ValueError):
                    continue
            return out

    def add(self, registry: str, diff_id: str, blob: PushedBlob) -> None:
        with self._lock:
            data = self._load()
            entries = data.setdefault(registry, {}).setdefault(diff_id, [])
            new = {"digest": blob.digest, "mediaType": blob.media_type, "size": blob.size,
                   "repository": blob.repository}
            entries[:] = [e for e in entries if not (e.get("digest") == blob.digest
                                                     and e.get("repository") == blob.repository)]
            entries.insert(0, new)
            del entries[self.MAX_PER_LAYER:]
            self._save(data)

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, self.path)
