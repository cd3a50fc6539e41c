"""The build context as the daemon receives it: a tar stream indexed into a ``TarContext``.

The Dockerfile and the ignore files are read from the index (the docker CLI
puts a Dockerfile from outside the context or from stdin into the tar under a
generated name).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from dockwright.build.context.dockerignore import IGNORE_FILE, Matcher, go_clean
from dockwright.build.context.tarctx import TarContext
from dockwright.build.copyfiles import TarTree
from dockwright.errors import InvalidParameter


def receive_context(stream: BinaryIO, spool: Path) -> TarContext:
    return TarContext.receive(stream, spool)


def read_dockerfile(ctx: TarContext, name: str) -> tuple[str, str]:
    """(text, context-relative name); ``name`` may not leave the context."""
    rel = go_clean("/" + (name or "Dockerfile")).lstrip("/")
    tree = TarTree(ctx)
    for candidate in ([rel, "dockerfile"] if rel == "Dockerfile" else [rel]):
        try:
            real = tree.resolve(candidate)
        except InvalidParameter:
            raise InvalidParameter(f"the Dockerfile ({name}) must be within the build context") from None
        e = ctx.get(real)
        if e is not None and e.sha:
            return ctx.text(real), candidate
    raise InvalidParameter(
        f"Cannot locate specified Dockerfile: {name or 'Dockerfile'}: add it to the context or use -f")


def context_matcher(ctx: TarContext, dockerfile: str) -> Matcher:
    """``<Dockerfile>.dockerignore`` next to the Dockerfile wins over ``.dockerignore`` at the root."""
    for candidate in (dockerfile + IGNORE_FILE, IGNORE_FILE):
        e = ctx.get(candidate)
        if e is not None and e.sha:
            return Matcher.from_text(ctx.text(candidate))
    return Matcher([])
