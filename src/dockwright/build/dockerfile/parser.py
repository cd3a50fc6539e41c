"""Dockerfile text → AST, with the line numbers every later error points at.

The AST is Docker's: the root ``Node`` has one child per instruction; a child's
``value`` is the lower-cased instruction name and its arguments hang off
``next`` as a linked list (``ONBUILD`` keeps its inner instruction in the
``children`` of its first argument). ``Node.dump()`` renders s-expressions so
golden files pin the parse, e.g. ``(env "name" "value" "=")``.

Reading rules, in order (they are Docker's and users depend on each):

1. Parser directives (``# escape=``, ``# syntax=``, ``# check=``) are only
   recognised at the very top, before any blank line, comment or instruction.
   The same directive twice is an error; an unknown one is a comment (and so
   ends the directives, as Docker documents).
2. A line ending in the escape character (``\\`` or `` ` ``), optionally followed
   by spaces or tabs, continues on the next line. Comment lines and blank lines
   inside a continuation are skipped (blank ones with a warning).
3. Comments are whole lines starting with ``#`` after leading whitespace;
   ``#`` elsewhere is data.
4. Flags (``--name=value``) are split off the front of the arguments before the
   per-instruction argument parser runs; ``--`` ends them.
5. ``RUN``, ``COPY`` and ``ADD`` in shell form may open heredocs (``<<EOF``,
   ``<<-EOF``, ``<<"EOF"``); their bodies are the following lines up to the
   terminator, in the order the heredocs appear on the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dockwright.build.dockerfile import line_parsers
from dockwright.build.dockerfile.errors import DockerfileError, ExpansionError
from dockwright.build.dockerfile.quote import go_quote, go_quote_list
from dockwright.build.dockerfile.shell_lex import ShellLex

DEFAULT_ESCAPE = "\\"
KNOWN_DIRECTIVES = frozenset({"escape", "syntax", "check"})
HEREDOC_INSTRUCTIONS = frozenset({"add", "copy", "run"})

_RE_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_RE_COMMAND_SPLIT = re.compile(r"[\t\v\f\r ]+")
_RE_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_RE_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)


@dataclass
class Heredoc:
    """One ``<<NAME`` body; ``content`` is raw (tabs are stripped later when ``chomp``)."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    file_descriptor: int = 0


@dataclass
class Node:
    """An instruction (child of the root) or one of its arguments (a ``next`` link)."""

    value: str = ""
    next: Node | None = None
    children: list[Node] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    attributes: dict[str, bool] = field(default_factory=dict)
    original: str = ""
    prev_comment: list[str] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0

    @property
    def is_json(self) -> bool:
        return self.attributes.get("json", False)

    def args(self) -> list[str]:
        """The argument values; an ``ONBUILD`` argument yields its inner command and arguments."""
        out: list[str] = []
        node = self.next
        while node is not None:
            if not node.children:
                out.append(node.value)
            elif len(node.children) == 1:
                out.append(node.children[0].value)
                out.extend(node.children[0].args())
            node = node.next
        return out

    def dump(self) -> str:
        """S-expression rendering, one line per instruction, used by the golden files."""
        parts = [self.value.lower()]
        if self.flags:
            parts.append(go_quote_list(self.flags))
        text = " ".join(parts)
        for child in self.children:
            text += "(" + child.dump() + ")\n"
        node = self.next
        while node is not None:
            text += " " + (node.dump() if node.children else go_quote(node.value))
            node = node.next
        for doc in self.heredocs:
            text += " (heredoc " + go_quote(doc.name)
            if not doc.expand:
                text += " noexpand"
            if doc.chomp:
                text += " chomp"
            if doc.file_descriptor:
                text += f" fd={doc.file_descriptor}"
            text += " " + go_quote(doc.content) + ")"
        return text.strip()


@dataclass
class ParseWarning:
    """A non-fatal finding (``Empty continuation line found``) with its location."""

    short: str
    detail: str
    start_line: int
    end_line: int


Warning = ParseWarning  # Docker's name for it (shadows the builtin only inside this namespace)


@dataclass
class Result:
    """What ``parse`` returns: the AST plus directives, warnings and the escape in force."""

    ast: Node
    directives: dict[str, str]
    warnings: list[ParseWarning]
    escape: str
    filename: str = "Dockerfile"

    def dump(self) -> str:
        return self.ast.dump() + "\n"

    def docker_warning_lines(self) -> list[str]:
        """The warnings as Docker's builder prints them, in its words."""
        lines = [f"[WARNING]: {w.detail}" for w in self.warnings]
        if any(w.short == "Empty continuation line" for w in self.warnings):
            lines.append("[WARNING]: Empty continuation lines will become errors in a future release.")
        return lines


class _Directives:
    """Tracks the parser directives at the top of the file."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.escape = DEFAULT_ESCAPE
        self.values: dict[str, str] = {}
        self.done = False
        self.continuation = _continuation_regex(DEFAULT_ESCAPE)

    def offer(self, line: str, lineno: int) -> None:
        if self.done:
            return
        match = _RE_DIRECTIVE.match(line)
        if match is None:
            self.done = True
            return
        name = match.group(1).lower()
        if name not in KNOWN_DIRECTIVES:
            self.done = True  # an unknown directive is a comment, and comments end the directives
            return
        if name in self.values:
            raise DockerfileError(f"only one {name} parser directive can be used", filename=self.filename,
                                  start_line=lineno)
        value = match.group(2)
        self.values[name] = value
        if name == "escape":
            if value not in ("`", "\\"):
                raise DockerfileError(f"invalid escape token '{value}' does not match ` or \\",
                                      filename=self.filename, start_line=lineno)
            self.escape = value
            self.continuation = _continuation_regex(value)


def _continuation_regex(escape: str) -> re.Pattern[str]:
    return re.compile(re.escape(escape) + r"[ \t]*$")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _trim_continuation(line: str, d: _Directives) -> tuple[str, bool]:
    match = d.continuation.search(line)
    if match is None:
        return line, True
    return line[: match.start()], False


def split_lines(text: str) -> list[str]:
    """Lines as Go's ``bufio.Scanner`` sees them (``\\r\\n`` and ``\\n`` end a line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


ArgParser = Callable[[str, str], tuple["Node | None", dict[str, bool]]]


def _dispatch(name: str) -> ArgParser | None:
    return line_parsers.DISPATCH.get(name)


def node_from_line(line: str, escape: str, filename: str, lineno: int, comments: list[str] | None = None) -> Node:
    """Parse one logical line (continuations already joined) into an instruction node."""
    cmd, flags, args = line_parsers.split_command(line)
    name = cmd.lower()
    try:
        if name == "onbuild":
            inner = node_from_line(args, escape, filename, lineno) if args else None
            nxt = Node(children=[inner]) if inner else None
            attrs: dict[str, bool] = {}
        else:
            fn = _dispatch(name)
            nxt, attrs = fn(args, escape) if fn else (None, {})
    except line_parsers.LineParseError as exc:
        raise DockerfileError(str(exc), filename=filename, start_line=lineno, instruction=cmd.upper()) from None
    return Node(value=name, next=nxt, flags=flags, attributes=attrs, original=line,
                prev_comment=list(comments or []))


def heredocs_from_line(line: str) -> list[Heredoc]:
    """Every ``<<WORD`` on a line, in order; quoted words (``'<<EOF'``) are not heredocs."""
    lex = ShellLex("\\", raw_quotes=True, raw_escapes=True)
    try:
        words = lex.process_words(line, {})
    except ExpansionError:
        return []
    docs = []
    for word in words:
        doc = parse_heredoc(word)
        if doc is not None:
            docs.append(doc)
    return docs


def parse_heredoc(word: str) -> Heredoc | None:
    """``<<EOF`` → Heredoc; a quoted delimiter (``<<'EOF'``, ``<<E"O"F``) disables expansion."""
    match = _RE_HEREDOC.match(word)
    if match is None or not match.group(3):
        return None
    rest = match.group(3)
    lex = ShellLex("\\", skip_unset_env=True)
    try:
        words = lex.process_words(rest, {})
        lex.raw_quotes = True
        raw_words = lex.process_words(rest, {})
    except ExpansionError:
        return None
    if len(words) != 1 or len(raw_words) != 1:
        return None
    name, raw = words[0], raw_words[0]

    def quotes(s: str) -> int:
        return s.count("'") + s.count('"')

    return Heredoc(name=name, expand=quotes(name) == quotes(raw), chomp=match.group(2) == "-",
                   file_descriptor=int(match.group(1) or 0))


def chomp_heredoc(content: str) -> str:
    """``<<-`` semantics: drop leading tabs of every line."""
    return _RE_LEADING_TABS.sub("", content)


def parse(text: str, filename: str = "Dockerfile") -> Result:
    """Parse a whole Dockerfile; raises ``DockerfileError`` naming the file and line."""
    if text == "":
        raise DockerfileError(f"the Dockerfile ({filename}) cannot be empty", filename=filename, with_filename=False)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = split_lines(text)
    d = _Directives(filename)
    root = Node(start_line=-1)
    warnings: list[ParseWarning] = []
    comments: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i]
        i += 1
        lineno = i
        d.offer(raw.lstrip(), lineno)
        if _is_comment(raw):
            comment = raw.lstrip()[1:].strip()
            if comment:
                comments.append(comment)
            else:
                comments = []
            continue
        stripped = raw.lstrip()
        line, done = _trim_continuation(stripped, d)
        if done and line.strip() == "":
            comments = []
            continue
        empty_continuation = False
        while not done and i < n:
            raw = lines[i]
            i += 1
            d.offer(raw, i)
            if _is_comment(raw):
                continue
            if raw.strip() == "":
                empty_continuation = True
                continue
            part, done = _trim_continuation(raw, d)
            line += part
        if empty_continuation:
            warnings.append(ParseWarning(
                short="Empty continuation line",
                detail="Empty continuation line found in:\n    " + line,
                start_line=lineno, end_line=i,
            ))
        child = node_from_line(line, d.escape, filename, lineno, comments)
        comments = []
        if child.value in HEREDOC_INSTRUCTIONS and not child.is_json and "<<" in line:
            for doc in heredocs_from_line(line):
                body: list[str] = []
                terminated = False
                while i < n:
                    raw = lines[i]
                    i += 1
                    candidate = raw.lstrip("\t") if doc.chomp else raw
                    if candidate == doc.name:
                        terminated = True
                        break
                    body.append(raw + "\n")
                if not terminated:
                    raise DockerfileError("unterminated heredoc", filename=filename, start_line=lineno,
                                          end_line=i, instruction=child.value.upper())
                doc.content = "".join(body)
                child.heredocs.append(doc)
        child.start_line, child.end_line = lineno, i
        root.children.append(child)
        if root.start_line < 0:
            root.start_line = lineno
        root.end_line = i
    if not root.children:
        raise DockerfileError("file with no instructions", filename=filename)
    return Result(ast=root, directives=dict(d.values), warnings=warnings, escape=d.escape, filename=filename)
