"""``docker cp`` both ways over a container's root, which is untrusted.

Every path is resolved with the container's root as ``/`` (``secure_join``):
a symlink is followed only inside the root, never out of it. The last
component of a path is not followed (``cp c:/link -`` copies the link), unless
the path ends with ``/`` or ``/.``. A tar sent into a container is rewritten
on its way to a spool file (names checked, owners mapped, Docker's
dir/non-dir overwrite rule applied), then extracted with ``diff.apply``'s
descriptor-relative, ``O_NOFOLLOW`` rules.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import tarfile
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from ...diff import tarwrite
from ...diff.apply import apply_layer
from ...errors import Forbidden, InvalidParameter, NotFound
from ...runtime.securejoin import secure_join

# Go's os.FileMode type bits, which the path-stat header carries
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_CHARDEV = 1 << 21
_GO_STICKY = 1 << 20


def go_mode(m: int) -> int:
    out = stat.S_IMODE(m) & 0o777
    if stat.S_ISDIR(m):
        out |= _GO_DIR
    elif stat.S_ISLNK(m):
        out |= _GO_SYMLINK
    elif stat.S_ISBLK(m):
        out |= _GO_DEVICE
    elif stat.S_ISCHR(m):
        out |= _GO_DEVICE | _GO_CHARDEV
    elif stat.S_ISFIFO(m):
        out |= _GO_PIPE
    elif stat.S_ISSOCK(m):
        out |= _GO_SOCKET
    if m & stat.S_ISUID:
        out |= _GO_SETUID
    if m & stat.S_ISGID:
        out |= _GO_SETGID
    if m & stat.S_ISVTX:
        out |= _GO_STICKY
    return out


def _rfc3339(ns: int) -> str:
    s, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return base + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"


def _follow_last(path: str) -> bool:
    return path.endswith("/") or path.endswith("/.") or path in ("", ".")


def resolve(root: Path, path: str) -> str:
    """The host path of ``path`` in the container; the last component is followed only with ``/`` or ``/.``."""
    r = os.fspath(root)
    clean = os.path.normpath("/" + path)
    if _follow_last(path) or clean == "/":
        return secure_join(r, clean)
    parent, base = os.path.split(clean)
    return os.path.join(secure_join(r, parent), base)


def _in_container(root: Path, host_path: str) -> str:
    rel = os.path.relpath(host_path, os.fspath(root))
    return "/" if rel == "." else "/" + rel


def stat_path(root: Path, path: str, container: str) -> tuple[str, dict[str, object]]:
    """(host path, Docker's ``ContainerPathStat``) of ``path``; 404 with Docker's words when missing."""
    host = resolve(root, path)
    try:
        st = os.lstat(host)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise NotFound(f"Could not find the file {path} in container {container}") from exc
    link = ""
    if stat.S_ISLNK(st.st_mode):
        link = _in_container(root, secure_join(os.fspath(root), _in_container(root, host)))
    name = os.path.basename(os.path.normpath("/" + path)) or "/"
    return host, {"name": name, "size": st.st_size, "mode": go_mode(st.st_mode), "mtime": _rfc3339(st.st_mtime_ns),
                  "linkTarget": link}


def stat_header(info: dict[str, object]) -> str:
    return base64.b64encode(json.dumps(info, separators=(",", ":")).encode()).decode()


def write_archive(host: str, name: str, out: BinaryIO) -> None:
    """A tar of ``host`` whose top entry is ``name``; nothing below it is followed."""
    tw = tarwrite._TarOut(out, None)
    st = os.lstat(host)
    top = "." if name == "/" else name
    tw.entry(top, host, st)
    if stat.S_ISDIR(st.st_mode):
        tarwrite._walk_tree(tw, host, "" if top == "." else top + "/")
    tw.finish()


def _clean_member(name: str) -> str:
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise InvalidParameter(f"invalid tar member {name!r}: it points outside the destination directory")
            parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


def _check_overwrite(dest: str, rel: str, is_dir: bool) -> None:
    try:
        st = os.lstat(secure_join(dest, rel))
    except OSError:
        return
    if is_dir and not stat.S_ISDIR(st.st_mode):
        raise InvalidParameter(f'cannot overwrite non-directory "/{rel}" with directory "{rel}"')
    if not is_dir and stat.S_ISDIR(st.st_mode):
        raise InvalidParameter(f'cannot overwrite directory "/{rel}" with non-directory "{rel}"')


def spool_upload(body: BinaryIO, dest: str, *, no_overwrite_dir_non_dir: bool, copy_uid_gid: bool,
                 spool_dir: Path) -> BinaryIO:
    """Check and rewrite the uploaded tar into a temporary file, rewound; the caller closes it."""
    out = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - handed to the caller
    try:
        try:
            src = tarfile.open(fileobj=body, mode="r|*")  # noqa: SIM115 - closed by the with below
        except tarfile.TarError as exc:
            raise InvalidParameter(f"the request body is not a tar archive: {exc}") from exc
        with src, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as dst:
            for m in src:
                rel = _clean_member(m.name)
                if not rel:
                    continue
                if os.path.basename(rel).startswith(".wh."):
                    raise InvalidParameter(f"invalid tar member {m.name!r}: names starting with .wh. are reserved")
                if m.islnk():
                    _clean_member(m.linkname)
                if no_overwrite_dir_non_dir:
                    _check_overwrite(dest, rel, m.isdir())
                m.name = rel
                if not copy_uid_gid:
                    m.uid = m.gid = 0
                m.uname = m.gname = ""
                dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    except tarfile.TarError as exc:
        out.close()
        raise InvalidParameter(f"the request body is not a valid tar archive: {exc}") from exc
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def extract_into(root: Path, path: str, container: str, body: BinaryIO, *, no_overwrite_dir_non_dir: bool,
                 copy_uid_gid: bool, spool_dir: Path) -> None:
    dest = secure_join(os.fspath(root), os.path.normpath("/" + path))
    try:
        st = os.lstat(dest)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise NotFound(f"Could not find the file {path} in container {container}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidParameter("extraction point is not a directory")
    if os.statvfs(dest).f_flag & os.ST_RDONLY:  # a read-only rootfs, or a read-only volume
        raise Forbidden("container rootfs is marked read-only")
    with spool_upload(body, dest, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir, copy_uid_gid=copy_uid_gid,
                      spool_dir=spool_dir) as spool:
        apply_layer(dest, spool, whiteouts="native")  # type: ignore[arg-type, unused-ignore]
