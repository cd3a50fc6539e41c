"""``cp``: files between a container (``/containers/{id}/archive``, tar both ways) and the local disk.

Docker's naming rule kept: copying ``SRC`` to an existing directory puts it
inside; to any other path gives it that name. ``-`` streams a tar on stdin or
stdout. Extraction refuses members that would land outside the destination.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from types import SimpleNamespace
from typing import IO

from dockwright.cli.commands.output import write_stdout_bytes
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import bool_flag
from dockwright.client.api import quote_name
from dockwright.client.errors import APIError
from dockwright.errors import InvalidParameter, NotFound


def split_cp_arg(arg: str) -> tuple[str, str]:
    """``CONTAINER:PATH`` to ``(container, path)``; a local path (absolute, ``./``, no colon) has no container."""
    if os.path.isabs(arg) or arg.startswith("."):
        return "", arg
    name, colon, path = arg.partition(":")
    if not colon:
        return "", arg
    return name, path


def _safe_members(tar: tarfile.TarFile, rename_from: str, rename_to: str) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        name = m.name
        if rename_from and (name == rename_from or name.startswith(rename_from + "/")):
            name = rename_to + name[len(rename_from):]
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts or ".." in parts or os.path.isabs(m.name):
            continue
        m.name = "/".join(parts)
        members.append(m)
    return members


def copy_from_container(cli: Cli, container: str, src: str, dst: str) -> None:
    with cli.client.open("GET", f"/containers/{quote_name(container)}/archive", params={"path": src}) as resp:
        if dst == "-":
            write_stdout_bytes(cli, resp.iter_chunks())
            return
        with tempfile.TemporaryFile() as spool:
            for chunk in resp.iter_chunks():
                spool.write(chunk)
            spool.seek(0)
            _extract(spool, src, dst)


def _extract(spool: IO[bytes], src: str, dst: str) -> None:
    base = os.path.basename(src.rstrip("/")) or "."
    with tarfile.open(fileobj=spool, mode="r:*") as tar:
        if os.path.isdir(dst):
            target, rename_from, rename_to = dst, "", ""
        else:
            parent = os.path.dirname(os.path.abspath(dst))
            if not os.path.isdir(parent):
                raise NotFound(f"destination directory {parent} does not exist")
            target, rename_from, rename_to = parent, base, os.path.basename(dst)
        tar.extractall(target, members=_safe_members(tar, rename_from, rename_to), filter="tar")


def copy_to_container(cli: Cli, src: str, container: str, dst: str) -> None:
    path = f"/containers/{quote_name(container)}/archive"
    if src == "-":
        cli.client.request("PUT", path, params={"path": dst}, body=cli.stdin_bytes,
                           headers={"Content-Type": "application/x-tar"})
        return
    if not os.path.lexists(src):
        raise NotFound(f'stat {src}: no such file or directory')
    name = os.path.basename(os.path.normpath(src))
    target_dir = dst
    try:
        cli.client.head(path, params={"path": dst})
    except APIError as exc:
        if exc.status != 404 or dst.endswith("/"):
            raise
        target_dir = os.path.dirname(dst.rstrip("/")) or "/"
        name = os.path.basename(dst.rstrip("/"))
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w") as tar:
            tar.add(src, arcname=name)
        spool.seek(0)
        cli.client.request("PUT", path, params={"path": target_dir}, body=spool,
                           headers={"Content-Type": "application/x-tar"})


def run_cp(cli: Cli, ns: SimpleNamespace) -> int:
    src, dst = ns.args
    s_container, s_path = split_cp_arg(src)
    d_container, d_path = split_cp_arg(dst)
    if s_container and d_container:
        raise InvalidParameter("copying between containers is not supported")
    if not s_container and not d_container:
        raise InvalidParameter("must specify at least one container source")
    if s_container:
        copy_from_container(cli, s_container, s_path, d_path)
    else:
        copy_to_container(cli, s_path, d_container, d_path)
    return 0


CP = CommandSpec(
    name="container cp",
    usage="[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdockwright cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    short="Copy files/folders between a container and the local filesystem",
    run=run_cp,
    aliases=["cp"],
    min_args=2,
    max_args=2,
    flags=[
        bool_flag("archive", "Archive mode (copy all uid/gid information)", short="a"),
        bool_flag("follow-link", "Always follow symbol link in SRC_PATH", short="L"),
        bool_flag("quiet", "Suppress progress output during copy", short="q"),
    ],
)
