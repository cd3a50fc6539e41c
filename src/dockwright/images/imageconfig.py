"""Image configs as Docker writes them (``application/vnd.docker.container.image.v1+json``)."""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from typing import Any


def now_rfc3339() -> str:
    t = time.time_ns()
    dt = datetime.fromtimestamp(t // 1_000_000_000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{t % 1_000_000_000:09d}Z"


def go_arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


def parse_created(value: str) -> float:
    """RFC 3339 with nanoseconds (Go's format) to a Unix timestamp; 0 when unparsable."""
    if not value:
        return 0.0
    v = value.strip()
    frac = 0.0
    if "." in v:
        head, _, rest = v.partition(".")
        digits = ""
        for ch in rest:
            if ch.isdigit():
                digits += ch
            else:
                break
        tz = rest[len(digits):]
        frac = float("0." + digits) if digits else 0.0
        v = head + tz
    v = v.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(v).timestamp() + frac
    except ValueError:
        return 0.0


def new_config(
    diff_ids: list[str],
    *,
    config: dict[str, Any] | None = None,
    comment: str = "",
    created_by: str = "",
    author: str = "",
    history: list[dict[str, Any]] | None = None,
    created: str | None = None,
    os_name: str = "linux",
    architecture: str | None = None,
    variant: str = "",
) -> dict[str, Any]:
    created = created or now_rfc3339()
    entry: dict[str, Any] = {"created": created}
    if author:
        entry["author"] = author
    if created_by:
        entry["created_by"] = created_by
    if comment:
        entry["comment"] = comment
    out: dict[str, Any] = {"architecture": architecture or go_arch()}
    if author:
        out["author"] = author
    if comment:
        out["comment"] = comment
    out["config"] = config or {}
    out["created"] = created
    out["history"] = list(history or []) + [entry]
    out["os"] = os_name
    out["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    if variant:
        out["variant"] = variant
    return out


def encode(cfg: dict[str, Any]) -> bytes:
    """Canonical bytes: the image ID is the digest of exactly these."""
    return json.dumps(cfg, separators=(",", ":"), ensure_ascii=False).encode()
