"""``import``, ``load`` and ``save``: tarballs in and out, always streamed, never held in memory."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import IO, Any

from dockwright.cli.commands.output import refuse_terminal, write_output, write_stdout_bytes
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import bool_flag, change_flag, list_flag, output_flag, platform_flag, string_flag
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
    write_stdout_bytes(cli, resp.iter_chunks())


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
        change_flag(),
        string_flag("message", "Set commit message for imported image", short="m"),
        platform_flag(),
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
        string_flag("input", "Read from tar archive file, instead of STDIN", short="i"),
        bool_flag("quiet", "Suppress the load output", short="q"),
        list_flag("platform", "Load only the given platform(s)", metavar="stringSlice", hidden=True),
    ],
)

# --------------------------------------------------------------------------- save


def run_save(cli: Cli, ns: SimpleNamespace) -> int:
    refuse_terminal(cli, ns.output)
    if ns.output:
        directory = os.path.dirname(os.path.abspath(ns.output))
        if not os.path.isdir(directory):
            raise InvalidParameter(
                f'failed to save image: invalid output path: directory "{directory}" does not exist')
    with cli.client.open("GET", "/images/get", params={"names": ns.args}) as resp:
        write_output(cli, ns.output, resp.iter_chunks(COPY_CHUNK), mode=0o644)
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
        output_flag(),
        list_flag("platform", "Save only the given platform(s)", metavar="stringSlice", hidden=True),
    ],
)
