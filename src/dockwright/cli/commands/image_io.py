"""``import``, ``load`` and ``save``: tarballs in and out, always streamed, never held in memory."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import IO, Any

from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec, Flag
from dockwright.cli.jsonmessage import display
from dockwright.client.api import Response
from dockwright.errors import InvalidParameter

COPY_CHUNK = 1 << 20


def _open_input(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise InvalidParameter(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise InvalidParameter(f"read {path}: is a directory") from None
    except PermissionError:
        raise InvalidParameter(f"open {path}: permission denied") from None


def show_stream(cli: Cli, resp: Response, *, tty: bool) -> None:
    """Progress (JSON lines) as docker shows it, or the raw body when the daemon did not send JSON."""
    if resp.content_type == "application/json" or resp.content_type.endswith("+json"):
        display(resp.iter_json(), cli.stdout, tty=tty)
        return
    out = cli.stdout_bytes
    for chunk in resp.iter_chunks():
        out.write(chunk)
    out.flush()


# --------------------------------------------------------------------------- import


def run_import(cli: Cli, ns: SimpleNamespace) -> int:
    source = ns.args[0]
    ref = ns.args[1] if len(ns.args) > 1 else ""
    if ref:
        from dockwright.oci.reference import ReferenceError, parse_reference

        try:
            parse_reference(ref)
        except ReferenceError as exc:
            raise InvalidParameter(str(exc)) from None
    params: dict[str, Any] = {"fromSrc": source, "repo": ref or None, "message": ns.message or None,
                              "changes": ns.change or None, "platform": ns.platform or None}
    body: IO[bytes] | None = None
    if source == "-":
        body = cli.stdin_bytes
    elif source.startswith(("http://", "https://")):
        body = None
    else:
        body = _open_input(source)
        params["fromSrc"] = "-"
    try:
        with cli.client.open("POST", "/images/create", params=params, body=body) as resp:
            show_stream(cli, resp, tty=False)
    finally:
        if body is not None and source != "-":
            body.close()
    return 0


IMPORT = CommandSpec(
    name="image import",
    usage="[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    short="Import the contents from a tarball to create a filesystem image",
    run=run_import,
    aliases=["import"],
    min_args=1,
    max_args=2,
    flags=[
        Flag("change", "c", "list", help="Apply Dockerfile instruction to the created image", metavar="list"),
        Flag("message", "m", "string", help="Set commit message for imported image", metavar="string"),
        Flag("platform", "", "string", help="Set platform if server is multi-platform capable",
             metavar="string"),
    ],
)

# --------------------------------------------------------------------------- load


def run_load(cli: Cli, ns: SimpleNamespace) -> int:
    if ns.input:
        body: IO[bytes] = _open_input(ns.input)
    else:
        if cli.is_tty(cli.stdin):
            raise InvalidParameter("requested load from stdin, but stdin is empty")
        body = cli.stdin_bytes
    tty = cli.is_tty(cli.stdout)
    quiet = ns.quiet or not tty
    try:
        with cli.client.open("POST", "/images/load", params={"quiet": quiet}, body=body,
                             headers={"Content-Type": "application/x-tar"}) as resp:
            show_stream(cli, resp, tty=tty and not quiet)
    finally:
        if ns.input:
            body.close()
    return 0


LOAD = CommandSpec(
    name="image load",
    usage="[OPTIONS]",
    short="Load an image from a tar archive or STDIN",
    run=run_load,
    aliases=["load"],
    flags=[
        Flag("input", "i", "string", help="Read from tar archive file, instead of STDIN", metavar="string"),
        Flag("quiet", "q", help="Suppress the load output"),
        Flag("platform", "", "list", help="Load only the given platform(s)", metavar="stringSlice", hidden=True),
    ],
)

# --------------------------------------------------------------------------- save


def _copy_to_file(resp: Response, path: str) -> None:
    """Write through a temporary file next to ``path`` and rename: no half-written tarball on failure."""
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dockwright-save-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in resp.iter_chunks(COPY_CHUNK):
                f.write(chunk)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_save(cli: Cli, ns: SimpleNamespace) -> int:
    if not ns.output and cli.is_tty(cli.stdout):
        raise InvalidParameter("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if ns.output:
        directory = os.path.dirname(os.path.abspath(ns.output))
        if not os.path.isdir(directory):
            raise InvalidParameter(
                f'failed to save image: invalid output path: directory "{directory}" does not exist')
    with cli.client.open("GET", "/images/get", params={"names": ns.args}) as resp:
        if ns.output:
            _copy_to_file(resp, ns.output)
        else:
            out = cli.stdout_bytes
            for chunk in resp.iter_chunks(COPY_CHUNK):
                out.write(chunk)
            out.flush()
    return 0


SAVE = CommandSpec(
    name="image save",
    usage="[OPTIONS] IMAGE [IMAGE...]",
    short="Save one or more images to a tar archive (streamed to STDOUT by default)",
    run=run_save,
    aliases=["save"],
    min_args=1,
    max_args=None,
    flags=[
        Flag("output", "o", "string", help="Write to a file, instead of STDOUT", metavar="string"),
        Flag("platform", "", "list", help="Save only the given platform(s)", metavar="stringSlice", hidden=True),
    ],
)
