"""Manifests and indexes as pull and push need them: parse, pick a platform, build.

Docker schema 2 and OCI v1 share one shape (``config`` + ``layers``); a
manifest list or OCI index names one manifest per platform and we pick the
one matching ``--platform`` (default linux/amd64, variants as Docker
normalises them).
"""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameter, NotFound
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, Platform


@dataclass(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidParameter(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidParameter(f"{what} must be a JSON object")
    return data


def media_type_of(body: bytes, header: str) -> str:
    """The manifest's own mediaType wins over a missing or generic Content-Type."""
    data = _json(body, "manifest")
    mt = data.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if header in mediatypes.MANIFESTS | mediatypes.INDEXES:
        return header
    if "manifests" in data:
        return mediatypes.OCI_INDEX
    if data.get("schemaVersion") == 1:
        raise InvalidParameter("schema 1 manifests are not supported: push the image again with a current client")
    return mediatypes.OCI_MANIFEST


def parse_manifest(body: bytes, media_type: str) -> ImageManifest:
    data = _json(body, "manifest")
    try:
        config = Descriptor.from_json(data["config"])
        layers = tuple(Descriptor.from_json(x) for x in data.get("layers") or [])
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidParameter(f"malformed image manifest: {exc}") from exc
    return ImageManifest(media_type, config, layers)


def parse_index(body: bytes) -> list[Descriptor]:
    data = _json(body, "index")
    try:
        return [Descriptor.from_json(x) for x in data.get("manifests") or []]
    except (ValueError, TypeError) as exc:
        raise InvalidParameter(f"malformed image index: {exc}") from exc


_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "i386": "386"}


def host_platform() -> Platform:
    m = _platform.machine()
    arch = _ARCH.get(m, m)
    return Platform("linux", arch, "v8" if arch == "arm64" else ("v7" if arch == "arm" else ""))


def parse_platform(value: str) -> Platform:
    """``linux/arm64/v8``, ``linux/amd64``, ``arm64`` -> Platform; empty = the host's."""
    if not value:
        return host_platform()
    parts = value.strip().lower().split("/")
    if len(parts) == 1:
        os_, arch, variant = "linux", parts[0], ""
    elif len(parts) == 2:
        os_, arch, variant = parts[0], parts[1], ""
    elif len(parts) == 3:
        os_, arch, variant = parts
    else:
        raise InvalidParameter(f"invalid platform {value!r}: use os/arch[/variant], e.g. linux/arm64")
    arch = _ARCH.get(arch, arch)
    if arch == "arm64" and variant == "":
        variant = "v8"
    return Platform(os_, arch, variant)


def _norm_variant(p: Platform) -> str:
    if p.architecture == "arm64" and p.variant in ("", "v8"):
        return "v8"
    return p.variant


def choose(entries: list[Descriptor], want: Platform) -> Descriptor:
    """The index entry for ``want``; variantless entries match any variant of the arch."""
    candidates: list[tuple[int, Descriptor]] = []
    for d in entries:
        p = d.platform
        if p is None or d.media_type not in mediatypes.MANIFESTS | {""}:
            continue
        if p.os != want.os or p.architecture != want.architecture:
            continue
        got_v, want_v = _norm_variant(p), _norm_variant(want)
        if got_v == want_v:
            candidates.append((0, d))
        elif not got_v or not want_v:
            candidates.append((1, d))
    if not candidates:
        desc = "/".join(x for x in (want.os, want.architecture, want.variant) if x)
        raise NotFound(f"no matching manifest for {desc} in the manifest list entries")
    candidates.sort(key=lambda c: c[0])
    return candidates[0][1]


def image_manifest_json(media_type: str, config: Descriptor, layers: list[Descriptor]) -> bytes:
    """Bytes of a schema 2 or OCI manifest, laid out as the docker CLI writes them."""
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.to_json(),
        "layers": [x.to_json() for x in layers],
    }
    return json.dumps(doc, indent=3).encode()
