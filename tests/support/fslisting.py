"""The filesystem of an image from its ``docker save`` tarball, without unpacking it to disk.

Layers are applied in order in memory: ``.wh.<name>`` deletes a path and what is
under it, ``.wh..wh..opq`` empties a directory of what lower layers put there.
Each path keeps what two engines must agree on: type, permission bits (with
setuid, setgid and sticky), owner, size, a sha256 of a file's content, a
symlink's target. Times are left out. A hard link is listed as the file it
shares an inode with, plus ``hardlink``: the first path (in sort order) of its
group in the final tree, so the listing does not depend on which name a tar
happened to write first, and removing one name does not change the others.

``diff(base, image)`` is what a build added, changed and deleted over its base.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import stat
import tarfile
from dataclasses import dataclass
from typing import Any, BinaryIO

WH = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass
class _Node:
    kind: str
    mode: int
    uid: int
    gid: int
    size: int
    sha256: str
    target: str
    layer: int
    group: str  # "" or "<layer>:<path of the inode's first name>"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.kind, "mode": f"{self.mode:04o}", "uid": self.uid, "gid": self.gid}
        if self.kind == "file":
            d["size"] = self.size
            d["sha256"] = self.sha256
        if self.kind == "symlink":
            d["target"] = self.target
        if self.kind in ("char", "block"):
            d["device"] = self.target
        return d


def _clean(name: str) -> str:
    p = posixpath.normpath("/" + name)
    return "/" if p in ("/", "//") else p


def _kind(ti: tarfile.TarInfo) -> str:
    if ti.isdir():
        return "dir"
    if ti.issym():
        return "symlink"
    if ti.ischr():
        return "char"
    if ti.isblk():
        return "block"
    if ti.isfifo():
        return "fifo"
    return "file"


class Tree:
    """A flattened filesystem: path ("/a/b") -> node."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}

    def _remove(self, path: str) -> None:
        self.nodes.pop(path, None)
        prefix = path.rstrip("/") + "/"
        for p in [p for p in self.nodes if p.startswith(prefix)]:
            del self.nodes[p]

    def apply(self, layer: BinaryIO, index: int) -> None:
        with tarfile.open(fileobj=layer, mode="r:*") as tf:
            for ti in tf:
                path = _clean(ti.name)
                parent, base = posixpath.split(path)
                if base == OPAQUE:
                    prefix = parent.rstrip("/") + "/"
                    for p in [p for p, n in self.nodes.items() if p.startswith(prefix) and n.layer < index]:
                        del self.nodes[p]
                    continue
                if base.startswith(WH):
                    self._remove(posixpath.join(parent, base[len(WH):]))
                    continue
                if ti.islnk():
                    src = self.nodes.get(_clean(ti.linkname))
                    if src is None:
                        raise ValueError(f"layer {index}: hard link {path} -> {ti.linkname}: no such file")
                    if src.group == "":
                        src.group = f"{index}:{_clean(ti.linkname)}"
                    if path in self.nodes and self.nodes[path].kind == "dir":
                        self._remove(path)
                    self.nodes[path] = _Node(src.kind, src.mode, src.uid, src.gid, src.size, src.sha256,
                                             src.target, index, src.group)
                    continue
                kind = _kind(ti)
                old = self.nodes.get(path)
                if old is not None and not (old.kind == "dir" and kind == "dir"):
                    self._remove(path)
                sha = ""
                if kind == "file":
                    f = tf.extractfile(ti)
                    h = hashlib.sha256()
                    if f is not None:
                        while chunk := f.read(1 << 20):
                            h.update(chunk)
                    sha = h.hexdigest()
                target = ti.linkname if kind == "symlink" else (
                    f"{ti.devmajor}:{ti.devminor}" if kind in ("char", "block") else "")
                self.nodes[path] = _Node(kind, stat.S_IMODE(ti.mode), ti.uid, ti.gid,
                                         ti.size if kind == "file" else 0, sha, target, index, "")

    def listing(self) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[str]] = {}
        for p, n in self.nodes.items():
            if n.group:
                groups.setdefault(n.group, []).append(p)
        out = {}
        for p in sorted(self.nodes):
            n = self.nodes[p]
            d = n.as_dict()
            first = min(groups.get(n.group, [p]))
            if first != p:
                d["hardlink"] = first
            out[p] = d
        return out


def _member_bytes(tf: tarfile.TarFile, name: str) -> bytes:
    f = tf.extractfile(name)
    if f is None:
        raise ValueError(f"{name} missing from the archive")
    return f.read()


def read_save(archive: bytes) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(image config, listing) of the first image of a ``docker save`` tarball."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tf:
        manifest = json.loads(_member_bytes(tf, "manifest.json"))[0]
        config = json.loads(_member_bytes(tf, manifest["Config"]))
        tree = Tree()
        for i, name in enumerate(manifest["Layers"]):
            tree.apply(io.BytesIO(_member_bytes(tf, name)), i)
    return config, tree.listing()


def diff(base: dict[str, dict[str, Any]], image: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """{"changed": {path: entry} for new or different paths, "deleted": [paths of base gone]}."""
    changed = {p: e for p, e in image.items() if base.get(p) != e}
    deleted = sorted(p for p in base if p not in image)
    return {"changed": changed, "deleted": deleted}


CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes",
                 "Healthcheck", "StopSignal", "Shell", "OnBuild")


def config_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The run config fields a build sets, as the image config holds them (absent = ``None``)."""
    run = config.get("config") or {}
    return {k: run.get(k) for k in CONFIG_FIELDS}
