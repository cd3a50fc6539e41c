"""Docker's shell-word lexer: the variable expansion the builder itself performs.

Docker does not run a shell to expand ``$var`` in ``COPY``, ``ENV``, ``WORKDIR``...:
it applies a small subset of POSIX word expansion, and users rely on its exact
quirks. What this lexer does, and why each rule exists:

* ``$name`` / ``${name}``: a name is letters, digits and ``_``; a leading digit
  reads only digits (``$1x`` is ``$1`` then ``x``); one special character
  (``@ * # ? - $ ! 0``) is a name of its own. ``$`` not followed by a name stays
  literal. Unset variables expand to nothing (or stay as written when
  ``skip_unset_env``, which heredoc detection needs).
* ``${v:-w}`` / ``${v-w}``: default when empty-or-unset / unset. ``${v:+w}`` /
  ``${v+w}``: alternative when non-empty / set. ``${v:?msg}`` / ``${v?msg}``:
  error when empty-or-unset / unset. ``w`` is itself expanded.
* ``${v#p}``, ``${v##p}``, ``${v%p}``, ``${v%%p}``, ``${v/p/r}``, ``${v//p/r}``:
  prefix/suffix removal and substitution with shell glob patterns (newer
  Dockerfile frontends accept them; older engines reject them).
* Single quotes keep everything literal and cannot be escaped inside; double
  quotes expand ``$`` and let the escape character escape only ``"``, ``$``
  and itself; outside quotes the escape character makes the next character
  literal and is dropped (at the very end of the word it is dropped alone).
* ``process_words`` splits on unquoted whitespace, including whitespace that
  came out of a variable's value, but never inside quotes; an empty quoted
  string produces no word (Docker's behaviour, kept on purpose).

Every variable lookup is recorded, so callers can tell which build arguments a
word actually used (the build cache key needs that).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockwright.build.dockerfile.errors import ExpansionError

_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_EOF = ""


@dataclass
class ExpansionResult:
    """A processed word (or words) plus the variable names it looked up."""

    value: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


class _Words:
    """Accumulates words, splitting on whitespace that was not quoted or escaped."""

    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.word += ch
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def result(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def glob_to_regex(pattern: str) -> str:
    """Translate a shell pattern (``*``, ``?``, ``[...]``, ``\\x``) to a regex body."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


class _ShellWord:
    """One pass over one word; not reusable."""

    def __init__(self, lex: ShellLex, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.text = text
        self.pos = 0
        self.env = env
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    # scanner -----------------------------------------------------------------
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        if self.pos >= len(self.text):
            return _EOF
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    # grammar -----------------------------------------------------------------
    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        escape = self.lex.escape
        quotes_special = not self.lex.skip_process_quotes
        while self.peek() != _EOF:
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result), words.result()
            if ch == "$":
                tmp = self.process_dollar()
                result.append(tmp)
                words.add_string(tmp)
            elif quotes_special and ch in ("'", '"'):
                tmp = self.process_single_quote() if ch == "'" else self.process_double_quote()
                result.append(tmp)
                words.add_raw_string(tmp)
            else:
                ch = self.next()
                if ch == escape:
                    if raw_escapes:
                        words.add_raw_char(ch)
                        result.append(ch)
                    ch = self.next()
                    if ch == _EOF:
                        break
                    words.add_raw_char(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def process_single_quote(self) -> str:
        result: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            result.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ExpansionError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def process_double_quote(self) -> str:
        result: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            result.append(ch)
        escape = self.lex.escape
        while True:
            nxt = self.peek()
            if nxt == _EOF:
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if nxt == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if nxt == "$":
                result.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == escape:
                if self.lex.raw_escapes:
                    result.append(ch)
                after = self.peek()
                if after == _EOF:
                    continue
                if after in ('"', "$", escape):
                    ch = self.next()
            result.append(ch)

    def process_name(self) -> str:
        name: list[str] = []
        while self.peek() != _EOF:
            ch = self.peek()
            if not name and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    name.append(self.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return self.next()
            if not _is_name_char(ch):
                break
            name.append(self.next())
        return "".join(name)

    def _word_until(self, stop: str) -> str:
        start = self.pos
        try:
            word, _ = self.process_stop_on(stop, False)
        except ExpansionError:
            if self.peek() == _EOF:
                raise ExpansionError("syntax error: missing '}'") from None
            raise
        del start
        return word

    def process_dollar(self) -> str:
        self.next()  # the '$'
        if self.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value
        self.next()  # the '{'
        first = self.peek()
        if first == _EOF:
            raise ExpansionError("syntax error: missing '}'")
        if first in ("{", "}", ":"):
            raise ExpansionError("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == "?":
            word = self._word_until("}")
            value, found = self.get_env(name)
            if not found:
                if self.lex.skip_unset_env:
                    return "${" + name + "?" + word + "}"
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            return value
        if ch == ":":
            modifier = self.next()
            word = self._word_until("}")
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + ":" + modifier + word + "}"
            if modifier == "+":
                return word if value else value
            if modifier == "-":
                return value or word
            if modifier == "?":
                if not found:
                    raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
                if not value:
                    raise ExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")
        if ch in ("+", "-"):
            word = self._word_until("}")
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + ch + word + "}"
            if ch == "+":
                return word if found else value
            return value if found else word
        if ch in ("#", "%"):
            longest = self.peek() == ch
            if longest:
                self.next()
            pattern = self._word_until("}")
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + ch * (2 if longest else 1) + pattern + "}"
            return _trim(value, pattern, prefix=ch == "#", longest=longest)
        if ch == "/":
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            pattern = self._word_until("/")
            replacement = self._word_until("}")
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + "/" * (2 if replace_all else 1) + pattern + "/" + replacement + "}"
            return _substitute(value, pattern, replacement, replace_all)
        if ch == _EOF:
            raise ExpansionError("syntax error: missing '}'")
        raise ExpansionError(f"unsupported modifier ({ch}) in substitution")


def _trim(value: str, pattern: str, *, prefix: bool, longest: bool) -> str:
    regex = re.compile(glob_to_regex(pattern), re.DOTALL)
    n = len(value)
    cuts = range(n, -1, -1) if longest else range(n + 1)
    for cut in cuts:
        if prefix and regex.fullmatch(value, 0, cut):
            return value[cut:]
        if not prefix and regex.fullmatch(value, n - cut, n):
            return value[: n - cut]
    return value


def _substitute(value: str, pattern: str, replacement: str, replace_all: bool) -> str:
    if not pattern:
        return value
    regex = re.compile(glob_to_regex(pattern), re.DOTALL)
    out: list[str] = []
    i = 0
    done = False
    while i < len(value):
        hit = None if done else _longest_match_at(regex, value, i)
        if hit is not None and hit > i:
            out.append(replacement)
            i = hit
            done = not replace_all
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _longest_match_at(regex: re.Pattern[str], value: str, start: int) -> int | None:
    for end in range(len(value), start, -1):
        if regex.fullmatch(value, start, end):
            return end
    return None


class ShellLex:
    """Expands Docker's shell words with a given escape character (``\\`` or `` ` ``)."""

    def __init__(
        self,
        escape: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset_env: bool = False,
        skip_process_quotes: bool = False,
    ) -> None:
        if len(escape) != 1:
            raise ValueError(f"escape must be one character, got {escape!r}")
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset_env = skip_unset_env
        self.skip_process_quotes = skip_process_quotes

    def process(self, word: str, env: Mapping[str, str]) -> ExpansionResult:
        """Expand ``word``; the result has both the joined value and the split words."""
        sw = _ShellWord(self, word, env)
        try:
            value, words = sw.process_stop_on(_EOF, self.raw_escapes)
        except ExpansionError as exc:
            raise ExpansionError(f"failed to process {_go_quote(word)}: {exc}") from None
        return ExpansionResult(value, words, sw.matched, sw.unmatched)

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        """Expand ``word`` into one string; unquoted whitespace is kept, not split."""
        return self.process(word, env).value

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """Expand ``word`` and split it on unquoted whitespace (``EXPOSE $PORTS``)."""
        return self.process(word, env).words


def _go_quote(text: str) -> str:
    # Local import keeps this module free of parser dependencies for other users.
    from dockwright.build.dockerfile.quote import go_quote

    return go_quote(text)
