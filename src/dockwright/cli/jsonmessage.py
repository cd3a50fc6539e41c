"""Rendering of docker's JSON-lines progress streams (load, import, later pull/push/build).

Messages carry ``status``/``id``/``progressDetail``/``progress``, ``stream``
text, ``aux`` payloads, or ``errorDetail``. Without a terminal, progress
updates are dropped and every other message is one line, as docker does; on
a terminal, rich draws a bar per layer id (imported only then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TextIO

from dockwright.errors import DockwrightError


class StreamError(DockwrightError):
    """The daemon reported an error inside a stream (``errorDetail``); printed as is."""


def _error_of(msg: dict[str, Any]) -> str | None:
    detail = msg.get("errorDetail")
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    if msg.get("error"):
        return str(msg["error"])
    return None


def raise_for_error(msg: dict[str, Any]) -> None:
    """A stream reports failure in-band: raise it as ``StreamError`` so the command ends with it."""
    err = _error_of(msg)
    if err is not None:
        raise StreamError(err)


def line_of(msg: dict[str, Any]) -> str | None:
    """The text docker prints for ``msg`` on a non-terminal, or ``None`` to print nothing."""
    progress = msg.get("progress")
    if msg.get("progressDetail") and progress:
        return None
    parts = []
    if msg.get("id"):
        parts.append(f"{msg['id']}: ")
    if msg.get("from"):
        parts.append(f"(from {msg['from']}) ")
    if msg.get("stream"):
        parts.append(str(msg["stream"]))
        return "".join(parts)
    if progress:
        parts.append(f"{msg.get('status', '')} {progress}\n")
    else:
        parts.append(f"{msg.get('status', '')}\n")
    return "".join(parts)


def display(
    messages: Iterable[dict[str, Any]],
    out: TextIO,
    *,
    tty: bool = False,
    on_aux: Callable[[Any], None] | None = None,
) -> None:
    """Print a progress stream; raise ``StreamError`` on the first error message."""
    if tty:
        _display_rich(messages, out, on_aux)
        return
    for msg in messages:
        _handle(msg, out, on_aux)


def _text_of(msg: dict[str, Any], on_aux: Callable[[Any], None] | None) -> str | None:
    """What to print for a message that is not a progress update: errors raise, ``aux`` goes to ``on_aux``."""
    raise_for_error(msg)
    if "aux" in msg:
        if on_aux is not None:
            on_aux(msg["aux"])
        return None
    return line_of(msg)


def _handle(msg: dict[str, Any], out: TextIO, on_aux: Callable[[Any], None] | None) -> None:
    text = _text_of(msg, on_aux)
    if text:
        out.write(text)
        out.flush()


def _display_rich(messages: Iterable[dict[str, Any]], out: TextIO,
                  on_aux: Callable[[Any], None] | None) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    console = Console(file=out, highlight=False)
    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.fields[layer]}: {task.description}"), BarColumn(), DownloadColumn(),
                  console=console, transient=False) as progress:
        for msg in messages:
            detail = msg.get("progressDetail") or {}
            ident = msg.get("id")
            if ident and (detail or ident in tasks) and _error_of(msg) is None and "stream" not in msg:
                total = detail.get("total") or None
                current = detail.get("current")
                if ident not in tasks:
                    tasks[ident] = progress.add_task(str(msg.get("status", "")), layer=ident, total=total)
                kw: dict[str, Any] = {"description": str(msg.get("status", ""))}
                if total:
                    kw["total"] = total
                if current is not None:
                    kw["completed"] = current
                progress.update(tasks[ident], **kw)
                continue
            text = _text_of(msg, on_aux)
            if text:
                progress.console.print(text.rstrip("\n"), markup=False, highlight=False)
