"""Content descriptors and platforms (OCI image spec)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .digest import Digest, parse_digest


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Platform:
        return cls(
            os=str(data.get("os", "linux")),
            architecture=str(data.get("architecture", "amd64")),
            variant=str(data.get("variant", "") or ""),
        )


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.urls:
            out["urls"] = list(self.urls)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        if not isinstance(data, dict):
            raise ValueError("descriptor must be an object")
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("descriptor size must be a non-negative integer")
        mt = data.get("mediaType", "")
        if not isinstance(mt, str):
            raise ValueError("descriptor mediaType must be a string")
        plat = data.get("platform")
        ann = data.get("annotations") or {}
        if not isinstance(ann, dict):
            raise ValueError("descriptor annotations must be an object")
        return cls(
            media_type=mt,
            digest=parse_digest(data.get("digest", "")),
            size=size,
            annotations={str(k): str(v) for k, v in ann.items()},
            platform=Platform.from_json(plat) if isinstance(plat, dict) else None,
            urls=tuple(data.get("urls") or ()),
            artifact_type=str(data.get("artifactType", "") or ""),
        )
