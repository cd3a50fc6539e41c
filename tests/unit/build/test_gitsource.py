"""ADD <git>: the source syntax, picking the commit from ls-remote, and the transports git may use."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from dockwright.build import gitsource
from dockwright.build.dockerfile.instructions import add_source_kind
from dockwright.errors import InvalidParameter, Unavailable


@pytest.mark.parametrize(("src", "remote", "ref", "subdir"), [
    ("https://github.com/moby/buildkit.git", "https://github.com/moby/buildkit.git", "", ""),
    ("https://github.com/moby/buildkit.git#v0.10.1", "https://github.com/moby/buildkit.git", "v0.10.1", ""),
    ("https://github.com/moby/buildkit.git#v0.10.1:docs", "https://github.com/moby/buildkit.git", "v0.10.1", "docs"),
    ("git@github.com:moby/buildkit.git#main:a/../b/", "git@github.com:moby/buildkit.git", "main", "b"),
    ("git://host/x#:sub", "git://host/x", "", "sub"),
    ("git://host/x#refs/pull/1/head", "git://host/x", "refs/pull/1/head", ""),
    ("git://host/x#main:/", "git://host/x", "main", ""),
])
def test_parse(src: str, remote: str, ref: str, subdir: str) -> None:
    assert add_source_kind(src) == "git"
    assert gitsource.parse(src) == gitsource.GitRef(remote, ref, subdir)


@pytest.mark.parametrize("src", ["-upload-pack=x", "git://h/x#--upload-pack=touch", "git://h/x#a..b",
                                 "git://h/x#a b"])
def test_parse_refuses_options_and_bad_refs(src: str) -> None:
    with pytest.raises(InvalidParameter):
        gitsource.parse(src)


LISTING = ("1111111111111111111111111111111111111111\tHEAD\n"
           "2222222222222222222222222222222222222222\trefs/heads/main\n"
           "3333333333333333333333333333333333333333\trefs/tags/v1\n"
           "4444444444444444444444444444444444444444\trefs/tags/v1^{}\n"
           "5555555555555555555555555555555555555555\trefs/tags/main\n")


def test_pick() -> None:
    assert gitsource.pick(LISTING, "") == "1" * 40
    assert gitsource.pick(LISTING, "main") == "2" * 40  # a branch wins over a tag of the same name
    assert gitsource.pick(LISTING, "v1") == "4" * 40  # an annotated tag: its commit, not the tag object
    assert gitsource.pick(LISTING, "refs/tags/v1") == "4" * 40
    assert gitsource.pick(LISTING, "nope") is None


def test_full_sha_needs_no_lookup() -> None:
    r = asyncio.run(gitsource.resolve(gitsource.GitRef("git://nowhere.invalid/x", "A" * 40, "s")))
    assert r.commit == "a" * 40 and r.cache_input() == f"git:{'a' * 40}:s:0"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("remote", ["file://{repo}", "ext::sh -c touch% {repo}/pwned"])
def test_local_and_ext_transports_are_refused(tmp_path: Path, remote: str) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with pytest.raises(Unavailable, match="cannot reach git repository"):
        asyncio.run(gitsource.resolve(gitsource.GitRef(remote.format(repo=repo))))
    assert not (repo / "pwned").exists()


def test_credentials_in_a_remote_are_never_shown() -> None:
    from dockwright.build.gitsource import _env, parse, redact

    assert redact("https://user:token@example.com/r.git") == "https://xxxxx@example.com/r.git"
    assert redact("git@example.com:r.git") == "git@example.com:r.git"  # ssh user, no secret
    assert parse("https://u:t@example.com/r.git#main").shown == "https://xxxxx@example.com/r.git"
    env = _env()
    assert env["HOME"] == "/nonexistent" and env["GIT_CONFIG_GLOBAL"] == "/dev/null"  # not the host's identity
