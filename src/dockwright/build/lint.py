"""Dockerfile advice that saves rebuild time: the whole context copied before the dependency install.

``COPY . .`` before ``RUN pip install ...`` means any source change re-runs
the install. The fix is to copy only the dependency manifest first, install,
then copy the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockwright.build.dockerfile.instructions import AddCommand, CopyCommand, RunCommand, Stage

_INSTALL = re.compile(
    r"\b(pip3?\s+install|npm\s+(install|ci)|yarn(\s+install)?\b|pnpm\s+install|go\s+mod\s+download|"
    r"bundle\s+install|composer\s+install|cargo\s+(build|fetch)|poetry\s+install|mvn\b|gradle\b|"
    r"apk\s+add|apt-get\s+install|install\b)"
)
_MANIFESTS = ("requirements", "package.json", "package-lock.json", "yarn.lock", "go.mod", "go.sum", "Gemfile",
              "Cargo.toml", "Cargo.lock", "pom.xml", "composer.json", "pyproject.toml", "poetry.lock")


def _copies_all(cmd: CopyCommand | AddCommand) -> bool:
    return not getattr(cmd, "from_", "") and any(s.rstrip("/") in (".", "") for s in cmd.paths.sources)


def lint(stages: Sequence[Stage]) -> list[str]:
    out: list[str] = []
    for stage in stages:
        whole: CopyCommand | AddCommand | None = None
        for cmd in stage.commands:
            if isinstance(cmd, (CopyCommand, AddCommand)) and _copies_all(cmd) and whole is None:
                whole = cmd
            elif isinstance(cmd, RunCommand) and whole is not None and _INSTALL.search(" ".join(cmd.cmd)):
                manifest = next((m for m in _MANIFESTS if m in " ".join(cmd.cmd)), "the dependency manifest")
                out.append(
                    f"{whole.location[0]}:{whole.location[1]}: '{whole.original.strip()}' comes before the "
                    f"dependency install at line {cmd.location[1]} ('{cmd.original.strip()[:60]}'): any source "
                    f"change re-runs the install. Fix: COPY only {manifest} first, RUN the install, then "
                    f"'{whole.original.strip()}'.")
                break
    return out
