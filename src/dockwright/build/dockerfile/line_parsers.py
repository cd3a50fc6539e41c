"""Per-instruction argument splitting, the step between a logical line and the AST.

Each instruction family splits its arguments differently, and Docker's choices
are observable (``WORKDIR a b`` is one path; ``CMD ["a", 'b']`` is shell form
because single quotes are not JSON; ``COPY ["a", "b"] junk`` is JSON form
because only the first JSON value is read). The splitters here reproduce them;
they return the argument chain and attributes (``{"json": True}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockwright.build.dockerfile.parser import Node

_RE_WHITESPACE = re.compile(r"[\t\v\f\r ]+")

NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"


class LineParseError(Exception):
    """Raised by a splitter; the parser adds file and line."""


def _node(value: str) -> Node:
    from dockwright.build.dockerfile.parser import Node

    return Node(value=value)


def _chain(values: list[str]) -> Node | None:
    head: Node | None = None
    prev: Node | None = None
    for value in values:
        node = _node(value)
        if prev is None:
            head = node
        else:
            prev.next = node
        prev = node
    return head


def split_command(line: str) -> tuple[str, list[str], str]:
    """``"COPY --from=a x y"`` → ``("COPY", ["--from=a"], "x y")``."""
    parts = _RE_WHITESPACE.split(line.strip(), maxsplit=1)
    if len(parts) < 2:
        return parts[0], [], ""
    rest, flags = extract_builder_flags(parts[1])
    return parts[0], flags, rest.strip()


def extract_builder_flags(line: str) -> tuple[str, list[str]]:
    """Split leading ``--flag[=value]`` words off ``line``; quotes and backslashes in them are resolved."""
    words: list[str] = []
    pos = 0
    n = len(line)
    while True:
        while pos < n and line[pos].isspace():
            pos += 1
        if pos >= n:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words
        word: list[str] = []
        blank_ok = False
        quote = ""
        while pos < n:
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\":
                    if pos + 1 == n:
                        quote = ""
                    else:
                        pos += 1
                        word.append(line[pos])
                else:
                    word.append(ch)
                pos += 1
                continue
            if ch.isspace():
                break
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
            elif ch == "\\":
                if pos + 1 < n:
                    pos += 1
                    word.append(line[pos])
            else:
                word.append(ch)
            pos += 1
        text = "".join(word)
        if text == "--":
            return line[pos:], words
        if blank_ok or text:
            words.append(text)


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes in the words (for ENV/LABEL/ARG)."""
    words: list[str] = []
    word: list[str] = []
    blank_ok = False
    quote = ""
    in_word = False
    pos = 0
    n = len(rest)
    while pos < n:
        ch = rest[pos]
        if not in_word:
            if ch.isspace():
                pos += 1
                continue
            in_word = True
        if quote:
            if ch == quote:
                quote = ""
            if ch == escape and quote != "'":
                if pos + 1 == n:
                    quote = ""
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch.isspace():
            if blank_ok or word:
                words.append("".join(word))
            word, blank_ok, in_word = [], False, False
            pos += 1
            continue
        if ch in ("'", '"'):
            quote = ch
            blank_ok = True
        if ch == escape:
            if pos + 1 == n:
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_json(rest: str) -> list[str] | None:
    """The JSON array at the start of ``rest`` (trailing text ignored, as Go's decoder does), or None."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        value, _ = _DECODER.raw_decode(rest)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise LineParseError(NOT_STRING_ARRAY)
    return value


def parse_maybe_json(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """RUN/CMD/ENTRYPOINT/SHELL: a JSON string array, else the whole text as one shell string."""
    if rest == "":
        return None, {}
    values = parse_json(rest)
    if values is not None:
        return _chain(values), {"json": True}
    return _node(rest), {}


def parse_maybe_json_to_list(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """ADD/COPY/VOLUME: a JSON string array, else whitespace-separated words."""
    values = parse_json(rest)
    if values is not None:
        return _chain(values), {"json": True}
    return parse_strings_whitespace_delimited(rest, escape)


def parse_strings_whitespace_delimited(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """FROM/EXPOSE: plain whitespace split, no quote handling."""
    if rest == "":
        return None, {}
    return _chain(_RE_WHITESPACE.split(rest)), {}


def parse_string(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """USER/WORKDIR/STOPSIGNAL/MAINTAINER: the rest of the line is one argument."""
    if rest == "":
        return None, {}
    return _node(rest), {}


def _key_value_chain(pairs: list[tuple[str, str, str]]) -> Node | None:
    return _chain([item for triple in pairs for item in triple])


def parse_name_val(rest: str, key: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """ENV/LABEL: ``name value`` (old form, separator "") or ``name=value ...`` (separator "=")."""
    words = parse_words(rest, escape)
    if not words:
        return None, {}
    if "=" not in words[0]:
        parts = _RE_WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise LineParseError(f"{key} must have two arguments")
        return _key_value_chain([(parts[0], parts[1], "")]), {}
    pairs = []
    for word in words:
        if "=" not in word:
            raise LineParseError(
                f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value'
            )
        name, value = word.split("=", 1)
        pairs.append((name, value, "="))
    return _key_value_chain(pairs), {}


def parse_env(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    return parse_name_val(rest, "ENV", escape)


def parse_label(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    return parse_name_val(rest, "LABEL", escape)


def parse_name_or_name_val(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """ARG: each word is ``name`` or ``name=value`` (split later, so ``ARG a`` has no value)."""
    return _chain(parse_words(rest, escape)), {}


def parse_health_config(rest: str, escape: str) -> tuple[Node | None, dict[str, bool]]:
    """HEALTHCHECK: the first word is the type (CMD/NONE), the rest is parsed like CMD."""
    sep = 0
    while sep < len(rest) and not rest[sep].isspace():
        sep += 1
    if sep == 0:
        return None, {}
    nxt = sep
    while nxt < len(rest) and rest[nxt].isspace():
        nxt += 1
    cmd, attrs = parse_maybe_json(rest[nxt:], escape)
    head = _node(rest[:sep])
    head.next = cmd
    return head, attrs


DISPATCH: dict[str, Callable[[str, str], tuple[Node | None, dict[str, bool]]]] = {
    "add": parse_maybe_json_to_list,
    "arg": parse_name_or_name_val,
    "cmd": parse_maybe_json,
    "copy": parse_maybe_json_to_list,
    "entrypoint": parse_maybe_json,
    "env": parse_env,
    "expose": parse_strings_whitespace_delimited,
    "from": parse_strings_whitespace_delimited,
    "healthcheck": parse_health_config,
    "label": parse_label,
    "maintainer": parse_string,
    "run": parse_maybe_json,
    "shell": parse_maybe_json,
    "stopsignal": parse_string,
    "user": parse_string,
    "volume": parse_maybe_json_to_list,
    "workdir": parse_string,
}
