"""``ADD <git-url>[#ref[:subdir]] <dest>``: a repository's files at one commit, copied like a directory.

The step's cache key is the commit the ref resolves to (``git ls-remote``, no
clone) plus the subdir, so an unchanged branch is a cache hit without
downloading anything. Only a miss clones: ``git clone --depth 1 --branch
<ref>`` first; a commit sha (or a ref ``--branch`` cannot name) falls back to a
shallow fetch of that commit, then to a full clone and checkout. The result
must be the resolved commit, or the key would lie.

Git runs as a subprocess with the engine's settings only: no prompts, no
system config, and only the network transports (``git``, ``http(s)``,
``ssh``), so a Dockerfile cannot reach the daemon's own files through
``file://`` or run commands through ``ext::``. ``.git`` is removed unless
``--keep-git-dir``; submodules are not checked out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from dockwright.build.context.dockerignore import go_clean
from dockwright.errors import InvalidParameter, Unavailable

_SHA = re.compile(r"^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$")
LS_REMOTE_TIMEOUT = 60.0
CLONE_TIMEOUT = 900.0


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]+@")


def redact(remote: str) -> str:
    """The remote as it may be shown or logged: credentials in its URL masked, as BuildKit does."""
    return _USERINFO.sub(r"\1xxxxx@", remote)


@dataclass(frozen=True)
class GitRef:
    remote: str
    ref: str = ""  # "" = the remote's default branch (HEAD)
    subdir: str = ""  # "" = the repository's root

    @property
    def shown(self) -> str:
        return redact(self.remote)


@dataclass(frozen=True)
class Resolved:
    source: GitRef
    commit: str
    keep_git_dir: bool = False

    def cache_input(self) -> str:
        """What the key reads: the commit and the subdir (never a clone's contents)."""
        return f"git:{self.commit}:{self.source.subdir}:{int(self.keep_git_dir)}"


def parse(src: str) -> GitRef:
    """BuildKit's fragment syntax: ``<remote>#<ref>:<subdir>``, both optional."""
    remote, _, fragment = src.partition("#")
    ref, _, subdir = fragment.partition(":")
    if not remote or remote.startswith("-"):
        raise InvalidParameter(f"invalid git source {src!r}")
    if ref.startswith("-") or any(c in ref for c in " \t\n\\~^?*[") or ".." in ref:
        raise InvalidParameter(f"invalid git ref {ref!r} in {src!r}")
    sub = go_clean("/" + subdir).lstrip("/") if subdir else ""
    return GitRef(remote, ref, "" if sub == "." else sub)


def _env() -> dict[str, str]:
    # never the daemon host's identity: no HOME (~/.git-credentials, ~/.gitconfig), no ssh keys or agent;
    # a build client must not reach, through the daemon, what only the host's root may read
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "http_proxy", "https_proxy", "no_proxy",
                                                          "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "LANG")}
    env.update({
        "HOME": "/nonexistent",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_ALLOW_PROTOCOL": "git:http:https:ssh",
        "GIT_SSH_COMMAND": "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityFile=/dev/null "
                           "-o IdentityAgent=none",
        "LC_ALL": "C",
    })
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


async def _git(*args: str, cwd: Path | None = None, timeout: float = CLONE_TIMEOUT) -> tuple[int, str, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd, env=_env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, umask=0o022)
    except FileNotFoundError:
        raise Unavailable("ADD from a git repository needs git on the daemon's host: install it "
                          "(apt-get install git)") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def pick(listing: str, ref: str) -> str | None:
    """The commit for ``ref`` in ``git ls-remote`` output: a branch first, then a (peeled) tag."""
    refs: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, name = line.partition("\t")
        if sha and name:
            refs[name.strip()] = sha.strip()
    if not ref:
        return refs.get("HEAD")
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"{ref}^{{}}", ref):
        if name in refs:
            return refs[name]
    return None


async def resolve(g: GitRef, keep_git_dir: bool = False) -> Resolved:
    """The commit ``g.ref`` names now; a full sha is taken as it is."""
    if _SHA.match(g.ref):
        return Resolved(g, g.ref.lower(), keep_git_dir)
    try:
        code, out, err = await _git("ls-remote", "--", g.remote, *([g.ref, f"{g.ref}^{{}}"] if g.ref else ["HEAD"]),
                                    timeout=LS_REMOTE_TIMEOUT)
    except TimeoutError:
        raise Unavailable(f"git ls-remote {g.shown}: no answer in {LS_REMOTE_TIMEOUT:.0f}s") from None
    if code != 0:
        raise Unavailable(f"cannot reach git repository {g.shown}: {_last_line(err).replace(g.remote, g.shown)}")
    commit = pick(out, g.ref)
    if commit is None:
        what = f"ref {g.ref!r}" if g.ref else "a default branch (HEAD)"
        raise InvalidParameter(f"git repository {g.shown} has no {what}: name an existing branch, tag or full "
                               "commit sha after '#'")
    return Resolved(g, commit, keep_git_dir)


async def _rev(into: Path) -> str:
    code, out, _ = await _git("rev-parse", "HEAD", cwd=into)
    return out.strip() if code == 0 else ""


def _reset(into: Path) -> None:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)


async def _fetch(r: Resolved, into: Path) -> None:
    """Into ``into``: the commit's working tree (with ``.git``), by the cheapest way that works."""
    try:
        await _fetch_tries(r, into)
    except TimeoutError:
        raise Unavailable(f"git: cloning {r.source.shown} took longer than {CLONE_TIMEOUT:.0f}s") from None


async def _fetch_tries(r: Resolved, into: Path) -> None:
    g = r.source
    errors: list[str] = []
    if not _SHA.match(g.ref):
        await asyncio.to_thread(_reset, into)
        branch = ["--branch", g.ref] if g.ref else []
        code, _, err = await _git("clone", "--quiet", "--depth", "1", *branch, "--", g.remote, str(into))
        if code == 0 and await _rev(into) == r.commit:
            return
        errors.append(_last_line(err) if code else "the ref moved while cloning")
    await asyncio.to_thread(_reset, into)
    steps = [("init", "--quiet"), ("remote", "add", "origin", "--", g.remote),
             ("fetch", "--quiet", "--depth", "1", "origin", r.commit), ("checkout", "--quiet", "FETCH_HEAD")]
    for args in steps:
        code, _, err = await _git(*args, cwd=into)
        if code != 0:
            errors.append(_last_line(err))
            break
    else:
        if await _rev(into) == r.commit:
            return
    await asyncio.to_thread(_reset, into)
    code, _, err = await _git("clone", "--quiet", "--no-checkout", "--", g.remote, str(into))
    if code == 0:
        code, _, err = await _git("checkout", "--quiet", "--detach", r.commit, cwd=into)
        if code == 0 and await _rev(into) == r.commit:
            return
    errors.append(_last_line(err))
    raise Unavailable(f"cannot check out {r.commit[:12]} of {g.shown}: {errors[-1].replace(g.remote, g.shown)}")


@contextlib.asynccontextmanager
async def checkout(r: Resolved, work: Path) -> AsyncIterator[Path]:
    """The files to copy (the subdir, if any) in a scratch dir under ``work``, removed afterwards."""
    into = work / f"git-{uuid.uuid4().hex[:12]}"
    try:
        await _fetch(r, into)
        if not r.keep_git_dir:
            await asyncio.to_thread(shutil.rmtree, into / ".git", True)
        root = into
        if r.source.subdir:
            from dockwright.runtime.securejoin import secure_join

            root = Path(secure_join(str(into), r.source.subdir))
            if not root.is_dir():
                raise InvalidParameter(f"subdir {r.source.subdir!r} not found in {r.source.shown} at "
                                       f"{r.commit[:12]}")
        yield root
    finally:
        await asyncio.to_thread(shutil.rmtree, into, True)
