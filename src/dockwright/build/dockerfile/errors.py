"""The one error type of the Dockerfile frontend.

Every problem found while reading a Dockerfile is an ``InvalidParameter`` (the
client sent a bad build definition, HTTP 400) that remembers where it happened,
so the engine can point at the line without parsing the message back.
"""

from __future__ import annotations

from dockwright.errors import InvalidParameter


class DockerfileError(InvalidParameter):
    """A Dockerfile problem with its location: ``Dockerfile:3: unknown instruction: FOO``."""

    def __init__(
        self,
        detail: str,
        *,
        filename: str = "Dockerfile",
        start_line: int = 0,
        end_line: int = 0,
        instruction: str = "",
        with_filename: bool = True,
    ) -> None:
        self.detail = detail
        self.filename = filename
        self.start_line = start_line
        self.end_line = end_line or start_line
        self.instruction = instruction
        if start_line:
            message = f"{filename}:{start_line}: {detail}"
        else:
            message = f"{filename}: {detail}" if with_filename else detail
        super().__init__(message)


class ExpansionError(InvalidParameter):
    """A variable substitution failed (``${v:?msg}``, bad syntax); carries no location.

    The shell lexer is used outside Dockerfiles too, so it raises this plain
    error and callers that know the instruction re-raise a ``DockerfileError``.
    """
