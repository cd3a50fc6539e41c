"""COPY/ADD sources: selecting them (globs, .dockerignore, symlinks), digesting them for the
cache key, and copying them into a layer with Docker's destination rules.

Sources come from a ``Tree``: the build context (a spooled tar, see
``context/tarctx.py``) or the mounted rootfs of another stage or image. The
context is untrusted: a source path may not leave it, neither with ``..`` nor
through a symlink. Sources from another rootfs are resolved inside it the way
a container would see them.

On overlay, files are written straight into the step's upper dir, and a file
identical (same content, mode and owner) to one in the previous result of the
same step is hard-linked from that layer instead of written: creating inodes
is what makes a one-file change slow, and layers are never written after
they are committed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from dockwright.build.context.dockerignore import Matcher, go_clean
from dockwright.build.context.tarctx import TarContext
from dockwright.errors import InvalidParameter, NotFound
from dockwright.runtime.securejoin import secure_join

_GLOB = frozenset("*?[")
Reuse = Callable[[str, str], Path | None]


@dataclass(frozen=True)
class Stat:
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int


class Tree(Protocol):
    context: bool

    def lstat(self, rel: str) -> Stat | None: ...
    def readlink(self, rel: str) -> str: ...
    def listdir(self, rel: str) -> list[str]: ...
    def sha256(self, rel: str) -> str: ...
    def open(self, rel: str) -> BinaryIO: ...
    def resolve(self, rel: str) -> str: ...


class TarTree:
    """The build context: symlinks resolved inside the index, escapes refused."""

    context = True

    def __init__(self, ctx: TarContext) -> None:
        self.ctx = ctx

    def lstat(self, rel: str) -> Stat | None:
        e = self.ctx.get(rel)
        return None if e is None else Stat(e.mode, e.uid, e.gid, e.size, e.mtime_ns)

    def readlink(self, rel: str) -> str:
        return self.ctx.entries[rel].linkname

    def listdir(self, rel: str) -> list[str]:
        e = self.ctx.get(rel)
        return list(e.children) if e is not None else []

    def sha256(self, rel: str) -> str:
        return self.ctx.entries[rel].sha

    def open(self, rel: str) -> BinaryIO:
        return self.ctx.open(rel)

    def resolve(self, rel: str) -> str:
        parts = [p for p in rel.split("/") if p]
        cur: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            name = "/".join([*cur, part])
            e = self.ctx.get(name)
            if e is not None and stat.S_ISLNK(e.mode):
                hops += 1
                if hops > 40:
                    raise InvalidParameter(f"too many levels of symbolic links: {rel}")
                target = e.linkname
                joined = go_clean("/".join([*cur, target])) if not target.startswith("/") else "/.."
                if joined == ".." or joined.startswith("../") or joined.startswith("/"):
                    raise InvalidParameter(
                        f"forbidden path outside the build context: {rel} (a symlink points outside it)")
                parts = [p for p in joined.split("/") if p and p != "."] + parts
                cur = []
                continue
            cur.append(part)
        return "/".join(cur)


class DirTree:
    """A mounted rootfs (``COPY --from``): symlinks resolve inside it, like in a container."""

    context = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def _p(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else str(self.root)

    def lstat(self, rel: str) -> Stat | None:
        try:
            st = os.lstat(self._p(rel))
        except OSError:
            return None
        return Stat(st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns)

    def readlink(self, rel: str) -> str:
        return os.readlink(self._p(rel))

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self._p(rel)))
        except OSError:
            return []

    def sha256(self, rel: str) -> str:
        h = hashlib.sha256()
        with open(self._p(rel), "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    def open(self, rel: str) -> BinaryIO:
        return open(self._p(rel), "rb")  # noqa: SIM115 - the caller closes it

    def resolve(self, rel: str) -> str:
        r = os.path.relpath(secure_join(str(self.root), rel), self.root)
        return "" if r == "." else r


@dataclass(frozen=True)
class Source:
    rel: str  # as named (cleaned), "" = the root
    real: str  # after following symlinks
    is_dir: bool

    @property
    def base(self) -> str:
        """The name a copy gets in a destination directory: the source's as named, not its
        symlink target's (``COPY link /d/`` makes ``/d/link``, holding the target's content)."""
        return self.rel.rpartition("/")[2] or self.real.rpartition("/")[2]


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


def _glob(tree: Tree, pattern: str, matcher: Matcher | None) -> list[str]:
    """Go's filepath.Match per component: ``*`` never crosses ``/``."""
    found = [""]
    for comp in [p for p in pattern.split("/") if p]:
        nxt: list[str] = []
        for base in found:
            st = tree.lstat(base)
            if st is None or not stat.S_ISDIR(st.mode):
                continue
            names = [comp] if not _GLOB & set(comp) else [n for n in tree.listdir(base)
                                                          if fnmatch.fnmatchcase(n, comp)]
            for n in names:
                child = f"{base}/{n}" if base else n
                if tree.lstat(child) is not None:
                    nxt.append(child)
        found = nxt
    return [f for f in found if matcher is None or not matcher.matches(f)]


def select(tree: Tree, sources: list[str], matcher: Matcher | None) -> list[Source]:
    """The sources a COPY names, in order; errors name the missing or forbidden path."""
    out: list[Source] = []
    context = tree.context
    for src in sources:
        rel = go_clean(src if context else "/" + src).lstrip("/")
        if context and (rel == ".." or rel.startswith("../")):
            raise InvalidParameter(f"forbidden path outside the build context: {src} ()")
        if rel == ".":
            rel = ""
        if _GLOB & set(rel):
            names = _glob(tree, rel, matcher if context else None)
            if not names:
                raise NotFound(f"no source files were specified (pattern {src} matched nothing)")
        else:
            names = [rel]
        for name in names:
            real = tree.resolve(name)
            st = tree.lstat(real)
            is_dir = st is not None and stat.S_ISDIR(st.mode)
            if context and name and matcher is not None and matcher.matches(name) and not (
                    is_dir and matcher.dir_may_have_exceptions(name)):
                st = None
            if st is None:
                where = "build context or excluded by .dockerignore" if context else "source image or stage"
                raise NotFound(f"file not found in {where}: stat {src}: file does not exist")
            out.append(Source(name, real, is_dir))
    return out


def walk(tree: Tree, src: Source, matcher: Matcher | None) -> Iterator[tuple[str, str, Stat]]:
    """(path relative to the source, path in the tree, stat) of the source and everything under it."""
    st = tree.lstat(src.real)
    assert st is not None
    yield "", src.real, st
    if not src.is_dir:
        return
    stack = [("", src.real)]
    while stack:
        rel, d = stack.pop()
        subdirs = []
        for name in tree.listdir(d):
            child_rel = f"{rel}/{name}" if rel else name
            full_rel = f"{src.rel}/{child_rel}" if src.rel else child_rel
            p = f"{d}/{name}" if d else name
            cst = tree.lstat(p)
            if cst is None:
                continue
            is_dir = stat.S_ISDIR(cst.mode)
            if matcher is not None and matcher.matches(full_rel):
                if is_dir and matcher.dir_may_have_exceptions(full_rel):
                    subdirs.append((child_rel, p))
                continue
            yield child_rel, p, cst
            if is_dir:
                subdirs.append((child_rel, p))
        stack.extend(reversed(subdirs))


def entry_name(src: Source, rel: str) -> str:
    return "/".join(p for p in (src.rel, rel) if p) or "."


def digest(tree: Tree, sources: list[Source], matcher: Matcher | None, owner: Owner | None,
           chmod: int | None) -> dict[str, str]:
    """Source-relative path -> digest of (type, mode, owner, content or link target). No times."""
    out: dict[str, str] = {}
    for src in sources:
        for rel, path, st in walk(tree, src, matcher):
            mode = chmod if chmod is not None else stat.S_IMODE(st.mode)
            uid, gid = _owner_of(tree, st, owner)
            if stat.S_ISREG(st.mode):
                body = "f:" + tree.sha256(path)
            elif stat.S_ISLNK(st.mode):
                body = "l:" + tree.readlink(path)
            elif stat.S_ISDIR(st.mode):
                body = "d"
            else:
                body = f"o:{stat.S_IFMT(st.mode)}"
            out[entry_name(src, rel)] = f"{body}:{mode:o}:{uid}:{gid}"
    return out


def _owner_of(tree: Tree, st: Stat, owner: Owner | None) -> tuple[int, int]:
    """``--chown`` if given; else root for the context, and the source's own owner for another
    stage or image (dockerd's legacy builder preserves it on ``COPY --from``)."""
    if owner is not None:
        return owner.uid, owner.gid
    return (0, 0) if tree.context else (st.uid, st.gid)


def destination(workdir: str, dest: str) -> tuple[str, bool]:
    """(absolute destination, ends in a slash) relative to WORKDIR like Docker's normalizeDest."""
    ends = dest.endswith("/") or dest in (".", "./")
    if not dest.startswith("/"):
        dest = (workdir.rstrip("/") or "") + "/" + dest
    return go_clean(dest), ends


class _Writer:
    """Writes into the mounted rootfs; with ``upper`` (overlay), regular files go to the upper dir."""

    def __init__(self, rootfs: Path, tree: Tree, owner: Owner | None, chmod: int | None,
                 upper: Path | None, reuse: Reuse | None) -> None:
        self.rootfs = rootfs
        self.tree = tree
        self.owner = owner
        self.chmod = chmod
        self.upper = upper
        self.reuse = reuse
        self.copied_up: set[str] = set()

    def mkdirs(self, dest_rel: str, owner: Owner) -> Path:
        """Create the parents of a destination the way Docker does (0755, owned by --chown or root)."""
        cur = str(self.rootfs)
        for part in [p for p in dest_rel.split("/") if p]:
            nxt = secure_join(str(self.rootfs), os.path.relpath(os.path.join(cur, part), self.rootfs))
            if not os.path.lexists(nxt):
                os.mkdir(nxt, 0o755)
                os.chown(nxt, owner.uid, owner.gid)
            cur = nxt
        return Path(cur)

    def _ensure_upper_dir(self, merged_dir: str) -> None:
        """A directory that only exists in a lower layer is copied up by touching its owner."""
        if merged_dir in self.copied_up:
            return
        st = os.lstat(merged_dir)
        os.lchown(merged_dir, st.st_uid, st.st_gid)
        self.copied_up.add(merged_dir)

    def one(self, name: str, path: str, st: Stat, final: Path) -> None:
        uid, gid = _owner_of(self.tree, st, self.owner)
        if not os.path.lexists(final.parent):
            # a directory the walk skipped (.dockerignore'd, with an exception below it) or a
            # context tar without directory entries: made the way dockerd's untar makes it
            self.mkdirs(os.path.relpath(final.parent, self.rootfs), self.owner or Owner(0, 0))
        mode = self.chmod if self.chmod is not None else stat.S_IMODE(st.mode)
        if stat.S_ISDIR(st.mode):
            if final.is_symlink() or (os.path.lexists(final) and not final.is_dir()):
                os.unlink(final)
            if not final.is_dir():
                os.mkdir(final)
            os.chown(final, uid, gid)
            os.chmod(final, mode)
            os.utime(final, ns=(st.mtime_ns, st.mtime_ns))
            self.copied_up.add(str(final))
            return
        if os.path.lexists(final) and final.is_dir() and not final.is_symlink():
            raise InvalidParameter(f"cannot copy to non-directory: {final.name} is a directory")
        target = final
        if self.upper is not None and stat.S_ISREG(st.mode):
            self._ensure_upper_dir(str(final.parent))
            rel = os.path.relpath(final, self.rootfs)
            target = self.upper / rel
            if os.path.lexists(target):
                os.unlink(target)
            prev = self.reuse(name, rel) if self.reuse is not None else None
            if prev is not None:
                try:
                    pst = os.lstat(prev)
                    if (stat.S_ISREG(pst.st_mode) and pst.st_uid == uid and pst.st_gid == gid
                            and stat.S_IMODE(pst.st_mode) == mode and pst.st_size == st.size):
                        os.link(prev, target)
                        return
                except OSError:
                    pass
        elif os.path.lexists(final):
            os.unlink(final)
        if stat.S_ISLNK(st.mode):
            os.symlink(self.tree.readlink(path), target)
            os.lchown(target, uid, gid)
            return
        if not stat.S_ISREG(st.mode):
            return  # devices, fifos and sockets are not copied
        with self.tree.open(path) as fin, open(target, "wb") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
        os.chown(target, uid, gid)
        os.chmod(target, mode)
        os.utime(target, ns=(st.mtime_ns, st.mtime_ns))


def copy_into(rootfs: Path, tree: Tree, sources: list[Source], matcher: Matcher | None, workdir: str, dest: str,
              *, owner: Owner | None, chmod: int | None, is_add: bool = False, upper: Path | None = None,
              reuse: Reuse | None = None) -> None:
    dest_abs, ends_slash = destination(workdir, dest)
    if len(sources) > 1 and not ends_slash:
        raise InvalidParameter("When using COPY with more than one source file, the destination must be a "
                               "directory and end with a /")
    w = _Writer(rootfs, tree, owner, chmod, upper, reuse)
    root_owner = owner or Owner(0, 0)
    for src in sources:
        target = Path(secure_join(str(rootfs), dest_abs))
        if src.is_dir:
            created = not os.path.lexists(target)
            top = w.mkdirs(dest_abs, root_owner)
            if created and chmod is not None:
                os.chmod(top, chmod)  # BuildKit gives a directory it creates for the copy --chmod too
            for rel, path, st in walk(tree, src, matcher):
                if rel:
                    w.one(entry_name(src, rel), path, st, top / rel)
            continue
        top_st = tree.lstat(src.real)
        assert top_st is not None
        kind = _archive_kind(tree, src.real) if is_add and stat.S_ISREG(top_st.mode) else None
        if kind is not None:
            # dockerd untars an archive as it is: --chown applies neither to its entries nor to
            # the directories created for it
            top = w.mkdirs(dest_abs, Owner(0, 0))
            from dockwright.diff.apply import apply_layer

            with tree.open(src.real) as f:
                apply_layer(top, _decompressed(kind, f), whiteouts="native")
            continue
        if ends_slash or target.is_dir():
            final = w.mkdirs(dest_abs, root_owner) / src.base
        else:
            # the destination's own symlinks are followed too (inside the rootfs), as dockerd
            # does: a file copied onto a link to /etc/passwd rewrites /etc/passwd
            final = w.mkdirs(os.path.relpath(target.parent, rootfs), root_owner) / target.name
        w.one(entry_name(src, ""), src.real, top_st, final)


_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"


def _archive_kind(tree: Tree, rel: str) -> str | None:
    """How ADD extracts a local file: gzip/zstd/bzip2/xz/plain tar, or None (copied as it is).

    Like dockerd, a file counts as an archive only when what it holds (after decompression)
    starts with a valid tar header: a gzip of a text file is copied, not extracted."""
    from dockwright.diff.compression import decompressing_reader, detect
    from dockwright.errors import DockwrightError

    with tree.open(rel) as f:
        head = f.read(512)
    if detect(head) in ("gzip", "zstd"):
        kind = "native"
    elif head.startswith(_BZIP2) or head.startswith(_XZ):
        kind = "bzip2" if head.startswith(_BZIP2) else "xz"
    else:
        return "native" if _is_tar(head) else None
    try:
        with tree.open(rel) as f:
            inner = decompressing_reader(f) if kind == "native" else _decompressed(kind, f)
            with inner:
                return kind if _is_tar(inner.read(512)) else None
    except (OSError, EOFError, ValueError, DockwrightError):
        return None


def _is_tar(head: bytes) -> bool:
    """A tar header block, checked as Go's archive/tar does: its checksum (unsigned or signed
    byte sums both count), so old v7 tars without the ustar magic count too."""
    if len(head) < 512 or head[:512] == bytes(512):
        return False
    field = head[148:156].replace(b"\0", b" ").strip()
    try:
        want = int(field, 8)
    except ValueError:
        return False
    block = head[:148] + b" " * 8 + head[156:512]
    unsigned = sum(block)
    signed = sum(b - 256 if b > 127 else b for b in block)
    return want in (unsigned, signed)


def _decompressed(kind: str, f: BinaryIO) -> BinaryIO:
    """bzip2 and xz are unwrapped here; the layer reader handles gzip, zstd and plain tars itself."""
    import bz2
    import lzma

    if kind == "bzip2":
        return cast(BinaryIO, bz2.open(f, "rb"))
    if kind == "xz":
        return cast(BinaryIO, lzma.open(f, "rb"))
    return f


def history_digest(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for k in sorted(files):
        h.update(f"{k}\0{files[k]}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()
