"""``RUN --mount``: from the typed mounts of a RUN to what its container gets, and what its key reads.

* ``cache``: a directory under ``<data-root>/build/cache`` kept across builds.
* ``bind``: a path of the build context (the default) or of a stage or image
  (``from=``). Context files are copied out of the context tar into the step's
  scratch dir first; with ``rw`` the step writes to that copy (or to a copy of
  the stage's files), so writes are discarded after the step. Read-only
  otherwise. The step's cache key includes a digest of the bound context files
  (content, mode, owner, like COPY), or the key of the stage or image bound.
* ``tmpfs``: a fresh tmpfs (``size`` optional).
* ``secret``: a value the client sent (``secrets.py``); it reaches the
  runtime as data, is written only to the step's tmpfs, and is part of no key
  (only its id is, through the instruction).

Relative targets are relative to the working directory, as in BuildKit.
Errors carry the instruction's ``file:line``, and the ones that need no
running build (missing secret, bind source outside the context, unknown
``from=``) are found before the build's stream starts (``check``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dockwright.build import copyfiles
from dockwright.build.context.dockerignore import Matcher
from dockwright.build.dockerfile.errors import DockerfileError
from dockwright.build.dockerfile.instructions import RunCommand
from dockwright.build.dockerfile.mounts import Mount
from dockwright.build.runstep import StepMount
from dockwright.errors import DockwrightError, InvalidParameter, NotFound
from dockwright.runtime.securejoin import secure_join

Cleanup = list[Callable[[], None]]


@dataclass
class MountSources:
    """What mounts read from, handed in by the solver."""

    tree: copyfiles.Tree  # the build context
    matcher: Matcher | None  # .dockerignore
    secrets: Mapping[str, bytes]
    cache_root: Path  # <data-root>/build/cache
    source_key: Callable[[str], Awaitable[str]]  # from= -> the stage's cache key or the image ID
    source_root: Callable[[str, Cleanup], Awaitable[Path]]  # from= -> its files, mounted until cleanup
    source_known: Callable[[str], bool]  # from= names a stage or a local image


def error(cmd: RunCommand, msg: str) -> DockerfileError:
    return DockerfileError(f"{cmd.name} failed: {msg}", filename=cmd.location[0], start_line=cmd.location[1],
                           instruction=cmd.name)


def target_of(m: Mount, workdir: str) -> str:
    t = m.target
    if not t:
        return ""
    if not t.startswith("/"):
        t = posixpath.join(workdir or "/", t)
    return posixpath.normpath("/" + t.lstrip("/"))


def _select_context(cmd: RunCommand, src: MountSources, m: Mount) -> list[copyfiles.Source]:
    try:
        return copyfiles.select(src.tree, [m.source or "."], src.matcher)
    except (NotFound, InvalidParameter) as exc:
        raise error(cmd, f"--mount=type=bind,source={m.source or '.'}: {exc}") from None


def check(cmd: RunCommand, src: MountSources) -> None:
    """The errors a RUN's mounts can have before anything runs (sync: call it in a thread)."""
    for m in cmd.mounts:
        if m.type == "ssh":
            raise error(cmd, "RUN --mount=type=ssh is not supported by this builder: fetch what the step needs "
                             "with a secret (--mount=type=secret) instead")
        if m.type == "secret" and m.required and m.id not in src.secrets:
            raise error(cmd, f"secret {m.id!r} is required but was not provided: pass it with "
                             f"`dockwright build --secret id={m.id},src=FILE` (or drop `required`)")
        if m.type == "bind":
            if m.from_:
                if not src.source_known(m.from_):
                    raise error(cmd, f"--mount from={m.from_}: no build stage or local image named "
                                     f"{m.from_!r}: check the stage name or pull the image first")
            else:
                _select_context(cmd, src, m)


async def key_inputs(cmd: RunCommand, workdir: str, src: MountSources) -> tuple[dict[str, str], str]:
    """(files by ``target/path``, extra key input) of the bind mounts: what the step reads."""
    import asyncio

    from dockwright.build.cache.keys import files_digest

    files: dict[str, str] = {}
    others: list[str] = []
    for m in cmd.mounts:
        if m.type != "bind":
            continue
        target = target_of(m, workdir)
        if m.from_:
            try:
                others.append(f"{target}={m.from_}@{await src.source_key(m.from_)}:{m.source}")
            except DockwrightError as exc:
                raise error(cmd, f"--mount from={m.from_}: {exc}") from None
            continue
        sources = await asyncio.to_thread(_select_context, cmd, src, m)
        digest = await asyncio.to_thread(copyfiles.digest, src.tree, sources, src.matcher, None, None)
        prefix = "mount:" + target
        base = sources[0].rel if sources else ""
        for name, d in digest.items():
            rel = name[len(base):].lstrip("/") if base and name.startswith(base) else ("" if name == "." else name)
            files[f"{prefix}/{rel}" if rel else prefix] = d
    extra = ""
    if files or others:
        extra = "mounts:" + files_digest(files) + ";" + ";".join(others)
    return files, extra


@contextlib.asynccontextmanager
async def prepare(cmd: RunCommand, workdir: str, scratch: Path, src: MountSources) -> AsyncIterator[
        list[StepMount]]:
    """The step's mounts, ready for ``run_container``; copies and views go away after the step."""
    import asyncio

    cleanup: Cleanup = []
    binds = scratch / "binds"
    out: list[StepMount] = []
    try:
        for n, m in enumerate(cmd.mounts):
            target = target_of(m, workdir)
            if m.type == "cache":
                d = await asyncio.to_thread(_cache_dir, src.cache_root, m)
                out.append(StepMount("bind", target, str(d), readonly=False))
            elif m.type == "tmpfs":
                out.append(StepMount("tmpfs", target, size=m.size))
            elif m.type == "secret":
                if m.id not in src.secrets:
                    if m.required:
                        check(cmd, src)  # raises with the instruction's location
                    continue
                out.append(StepMount("secret", target, data=src.secrets[m.id],
                                     mode=0o400 if m.mode is None else m.mode, uid=m.uid or 0, gid=m.gid or 0,
                                     env=m.env))
            elif m.type == "bind":
                into = binds / str(n)
                if m.from_:
                    try:
                        root = await src.source_root(m.from_, cleanup)
                    except DockwrightError as exc:
                        raise error(cmd, f"--mount from={m.from_}: {exc}") from None
                    path = await asyncio.to_thread(_from_path, cmd, root, m, into)
                else:
                    path = await asyncio.to_thread(_context_copy, cmd, src, m, into)
                out.append(StepMount("bind", target, path, readonly=m.readonly))
            else:
                check(cmd, src)
                raise error(cmd, f"RUN --mount=type={m.type} is not supported")
        yield out
    finally:
        for fn in reversed(cleanup):
            with contextlib.suppress(DockwrightError, OSError):
                await asyncio.to_thread(fn)
        await asyncio.to_thread(shutil.rmtree, binds, True)


def _cache_dir(root: Path, m: Mount) -> Path:
    d = root / hashlib.sha256((m.id or m.target).encode()).hexdigest()[:32]
    if not d.exists():
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, m.uid or 0, m.gid or 0)
        os.chmod(d, 0o755 if m.mode is None else m.mode)
    return d


def _context_copy(cmd: RunCommand, src: MountSources, m: Mount, into: Path) -> str:
    """Context files out of the tar into ``into``; the bind's host path."""
    sources = _select_context(cmd, src, m)
    into.mkdir(parents=True)
    if sources[0].is_dir:
        copyfiles.copy_into(into, src.tree, sources, src.matcher, "/", "/", owner=None, chmod=None)
        return str(into)
    copyfiles.copy_into(into, src.tree, sources, src.matcher, "/", "/f", owner=None, chmod=None)
    return str(into / "f")


def _from_path(cmd: RunCommand, root: Path, m: Mount, into: Path) -> str:
    """The source inside a stage's or image's files; copied when the step may write to it."""
    path = Path(secure_join(str(root), m.source or "/"))
    if not os.path.lexists(path):
        raise error(cmd, f"--mount from={m.from_}: source {m.source or '/'!r} not found in {m.from_!r}")
    if m.readonly:
        return str(path)
    into.mkdir(parents=True)
    if path.is_dir():
        dest = into / "d"
        shutil.copytree(path, dest, symlinks=True)
    else:
        dest = into / "f"
        shutil.copy2(path, dest, follow_symlinks=True)
    return str(dest)
