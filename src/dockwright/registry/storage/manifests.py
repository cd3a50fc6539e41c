"""Manifest revisions of one repository: validation on put, referrers on the side.

A manifest is stored as a blob (exact bytes, as the spec requires) and linked
under ``_manifests/revisions``. Before that, everything it references must be
in the repository: config and layers linked, child manifests of an index
pushed. A manifest with a ``subject`` is also linked under ``_referrers``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dockwright.oci import mediatypes as mt
from dockwright.oci.digest import Digest, DigestError, parse_digest

from ..errcode import MANIFEST_BLOB_UNKNOWN, MANIFEST_INVALID, MANIFEST_UNKNOWN, RegistryError
from . import paths
from .blobs import BlobStore, LinkedBlobStore, read_link
from .driver.base import PathNotFound, StorageDriver

MAX_MANIFEST = 4 * 1024 * 1024
SUPPORTED = frozenset({mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST})
SCHEMA1 = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)


@dataclass(frozen=True)
class Parsed:
    """What the registry needs to know about a manifest's JSON."""

    media_type: str
    references: tuple[Digest, ...]  # config and layers (blobs)
    children: tuple[Digest, ...]  # manifests of an index
    subject: Digest | None
    artifact_type: str
    annotations: dict[str, str]


def _invalid(msg: str) -> RegistryError:
    return RegistryError(MANIFEST_INVALID, msg)


def _desc_digest(d: Any, where: str) -> Digest:
    if not isinstance(d, dict):
        raise _invalid(f"{where} must be a descriptor object")
    try:
        digest = parse_digest(d.get("digest", ""))
    except DigestError as exc:
        raise _invalid(f"{where}: {exc}") from exc
    size = d.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}: size must be a non-negative integer")
    if not isinstance(d.get("mediaType", ""), str):
        raise _invalid(f"{where}: mediaType must be a string")
    return digest


def parse_manifest(data: bytes, content_type: str = "") -> Parsed:
    if len(data) > MAX_MANIFEST:
        raise RegistryError(MANIFEST_INVALID, f"manifest is larger than {MAX_MANIFEST} bytes", status=413)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _invalid("manifest must be a JSON object")
    ctype = content_type.split(";", 1)[0].strip()
    field = doc.get("mediaType")
    if field is not None and not isinstance(field, str):
        raise _invalid("mediaType must be a string")
    if field and ctype and ctype not in ("application/json", "application/octet-stream") and field != ctype:
        raise _invalid(f"mediaType {field} does not match Content-Type {ctype}")
    media_type = field or ctype
    if media_type in SCHEMA1 or doc.get("schemaVersion") == 1:
        raise _invalid("Docker image manifest schema 1 is not supported; push schema 2 or OCI")
    if media_type not in SUPPORTED:
        if "manifests" in doc:
            media_type = mt.OCI_INDEX
        elif "config" in doc:
            media_type = mt.OCI_MANIFEST
        else:
            raise _invalid(f"unsupported manifest media type {media_type!r}")
    if doc.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2")
    refs: list[Digest] = []
    children: list[Digest] = []
    if media_type in mt.INDEXES:
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            raise _invalid("an index needs a manifests array")
        for i, d in enumerate(manifests):
            children.append(_desc_digest(d, f"manifests[{i}]"))
    else:
        refs.append(_desc_digest(doc.get("config"), "config"))
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise _invalid("a manifest needs a layers array")
        for i, d in enumerate(layers):
            dig = _desc_digest(d, f"layers[{i}]")
            if not d.get("urls"):  # foreign layers live elsewhere
                refs.append(dig)
    subject = _desc_digest(doc["subject"], "subject") if doc.get("subject") is not None else None
    artifact_type = doc.get("artifactType") or ""
    if not isinstance(artifact_type, str):
        raise _invalid("artifactType must be a string")
    if not artifact_type and media_type in mt.MANIFESTS and isinstance(doc.get("config"), dict):
        artifact_type = str(doc["config"].get("mediaType", ""))
    ann = doc.get("annotations") or {}
    if not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values()):
        raise _invalid("annotations must be an object of strings")
    return Parsed(media_type, tuple(refs), tuple(children), subject, artifact_type, dict(ann))


def digest_of(data: bytes, alg: str = "sha256") -> Digest:
    return Digest(f"{alg}:{hashlib.new(alg, data).hexdigest()}")


class ManifestStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore, layers: LinkedBlobStore, repo: str) -> None:
        self.driver = driver
        self.blobs = blobs
        self.layers = layers
        self.repo = repo

    def exists(self, digest: str) -> bool:
        try:
            self.driver.stat(paths.revision_link(self.repo, digest))
        except PathNotFound:
            return False
        return self.blobs.exists(digest)

    def get(self, digest: str) -> bytes:
        if not self.exists(digest):
            raise RegistryError(MANIFEST_UNKNOWN, detail={"digest": digest})
        return self.blobs.get(digest)

    def put(
        self, data: bytes, content_type: str, *, alg: str = "sha256", verify: bool = True
    ) -> tuple[Digest, Parsed]:
        """Store a manifest; ``verify=False`` (pull-through cache) skips the reference checks."""
        parsed = parse_manifest(data, content_type)
        for d in parsed.references if verify else ():
            if not self.layers.linked(d) or not self.blobs.exists(d):
                raise RegistryError(MANIFEST_BLOB_UNKNOWN, f"blob unknown to registry: {d}", {"digest": d})
        for d in parsed.children if verify else ():
            if not self.exists(d):
                raise RegistryError(
                    MANIFEST_BLOB_UNKNOWN, f"manifest unknown to registry: {d}", {"digest": d}
                )
        digest = digest_of(data, alg)
        self.blobs.put(digest, data)
        self.driver.put_content(paths.revision_link(self.repo, digest), digest.encode())
        if parsed.subject is not None:
            self.driver.put_content(paths.referrer_link(self.repo, parsed.subject, digest), digest.encode())
        return digest, parsed

    def delete(self, digest: str) -> None:
        if not self.exists(digest):
            raise RegistryError(MANIFEST_UNKNOWN, detail={"digest": digest})
        try:
            parsed: Parsed | None = parse_manifest(self.blobs.get(digest))
        except RegistryError:
            parsed = None
        self.driver.delete(paths.revision_link(self.repo, digest).rsplit("/", 1)[0])
        if parsed is not None and parsed.subject is not None:
            try:
                self.driver.delete(paths.referrer_link(self.repo, parsed.subject, digest).rsplit("/", 1)[0])
            except PathNotFound:
                pass

    def all(self) -> Iterator[Digest]:
        try:
            for fi in self.driver.walk(paths.revisions(self.repo)):
                if fi.path.endswith("/link"):
                    try:
                        yield parse_digest(paths.digest_from_parts(fi.path.split("/")))
                    except DigestError:
                        continue
        except PathNotFound:
            return

    def referrers(self, subject: str) -> list[dict[str, Any]]:
        """Descriptors of the manifests in this repository whose subject is ``subject``."""
        out: list[dict[str, Any]] = []
        try:
            links = [fi.path for fi in self.driver.walk(paths.referrers(self.repo, subject))]
        except PathNotFound:
            return out
        for link in links:
            if not link.endswith("/link"):
                continue
            try:
                digest = read_link(self.driver, link)
                data = self.get(digest)
                parsed = parse_manifest(data)
            except (PathNotFound, RegistryError):
                continue
            desc: dict[str, Any] = {"mediaType": parsed.media_type, "digest": digest, "size": len(data)}
            if parsed.artifact_type:
                desc["artifactType"] = parsed.artifact_type
            if parsed.annotations:
                desc["annotations"] = parsed.annotations
            out.append(desc)
        out.sort(key=lambda d: str(d["digest"]))
        return out
