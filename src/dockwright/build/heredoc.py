"""Heredocs at run time: the script a ``RUN <<EOF`` hands the shell, and COPY/ADD heredoc
sources as an in-memory tree the copy code reads like the context.

BuildKit's rules: a RUN that is exactly one heredoc runs its body as the shell's
script, or, when the body starts with ``#!``, as an executable file mounted at
``/dev/pipes/<name>``; any other RUN with heredocs (``RUN <<EOF bash``, ``RUN cat
<<A <<B``) is given back to the shell whole, bodies and terminators included, so
the shell does the redirection. Heredoc sources of COPY/ADD become files of mode
0644 (before ``--chmod``) named after the delimiter.
"""

from __future__ import annotations

import hashlib
import io
import stat
import time
from typing import BinaryIO

from dockwright.build.copyfiles import Stat
from dockwright.build.dockerfile.instructions import RunCommand, SourceContent
from dockwright.build.dockerfile.parser import parse_heredoc

PIPES_DIR = "/dev/pipes"


def run_script(cmd: RunCommand) -> tuple[str, SourceContent | None]:
    """(the shell's script argument, the file to mount executable at ``/dev/pipes`` or None)."""
    text = " ".join(cmd.cmd)
    if parse_heredoc(text) is not None and cmd.files:
        first = cmd.files[0]
        if first.data.startswith("#!"):
            return f"{PIPES_DIR}/{first.path}", first
        return first.data, None
    full = text
    for f in cmd.files:
        full += "\n" + f.data + f.path
    return full, None


class MemTree:
    """Heredoc sources: flat, regular files of mode 0644 owned by root, written now."""

    context = True

    def __init__(self, contents: tuple[SourceContent, ...]) -> None:
        self.files = {c.path: c.data.encode("utf-8", "surrogateescape") for c in contents}
        self.mtime_ns = time.time_ns()

    def lstat(self, rel: str) -> Stat | None:
        if rel == "":
            return Stat(stat.S_IFDIR | 0o755, 0, 0, 0, self.mtime_ns)
        data = self.files.get(rel)
        return None if data is None else Stat(stat.S_IFREG | 0o644, 0, 0, len(data), self.mtime_ns)

    def readlink(self, rel: str) -> str:
        raise OSError(f"{rel} is not a symlink")

    def listdir(self, rel: str) -> list[str]:
        return sorted(self.files) if rel == "" else []

    def sha256(self, rel: str) -> str:
        return hashlib.sha256(self.files[rel]).hexdigest()

    def open(self, rel: str) -> BinaryIO:
        return io.BytesIO(self.files[rel])

    def resolve(self, rel: str) -> str:
        return rel
