"""``.dockerignore``: Docker's pattern rules, compiled once, plus a context walker.

Rules (Docker's, kept exactly because users' ignore files depend on them):

* A line starting with ``#`` in column one is a comment; other lines are
  trimmed, blank ones skipped. ``!`` starts an exception (re-include).
* Each pattern is cleaned like Go's ``filepath.Clean`` and a leading ``/`` is
  dropped, so ``/a``, ``./a`` and ``a/`` are all ``a``.
* ``*`` and ``?`` never match ``/``; ``**`` matches any number of directories
  (``**/x``, ``a/**``); ``[...]`` is a character class; ``\\`` escapes.
* A pattern that matches a directory matches everything under it.
* The last matching pattern wins (so order matters, and ``!`` lines usually go
  last).

Every pattern becomes one regex when the matcher is built: matching a path
costs one regex test per pattern and ancestor, never a recompilation (a
per-file recompilation made ``docker build`` slow on big contexts, moby#26816).
``dir_may_have_exceptions`` tells a walker whether an excluded directory can be
skipped whole.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dockwright.errors import InvalidParameter

IGNORE_FILE = ".dockerignore"


def go_clean(path: str) -> str:
    """Go's ``path.Clean``: lexical, keeps one leading ``/``, ``""`` → ``"."``."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


def read_patterns(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, normalised as Docker does."""
    patterns: list[str] = []
    for i, line in enumerate(text.splitlines()):
        if i == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def parse_dockerignore(text: str) -> Matcher:
    """A ``.dockerignore`` file's text → its compiled matcher."""
    return Matcher.from_text(text)


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i + 1 < n:
                i += 1
                out.append(re.escape(pattern[i]))
            else:
                out.append(re.escape("\\"))
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("^", "!") else i + 1)
            if end < 0:
                raise InvalidParameter(f"invalid .dockerignore pattern {pattern!r}: syntax error in pattern")
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("(/.*)?$")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise InvalidParameter(f"invalid .dockerignore pattern {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]
    parts: tuple[str, ...]

    def match(self, path: str) -> bool:
        return self.regex.match(path) is not None


def _component_regex(part: str) -> re.Pattern[str]:
    rx = _compile(part).pattern
    return re.compile(rx.removesuffix("(/.*)?$") + "$", re.DOTALL)


class Matcher:
    """Compiled ``.dockerignore`` patterns; paths are context-relative with ``/`` separators."""

    def __init__(self, patterns: Iterable[str]) -> None:
        compiled: list[Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise InvalidParameter('illegal exclusion pattern: "!"')
                text = text[1:]
            compiled.append(Pattern(text, exclusion, _compile(text), tuple(text.split("/"))))
        self.patterns: tuple[Pattern, ...] = tuple(compiled)
        self.has_exclusions = any(p.exclusion for p in compiled)
        self._component_cache: dict[str, re.Pattern[str]] = {}

    @classmethod
    def from_text(cls, text: str) -> Matcher:
        return cls(read_patterns(text))

    def matches(self, path: str) -> bool:
        """True if ``path`` is excluded from the context (it, or a parent directory, matched last)."""
        path = go_clean(path).lstrip("/")
        parents = path.split("/")[:-1]
        ancestors = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path) or any(pattern.match(a) for a in ancestors)
            if hit:
                matched = not pattern.exclusion
        return matched

    def dir_may_have_exceptions(self, directory: str) -> bool:
        """Could an exception pattern re-include something under the excluded ``directory``?

        False means a walker may skip the directory without looking inside.
        """
        if not self.has_exclusions:
            return False
        dparts = go_clean(directory).lstrip("/").split("/")
        return any(p.exclusion and self._could_match_below(p.parts, dparts) for p in self.patterns)

    def _component(self, part: str) -> re.Pattern[str]:
        rx = self._component_cache.get(part)
        if rx is None:
            rx = self._component_cache[part] = _component_regex(part)
        return rx

    def _could_match_below(self, pparts: tuple[str, ...], dparts: list[str]) -> bool:
        for i, dpart in enumerate(dparts):
            if i >= len(pparts):
                return True  # the exception names an ancestor of the directory
            if "**" in pparts[i]:
                return True
            if not self._component(pparts[i]).match(dpart):
                return False
        return True


def keep_build_files(patterns: list[str], dockerfile: str) -> list[str]:
    """The patterns a *client* sends the context with: the Dockerfile and ``.dockerignore`` always go.

    The daemon still applies the original patterns to what ``COPY``/``ADD``
    see, so an excluded Dockerfile is read but never copied (checked against
    dockerd).
    """
    out = list(patterns)
    for name in (go_clean(dockerfile).lstrip("/"), IGNORE_FILE):
        if Matcher(out).matches(name):
            out.append("!" + name)
    return out


def find_ignore_file(context_root: Path, dockerfile_path: Path | None = None) -> Path | None:
    """``<Dockerfile>.dockerignore`` next to the Dockerfile wins over ``<context>/.dockerignore``."""
    if dockerfile_path is not None:
        candidate = dockerfile_path.with_name(dockerfile_path.name + IGNORE_FILE)
        if not candidate.is_absolute():
            candidate = context_root / candidate
        if candidate.is_file():
            return candidate
    root_file = context_root / IGNORE_FILE
    return root_file if root_file.is_file() else None


def load_matcher(context_root: Path, dockerfile_path: Path | None = None) -> Matcher:
    """The matcher for a context (empty when there is no ignore file)."""
    path = find_ignore_file(context_root, dockerfile_path)
    if path is None:
        return Matcher([])
    return Matcher.from_text(path.read_text(encoding="utf-8", errors="surrogateescape"))


def walk_context(root: Path, matcher: Matcher) -> Iterator[Path]:
    """Context-relative paths of every entry that is not excluded, parents before children, sorted.

    Symlinks are yielded as links and never followed, so nothing outside
    ``root`` is read. A directory that is excluded but may hold re-included
    entries is descended into without being yielded itself; the entries under
    it are yielded (the caller creates their parents).
    """
    root = Path(root)

    def walk(rel: str) -> Iterator[Path]:
        try:
            entries = sorted(os.scandir(root / rel if rel else root), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            excluded = matcher.matches(child)
            try:
                is_dir = stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode)
            except OSError:
                continue
            if not excluded:
                yield Path(child)
            if is_dir and (not excluded or matcher.dir_may_have_exceptions(child)):
                yield from walk(child)

    yield from walk("")
