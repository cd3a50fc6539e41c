"""``dockwright build``: send only what .dockerignore keeps, show the build, explain the cache.

The context tar is produced while it is sent (chunked), so a big context is
never held in memory; the Dockerfile and the ignore file always go along, the
Dockerfile under a generated name when it lives outside the context (or is
read from stdin with ``-f -``), like the docker CLI does.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from dockwright.build.context.dockerignore import (
    Matcher,
    find_ignore_file,
    keep_build_files,
    read_patterns,
    walk_context,
)
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import bool_flag, list_flag, string_flag
from dockwright.cli.jsonmessage import raise_for_error
from dockwright.client.buildsecrets import encode_secrets, read_secret
from dockwright.errors import InvalidParameter

_CHUNK = 1 << 20


def context_tar(root: Path, matcher: Matcher, extra: dict[str, bytes]) -> Iterator[bytes]:
    """The context as a tar stream of chunks: walk order, uid/gid 0, nothing outside ``root``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for rel in walk_context(root, matcher):
            p = root / rel
            ti = tf.gettarinfo(str(p), arcname=rel.as_posix())
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if ti.isreg():
                with open(p, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
            if buf.tell() >= _CHUNK:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        for name, data in extra.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = int(time.time())
            tf.addfile(ti, io.BytesIO(data))
    yield buf.getvalue()


def _kv(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not k:
            raise InvalidParameter(f"invalid {what} {item!r}: use KEY=VALUE")
        out[k] = v if eq else os.environ.get(k, "")
    return out


def run_build(cli: Cli, ns: SimpleNamespace) -> int:
    explain = ns.explain or ""
    args = list(ns.args)
    if explain and explain not in ("text", "json"):
        args.insert(0, explain)  # ``--explain PATH``: the flag took the context path as its value
        explain = "text"
    if len(args) != 1:
        raise InvalidParameter('"build" requires exactly 1 argument: the context directory')
    root = Path(args[0]).absolute()
    if not root.is_dir():
        raise InvalidParameter(f"unable to prepare context: path {args[0]!r} not found")
    extra: dict[str, bytes] = {}
    dockerfile_name = "Dockerfile"
    df_path: Path | None = None
    if ns.file == "-":
        dockerfile_name = f".dockerfile.{uuid.uuid4().hex[:20]}"
        extra[dockerfile_name] = cli.stdin_bytes.read()
    elif ns.file:
        df_path = Path(ns.file).absolute()
        try:
            rel = df_path.relative_to(root)
            dockerfile_name = rel.as_posix()
        except ValueError:
            dockerfile_name = f".dockerfile.{uuid.uuid4().hex[:20]}"
            extra[dockerfile_name] = df_path.read_bytes()
    ignore = find_ignore_file(root, df_path)
    patterns = read_patterns(ignore.read_text(encoding="utf-8", errors="surrogateescape")) if ignore else []
    if ignore is not None and ignore.parent != root or (ignore is not None and ignore.name != ".dockerignore"):
        extra[".dockerignore"] = ignore.read_bytes()
    matcher = Matcher(keep_build_files(patterns, dockerfile_name))
    params: dict[str, Any] = {
        "t": ns.tag or None, "dockerfile": dockerfile_name,
        "buildargs": json.dumps(_kv(ns.build_arg, "build arg")) if ns.build_arg else None,
        "labels": json.dumps(_kv(ns.label, "label")) if ns.label else None,
        "target": ns.target or None, "nocache": ns.no_cache, "q": ns.quiet,
        "cachefrom": json.dumps(ns.cache_from) if ns.cache_from else None,
        "cacheto": json.dumps(ns.cache_to) if ns.cache_to else None,
        "networkmode": ns.network or None, "explain": bool(explain), "version": "1",
        "nocachefilter": ",".join(ns.no_cache_filter) or None,
    }
    headers = {"Content-Type": "application/x-tar"}
    headers.update(encode_secrets(dict(read_secret(s) for s in ns.secret or [])))
    image_id = ""
    explanations: list[dict[str, Any]] = []
    progress = ns.progress or ("tty" if cli.is_tty(cli.stdout) else "plain")

    def on_aux(aux: Any) -> None:
        nonlocal image_id
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
        if isinstance(aux, dict) and "dockwright.explain" in aux:
            explanations.extend(aux["dockwright.explain"])

    with cli.client.open("POST", "/build", params=params, body=context_tar(root, matcher, extra),
                         headers=headers) as resp:
        messages = resp.iter_json()
        if ns.quiet:
            _consume(messages, on_aux, cli.stderr)
        elif progress == "tty":
            _tty(messages, cli.stdout, on_aux)
        else:
            _plain(messages, cli.stdout, on_aux)
    if ns.quiet and image_id:
        cli.stdout.write(image_id + "\n")
    if ns.iidfile and image_id:
        Path(ns.iidfile).write_text(image_id)
    if explain:
        from dockwright.build.explain import from_dicts, report_json, report_text

        steps = from_dicts(explanations)
        cli.stdout.write(report_json(steps) if explain == "json" else report_text(steps))
    return 0


def _consume(messages: Iterator[dict[str, Any]], on_aux: Any, err: TextIO) -> None:
    """``-q``: the daemon sends the build output only when it fails, then the error."""
    for msg in messages:
        raise_for_error(msg)
        if "aux" in msg:
            on_aux(msg["aux"])
        text = str(msg.get("stream", ""))
        if text.startswith("sha256:"):
            on_aux({"ID": text.strip()})
        elif text:
            err.write(text)


def _plain(messages: Iterator[dict[str, Any]], out: TextIO, on_aux: Any) -> None:
    for msg in messages:
        raise_for_error(msg)
        if "aux" in msg:
            on_aux(msg["aux"])
        elif "stream" in msg:
            out.write(msg["stream"])
            out.flush()


def _tty(messages: Iterator[dict[str, Any]], out: TextIO, on_aux: Any) -> None:
    """BuildKit-like: one line per step with its time and whether it came from the cache."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(file=out)
    rows: list[list[Any]] = []  # [title, start, end, status]
    tail: list[str] = []

    def render() -> Text:
        t = Text()
        now = time.monotonic()
        for title, start, end, status in rows:
            secs = (end or now) - start
            mark = "CACHED" if status == "cached" else ("DONE" if end else "...")
            width = max(20, console.width - 18)
            t.append(f"=> {title[:width]:<{width}} {mark:>6} {secs:5.1f}s\n",
                     style="blue" if status == "cached" else ("green" if end else "yellow"))
        for line in tail[-5:]:
            t.append("   " + line.rstrip()[:100] + "\n", style="dim")
        return t

    with Live(render(), console=console, refresh_per_second=8) as live:
        for msg in messages:
            raise_for_error(msg)
            if "aux" in msg:
                on_aux(msg["aux"])
                continue
            text = str(msg.get("stream", ""))
            if text.startswith("Step "):
                if rows and not rows[-1][2]:
                    rows[-1][2] = time.monotonic()
                rows.append([text.split(" : ", 1)[-1].strip(), time.monotonic(), 0.0, ""])
                tail.clear()
            elif text.strip() == "---> Using cache" and rows:
                rows[-1][3] = "cached"
            elif text.startswith(("Successfully", " --->", " =>", "Removing intermediate")) or text == "\n":
                if text.startswith("Successfully"):
                    tail.append(text)
            else:
                tail.append(text)
            live.update(render())
        if rows and not rows[-1][2]:
            rows[-1][2] = time.monotonic()
        live.update(render())


BUILD = CommandSpec(
    name="build",
    usage="[OPTIONS] PATH",
    short="Build an image from a Dockerfile",
    run=run_build,
    min_args=0,
    max_args=1,
    flags=[
        list_flag("tag", "Name and optionally a tag in the 'name:tag' format", short="t"),
        string_flag("file", "Name of the Dockerfile (default: 'PATH/Dockerfile')", short="f"),
        list_flag("build-arg", "Set build-time variables"),
        string_flag("target", "Set the target build stage to build"),
        bool_flag("no-cache", "Do not use cache when building the image"),
        list_flag("no-cache-filter", "Do not cache the named stages"),
        list_flag("cache-from", "Images to consider as cache sources", metavar="strings"),
        list_flag("cache-to", "Cache export destinations (type=registry,ref=REF,mode=max)", metavar="strings"),
        bool_flag("quiet", "Suppress the build output and print image ID on success", short="q"),
        string_flag("iidfile", "Write the image ID to the file"),
        string_flag("progress", "Set type of progress output (plain, tty)"),
        string_flag("explain", "Print why each step ran or came from the cache (text, json)", metavar="format"),
        list_flag("label", "Set metadata for an image"),
        string_flag("network", "Networking mode for the RUN instructions (default, host, none)"),
        list_flag("secret", "Secret to expose to the build (id=ID[,src=PATH|,env=VAR])", metavar="stringArray"),
    ],
)
