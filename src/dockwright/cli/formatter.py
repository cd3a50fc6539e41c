"""``--format`` and tables as docker renders them.

A format is ``table TEMPLATE`` (rows through the tab writer, with a header
made by running the template over the column titles), ``json`` (short for
``{{json .}}``), or any other Go template (one line per row, no header).
Rows are ``RowContext`` objects: the fields docker's formatter contexts
offer, computed on demand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from dockwright.cli.tabwriter import tabwrite
from dockwright.errors import InvalidParameter

TABLE_PREFIX = "table"


def go_json(value: Any, *, indent: int | None = None) -> str:
    """JSON as Go's ``json.Marshal`` writes it: ``<``, ``>``, ``&`` escaped, non-ASCII kept."""
    text = json.dumps(value, ensure_ascii=False, indent=indent,
                      separators=(",", ": ") if indent else (",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class RowContext:
    """One row of a listing. ``FIELDS`` maps template field names to column titles."""

    FIELDS: ClassVar[dict[str, str]] = {}

    def template_field(self, name: str) -> Any:
        if name not in self.FIELDS:
            raise KeyError(name)
        return getattr(self, name)()

    def template_json(self) -> str:
        return go_json({name: self.template_field(name) for name in sorted(self.FIELDS)})


def is_table(fmt: str) -> bool:
    return fmt.startswith(TABLE_PREFIX)


def or_default(fmt: str, table: str, *, quiet: bool = False) -> str:
    """The ``--format`` to use: the given one, or for none (or the bare word ``table``) the command's own
    table, or just the IDs with ``-q``."""
    if fmt and fmt != TABLE_PREFIX:
        return fmt
    return "{{.ID}}" if quiet else table


def prepare(fmt: str) -> str:
    """docker's ``preFormat``: drop ``table``, trim spaces, turn ``\\t``/``\\n`` escapes into characters."""
    if fmt == "json":
        return "{{json .}}"
    body = fmt[len(TABLE_PREFIX):] if is_table(fmt) else fmt
    return body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


@contextmanager
def template_errors() -> Iterator[None]:
    """A template that does not parse or run is the user's mistake, worded as docker words it."""
    from dockwright.cli.gotemplate import TemplateError

    try:
        yield
    except TemplateError as exc:
        raise InvalidParameter(f"template parsing error: {exc}") from None


def render(rows: Iterable[RowContext], fmt: str, fields: dict[str, str]) -> str:
    """The whole output for ``rows`` in format ``fmt``: a table through the tab writer, or a line per row."""
    from dockwright.cli.gotemplate import HEADER_FUNCS, Template

    with template_errors():
        tmpl = Template(prepare(fmt))
        body = "".join(tmpl.execute(row) + "\n" for row in rows)
        if not is_table(fmt):
            return body
        header = tmpl.execute(dict(fields), funcs=HEADER_FUNCS)
    return tabwrite(header + "\n" + body)


class ItemTemplate:
    """``--format`` over API objects (inspect, info, events): parsed once, then run for each item."""

    def __init__(self, fmt: str) -> None:
        from dockwright.cli.gotemplate import Template

        with template_errors():
            self._tmpl = Template(prepare(fmt))

    def __call__(self, item: Any) -> str:
        """``item`` rendered, with the newline that ends it."""
        from dockwright.cli.apitypes import NULL_KINDS

        with template_errors():
            return self._tmpl.execute(item, typed_nils=NULL_KINDS) + "\n"


def render_one(item: Any, fmt: str) -> str:
    return ItemTemplate(fmt)(item)
