"""Cache keys, explanations, lint and context source selection (pure, no daemon)."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from dockwright.build import copyfiles
from dockwright.build.cache.keys import files_digest, step_key
from dockwright.build.cache.store import StepRecord
from dockwright.build.context.dockerignore import Matcher
from dockwright.build.context.tarctx import TarContext
from dockwright.build.dockerfile.instructions import parse_dockerfile
from dockwright.build.explain import explain_miss
from dockwright.build.lint import lint
from dockwright.errors import InvalidParameter, NotFound


def _cmd(text: str):  # type: ignore[no-untyped-def]
    stages, _ = parse_dockerfile("FROM busybox\n" + text)
    return stages[0].commands[0]


def test_key_ignores_location_and_spacing() -> None:
    a = _cmd("ENV A=b\n")
    stages, _ = parse_dockerfile("FROM busybox\n\n\nENV   A=b\n")
    b = stages[0].commands[0]
    assert step_key("p", a, {}) == step_key("p", b, {})
    assert step_key("p", a, {}) != step_key("q", a, {})
    assert step_key("p", a, {"X": "1"}) != step_key("p", a, {"X": "2"})


def _tree(root: Path, tmp: Path) -> copyfiles.TarTree:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for p in sorted(root.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(root)), recursive=False)
    buf.seek(0)
    return copyfiles.TarTree(TarContext.receive(buf, tmp / f"spool-{time.monotonic_ns()}.tar"))


def test_file_digest_ignores_mtime(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("hi")

    def dig(owner: copyfiles.Owner) -> str:
        tree = _tree(ctx, tmp_path)
        return files_digest(copyfiles.digest(tree, copyfiles.select(tree, ["f"], Matcher([])), None, owner, None))

    d1 = dig(copyfiles.Owner(0, 0))
    os.utime(ctx / "f", (time.time() - 1000, time.time() - 1000))
    assert dig(copyfiles.Owner(0, 0)) == d1
    assert dig(copyfiles.Owner(1000, 1000)) != d1
    (ctx / "f").write_text("ho")
    assert dig(copyfiles.Owner(0, 0)) != d1


def test_select_refuses_escapes(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "out").symlink_to("/etc")
    (ctx / "up").symlink_to("../..")
    (ctx / "in").symlink_to("sub")
    (ctx / "sub").mkdir()
    (ctx / "sub" / "x").write_text("1")
    tree = _tree(ctx, tmp_path)
    for bad in ("../x", "out/passwd", "up/etc"):
        with pytest.raises(InvalidParameter):
            copyfiles.select(tree, [bad], None)
    assert copyfiles.select(tree, ["in/x"], None)[0].real == "sub/x"


def test_select_honours_dockerignore_and_globs(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    for n in ("a.py", "b.py", "c.txt", "secret.py"):
        (ctx / n).write_text(n)
    tree = _tree(ctx, tmp_path)
    m = Matcher(["secret*"])
    got = [s.rel for s in copyfiles.select(tree, ["*.py"], m)]
    assert got == ["a.py", "b.py"]
    with pytest.raises(NotFound):
        copyfiles.select(tree, ["secret.py"], m)
    whole = copyfiles.select(tree, ["."], m)
    digests = copyfiles.digest(tree, whole, m, None, None)
    assert "secret.py" not in digests and "a.py" in digests


def test_context_names_cannot_escape(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name in ("../../evil", "/abs", "ok/./f"):
            ti = tarfile.TarInfo(name)
            ti.size = 1
            tf.addfile(ti, io.BytesIO(b"x"))
    buf.seek(0)
    ctx = TarContext.receive(buf, tmp_path / "spool.tar")
    assert sorted(k for k in ctx.entries if k) == ["abs", "evil", "ok", "ok/f"]
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def _rec(op: str, args: dict[str, str], files: dict[str, str]) -> StepRecord:
    return StepRecord("k", "p", "", b"{}", op, args, files, 0.0)


def test_explain_reasons() -> None:
    old = _rec("op", {"V": "1"}, {"a": "1", "b": "2"})
    reason, files, _ = explain_miss([old], "op", {"V": "1"}, {"a": "1", "b": "3", "c": "4"}, parent_ran=False)
    assert files == ["b", "c"] and "b (changed)" in reason and "c (added)" in reason
    reason, _, args = explain_miss([old], "op", {"V": "2"}, old.files, parent_ran=False)
    assert args == ["V"] and "V (1 -> 2)" in reason
    assert explain_miss([old], "other", {}, {}, parent_ran=False)[0].startswith("instruction changed")
    assert explain_miss([], "op", {}, {}, parent_ran=True)[0] == "parent step changed"
    assert explain_miss([], "op", {}, {}, parent_ran=False, forced="--no-cache")[0] == "--no-cache"


def test_lint_copy_before_install() -> None:
    bad, _ = parse_dockerfile("FROM python\nCOPY . .\nRUN pip install -r requirements.txt\n")
    warnings = lint(bad)
    assert len(warnings) == 1 and "Dockerfile:2" in warnings[0] and "COPY only requirements" in warnings[0]
    good, _ = parse_dockerfile("FROM python\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
                               "COPY . .\n")
    assert lint(good) == []


def test_dockerfile_and_ignore_file_from_the_context(tmp_path: Path) -> None:
    from dockwright.build.context.receive import context_matcher, read_dockerfile

    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "sub" / "App.Dockerfile").write_text("FROM scratch\n")
    (ctx / "sub" / "App.Dockerfile.dockerignore").write_text("secret\n")
    (ctx / ".dockerignore").write_text("other\n")
    tree = _tree(ctx, tmp_path)
    text, name = read_dockerfile(tree.ctx, "sub/App.Dockerfile")
    assert text == "FROM scratch\n" and name == "sub/App.Dockerfile"
    assert context_matcher(tree.ctx, name).matches("secret")
    assert context_matcher(tree.ctx, "Dockerfile").matches("other")
    with pytest.raises(InvalidParameter):
        read_dockerfile(tree.ctx, "Dockerfile")
