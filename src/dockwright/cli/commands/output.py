"""Where the bytes of ``save``, ``export`` and ``cp``-to-stdout go: a file written whole, or stdout."""

from __future__ import annotations

import os
from collections.abc import Iterable

from dockwright.cli.context import Cli
from dockwright.errors import InvalidParameter


def refuse_terminal(cli: Cli, output: str | None) -> None:
    """A tarball is never written to a terminal: ``-o`` or a redirect is needed (``save``, ``export``)."""
    if not output and cli.is_tty(cli.stdout):
        raise InvalidParameter("cowardly refusing to save to a terminal. Use the -o flag or redirect")


def write_stdout_bytes(cli: Cli, chunks: Iterable[bytes]) -> None:
    out = cli.stdout_bytes
    for chunk in chunks:
        out.write(chunk)
    out.flush()


def write_atomically(path: str, chunks: Iterable[bytes], mode: int = 0o666) -> None:
    """Write to a temporary file beside ``path`` and rename it into place, so a failure leaves no half file.

    ``mode`` is masked by the umask, as a plain create would be (mkstemp's would be 0600).
    """
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dockwright-", dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, mode & ~umask)
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_output(cli: Cli, output: str | None, chunks: Iterable[bytes], *, mode: int = 0o666) -> None:
    """``-o FILE`` (written whole or not at all), else standard output."""
    if output:
        write_atomically(output, chunks, mode)
    else:
        write_stdout_bytes(cli, chunks)
