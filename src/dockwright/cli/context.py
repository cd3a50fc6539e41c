"""What every command gets: the streams, the daemon's address, and a lazily built API client."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, TextIO

from dockwright.client.hosts import TLSConfig

if TYPE_CHECKING:
    from dockwright.client.api import APIClient


class Cli:
    def __init__(
        self,
        host: str,
        tls: TLSConfig | None = None,
        *,
        env: Mapping[str, str] | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.host = host
        self.tls = tls
        self.env = os.environ if env is None else env
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr
        self._client: APIClient | None = None

    # Streams are looked up when used, so tests that swap sys.stdout see the output.
    @property
    def stdin(self) -> TextIO:
        return self._stdin or sys.stdin

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def stdout_bytes(self) -> IO[bytes]:
        out = self.stdout
        out.flush()
        return out.buffer

    @property
    def stdin_bytes(self) -> IO[bytes]:
        return self.stdin.buffer

    @property
    def client(self) -> APIClient:
        if self._client is None:
            from dockwright.client.api import APIClient

            pinned = self.env.get("DOCKER_API_VERSION")
            if pinned:
                self._client = APIClient(self.host, self.tls, pinned, negotiate=False)
            else:
                self._client = APIClient(self.host, self.tls)
        return self._client

    def out(self, text: str = "", end: str = "\n") -> None:
        self.stdout.write(text + end)

    def err(self, text: str, end: str = "\n") -> None:
        self.stdout.flush()
        self.stderr.write(text + end)
        self.stderr.flush()

    def is_tty(self, stream: IO[str] | IO[bytes]) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def confirm(self, message: str) -> bool:
        """docker's ``PromptForConfirmation``: ``message [y/N] ``; only y/Y proceeds."""
        self.stdout.write(message + " [y/N] ")
        self.stdout.flush()
        answer = self.stdin.readline()
        if not answer and self.is_tty(self.stdout):
            self.stdout.write("\n")
        return answer.strip() in ("y", "Y")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
