"""Declaring flags: one constructor per kind, and the flags many commands share word for word.

A kind prints its own name as the value placeholder in help (``--name string``),
so a declaration names a ``metavar`` only where docker shows another one
(``bytes``, ``duration``, ``filter``). Help texts are docker's: users and the
tests compare them with the docker CLI's, so shared flags keep one wording.
"""

from __future__ import annotations

from typing import Any

from dockwright.cli.flags import Flag

FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template"
)
INSPECT_FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template"
)


def bool_flag(long: str, help_: str, *, short: str = "", default: bool = False, hidden: bool = False) -> Flag:
    return Flag(long, short, "bool", default=default, help=help_, hidden=hidden)


def string_flag(long: str, help_: str = "", *, short: str = "", metavar: str = "", default: str | None = None,
                hidden: bool = False) -> Flag:
    return Flag(long, short, "string", default=default, help=help_, metavar=metavar, hidden=hidden)


def list_flag(long: str, help_: str, *, short: str = "", metavar: str = "", hidden: bool = False) -> Flag:
    """A flag that may be repeated; its values are kept in order."""
    return Flag(long, short, "list", help=help_, metavar=metavar, hidden=hidden)


def int_flag(long: str, help_: str = "", *, short: str = "", metavar: str = "", default: Any = None,
             hidden: bool = False) -> Flag:
    """``default`` None tells "not given" apart from 0 (``--stop-timeout``, ``update --cpu-shares``)."""
    return Flag(long, short, "int", default=default, help=help_, metavar=metavar, hidden=hidden)


# --------------------------------------------------------------------------- shared by several commands


def format_flag(help_: str = FORMAT_HELP, *, short: str = "") -> Flag:
    return string_flag("format", help_, short=short)


def inspect_format_flag() -> Flag:
    """``-f, --format`` of the commands that print API objects (inspect, info): no tables."""
    return format_flag(INSPECT_FORMAT_HELP, short="f")


def filter_flag(help_: str = "Provide filter values (e.g. \"dangling=true\")", *, short: str = "f") -> Flag:
    """``-f, --filter``; the prune commands have no short form (their ``-f`` is ``--force``)."""
    return list_flag("filter", help_, short=short, metavar="filter")


def no_prompt_flag() -> Flag:
    """``-f, --force`` of the prune commands."""
    return bool_flag("force", "Do not prompt for confirmation", short="f")


def all_containers_flag() -> Flag:
    return bool_flag("all", "Show all containers (default shows just running)", short="a")


def no_trunc_flag(help_: str = "Don't truncate output") -> Flag:
    return bool_flag("no-trunc", help_)


def platform_flag(help_: str = "Set platform if server is multi-platform capable", *, hidden: bool = False) -> Flag:
    return string_flag("platform", help_, hidden=hidden)


def output_flag() -> Flag:
    """``-o, --output`` of the commands that stream a tarball to stdout by default (save, export)."""
    return string_flag("output", "Write to a file, instead of STDOUT", short="o")


def change_flag() -> Flag:
    """``-c, --change`` of the commands that make an image (commit, import)."""
    return list_flag("change", "Apply Dockerfile instruction to the created image", short="c")
