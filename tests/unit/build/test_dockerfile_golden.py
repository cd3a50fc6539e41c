"""Golden files pin the parse: tests/golden/dockerfile/<case>/{Dockerfile,result}.

``result`` is the AST's s-expression dump, followed by the warnings. A case
with a ``buildargs`` file (``KEY=VALUE`` lines) also has ``expanded``: every
stage after ``expand_stage``, with the build args each instruction used and
those its cache key includes, then the unused build args. Heredocs appear in
the dump as ``(heredoc "NAME" [noexpand] [chomp] [fd=N] "content")``.
Negative cases live in ``negative/<case>/{Dockerfile,error}``; ``error`` is the
exact message. ``UPDATE_GOLDEN=1`` rewrites ``result``, ``expanded`` and ``error``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockwright.build.dockerfile import (
    DockerfileError,
    expand_stage,
    parse,
    parse_instructions,
    resolve_meta_args,
    unused_build_args,
)
from dockwright.build.dockerfile.quote import go_quote

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dockerfile"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

POSITIVE = sorted(p.name for p in GOLDEN.iterdir() if (p / "Dockerfile").is_file())
NEGATIVE = sorted(p.name for p in (GOLDEN / "negative").iterdir() if (p / "Dockerfile").is_file())


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def _render(case: Path) -> str:
    result = parse(_read(case / "Dockerfile"))
    parse_instructions(result)  # every positive case must also be a valid Dockerfile
    out = result.dump()
    for w in result.warnings:
        detail = w.detail.replace("\n", "\\n")
        out += f"# warning {w.start_line}-{w.end_line}: {detail}\n"
    return out


def _expanded(case: Path) -> str:
    result = parse(_read(case / "Dockerfile"))
    stages, meta = parse_instructions(result)
    build_args = dict(
        line.split("=", 1) for line in _read(case / "buildargs").splitlines() if line.strip()
    )
    resolved = resolve_meta_args(meta, build_args, escape=result.escape)
    lines = ["global " + " ".join(f"{k}={v if v is not None else '<unset>'}" for k, v in resolved.items())]
    expanded = []
    for stage in stages:
        st = expand_stage(stage, build_args, resolved, escape=result.escape)
        expanded.append(st)
        lines.append(f"stage {stage.index} {go_quote(stage.name)} FROM {go_quote(st.stage.base_name)}")
        for ec in st.commands:
            lines.append(f"  {ec.command!r}")
            lines.append(f"    used={sorted(ec.used_args)} cache={dict(ec.cache_args)}")
        lines.append(f"  env={dict(st.env)} args={dict(st.args)}")
    lines.append(f"unused {unused_build_args(build_args, meta, expanded)}")
    return "\n".join(lines) + "\n"


EXPANDED = sorted(name for name in POSITIVE if (GOLDEN / name / "buildargs").is_file())


@pytest.mark.parametrize("name", EXPANDED)
def test_golden_expanded(name: str) -> None:
    case = GOLDEN / name
    got = _expanded(case)
    if UPDATE:
        (case / "expanded").write_text(got, encoding="utf-8")
    assert got == (case / "expanded").read_text(encoding="utf-8")


def test_enough_cases() -> None:
    assert len(POSITIVE) >= 30
    assert len(NEGATIVE) >= 20


@pytest.mark.parametrize("name", POSITIVE)
def test_golden_parse(name: str) -> None:
    case = GOLDEN / name
    got = _render(case)
    if UPDATE:
        (case / "result").write_text(got, encoding="utf-8")
    assert got == (case / "result").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NEGATIVE)
def test_golden_error(name: str) -> None:
    case = GOLDEN / "negative" / name
    with pytest.raises(DockerfileError) as info:
        parse_instructions(parse(_read(case / "Dockerfile")))
    got = str(info.value) + "\n"
    if UPDATE:
        (case / "error").write_text(got, encoding="utf-8")
    assert got == (case / "error").read_text(encoding="utf-8")
