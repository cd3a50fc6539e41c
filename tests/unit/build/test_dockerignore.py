"""``.dockerignore`` rules, mostly the examples from Docker's documentation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockwright.build.context.dockerignore import (
    Matcher,
    find_ignore_file,
    go_clean,
    keep_build_files,
    load_matcher,
    read_patterns,
    walk_context,
)
from dockwright.errors import InvalidParameter


def test_read_patterns_normalises() -> None:
    text = "\ufeff# comment\n  # not a comment?\n\n  /abs/  \n./dot\n!  ./keep/../kept \na//b/./c\n!\n"
    assert read_patterns(text) == ["# not a comment?", "abs", "dot", "!kept", "a/b/c", "!"]


def test_documented_example() -> None:
    m = Matcher.from_text("# comment\n*/temp*\n*/*/temp*\ntemp?\n")
    assert m.matches("somedir/temporary.txt")
    assert m.matches("somedir/temp")
    assert m.matches("somedir/subdir/temporary.txt")
    assert m.matches("tempa") and m.matches("tempb")
    assert not m.matches("temp")
    assert not m.matches("temporary.txt")
    assert not m.matches("a/b/c/temp.txt")


def test_double_star() -> None:
    m = Matcher(["**/*.go"])
    assert m.matches("main.go") and m.matches("a/b/c.go")
    assert not m.matches("a/b/c.gox")
    assert Matcher(["**"]).matches("anything/at/all")
    dir_star = Matcher(["dir/**"])
    assert dir_star.matches("dir/x") and dir_star.matches("dir/x/y") and not dir_star.matches("dir")
    mid = Matcher(["a/**/z"])
    assert mid.matches("a/z") and mid.matches("a/b/c/z") and not mid.matches("b/z")


def test_exceptions_last_match_wins() -> None:
    m = Matcher(["*.md", "!README.md"])
    assert m.matches("CHANGES.md") and not m.matches("README.md")
    m = Matcher(["*.md", "!README*.md", "README-secret.md"])
    assert not m.matches("README.md") and m.matches("README-secret.md")
    m = Matcher(["*.md", "README-secret.md", "!README*.md"])
    assert not m.matches("README-secret.md") and not m.matches("README-x.md") and m.matches("x.md")


def test_directory_match_covers_contents() -> None:
    m = Matcher([".git", "node_modules", "build/"])
    assert m.matches(".git") and m.matches(".git/objects/ab/cd")
    assert m.matches("node_modules/x/package.json")
    assert m.matches("build/out.o")
    assert not m.matches("src/node_modules_x")


def test_character_classes_and_escapes() -> None:
    m = Matcher(["file[0-9].txt", "lit\\*eral", "q?"])
    assert m.matches("file3.txt") and not m.matches("filex.txt")
    assert m.matches("lit*eral") and not m.matches("litXeral")
    assert m.matches("qa") and not m.matches("q/")


def test_leading_slash_and_dot_paths() -> None:
    m = Matcher.from_text("/secret\n./tmp\n")
    assert m.matches("secret") and m.matches("/secret") and m.matches("./tmp/x")


def test_bad_patterns() -> None:
    with pytest.raises(InvalidParameter):
        Matcher(["!"])
    with pytest.raises(InvalidParameter):
        Matcher(["[unclosed"])


def test_dir_may_have_exceptions() -> None:
    m = Matcher(["docs", "!docs/README.md", "vendor", "!**/keep"])
    assert m.dir_may_have_exceptions("docs")
    assert m.dir_may_have_exceptions("vendor")  # "**/keep" may be anywhere
    plain = Matcher(["docs", "build", "!docs/*.md"])
    assert plain.dir_may_have_exceptions("docs")
    assert not plain.dir_may_have_exceptions("build")
    assert not Matcher(["x"]).dir_may_have_exceptions("x")
    nested = Matcher(["a", "!a/b/c"])
    assert nested.dir_may_have_exceptions("a/b") and not nested.dir_may_have_exceptions("a/x")
    ancestor = Matcher(["a/b", "!a"])
    assert ancestor.dir_may_have_exceptions("a/b")


def test_patterns_compiled_once() -> None:
    m = Matcher(["*.o", "!keep.o"])
    regexes = [p.regex for p in m.patterns]
    for name in ("a.o", "keep.o", "x/y.o"):
        m.matches(name)
    assert [p.regex for p in m.patterns] == regexes


def test_go_clean() -> None:
    cases = {"": ".", "a/../..": "..", "//a//b/": "/a/b", "/..": "/", "./a/./b/": "a/b", "a/b/../../c": "c"}
    for raw, want in cases.items():
        assert go_clean(raw) == want


def _tree(root: Path, outside: Path) -> None:
    for rel in ("Dockerfile", "app/main.py", "app/test_x.py", "docs/README.md", "docs/guide.md",
                "build/a.o", "build/deep/b.o", ".git/HEAD"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "key").write_text("k")
    os.symlink(outside / "secret", root / "link")
    os.symlink("../Dockerfile", root / "app" / "df-link")


def test_walk_context(tmp_path: Path) -> None:
    root, outside = tmp_path / "ctx", tmp_path / "outside"
    root.mkdir()
    _tree(root, outside)
    m = Matcher.from_text(".git\nbuild\ndocs\n!docs/README.md\n**/test_*\n")
    got = [str(p) for p in walk_context(root, m)]
    assert got == ["Dockerfile", "app", "app/df-link", "app/main.py", "docs/README.md", "link"]


def test_walk_skips_excluded_dirs_without_reading_them(tmp_path: Path) -> None:
    root = tmp_path / "ctx"
    (root / "private").mkdir(parents=True)
    (root / "private" / "f").write_text("x")
    (root / "ok").write_text("y")
    os.chmod(root / "private", 0)
    try:
        got = [str(p) for p in walk_context(root, Matcher(["private"]))]
    finally:
        os.chmod(root / "private", 0o755)
    assert got == ["ok"]


def test_find_ignore_file(tmp_path: Path) -> None:
    assert find_ignore_file(tmp_path, Path("Dockerfile")) is None
    (tmp_path / ".dockerignore").write_text("*.log\n")
    assert find_ignore_file(tmp_path, Path("Dockerfile")) == tmp_path / ".dockerignore"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "app.Dockerfile.dockerignore").write_text("*.tmp\n")
    assert find_ignore_file(tmp_path, Path("sub/app.Dockerfile")) == tmp_path / "sub" / "app.Dockerfile.dockerignore"
    assert find_ignore_file(tmp_path, tmp_path / "sub" / "other.Dockerfile") == tmp_path / ".dockerignore"
    m = load_matcher(tmp_path, Path("sub/app.Dockerfile"))
    assert m.matches("x.tmp") and not m.matches("x.log")
    assert not load_matcher(tmp_path / "sub").matches("x.log")


def test_keep_build_files() -> None:
    patterns = keep_build_files(["*", "!src"], "build/Dockerfile")
    m = Matcher(patterns)
    assert not m.matches("build/Dockerfile") and not m.matches(".dockerignore")
    assert m.matches("other") and not m.matches("src/x")
    assert keep_build_files(["*.log"], "Dockerfile") == ["*.log"]


VERIFIED = json.loads((Path(__file__).parent / "data" / "dockerignore_verified.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(VERIFIED["cases"]))
def test_matches_docker(name: str, tmp_path: Path) -> None:
    """The files ``COPY . /ctx/`` received under dockerd 20.10 with this ``.dockerignore``."""
    case = VERIFIED["cases"][name]
    for rel in VERIFIED["files"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    (tmp_path / ".dockerignore").write_text(case["dockerignore"])
    m = load_matcher(tmp_path)
    got = sorted(str(p) for p in walk_context(tmp_path, m) if (tmp_path / p).is_file())
    assert got == case["copied"]
