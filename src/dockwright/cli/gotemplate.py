"""A subset of Go's text/template, so ``--format`` strings written for docker work here.

Users copy format strings from docker's documentation and their scripts; what
matters is that those strings parse the same and print the same. Supported:
text and actions with ``{{-``/``-}}`` trimming and comments; pipelines with
``|``; fields (``.A.B``), variables (``$x``, ``$``), ``:=``/``=``; literals;
parenthesised pipelines; ``if``/``else if``/``else``, ``range`` (with
``$i, $v :=``, ``else``, ``break``, ``continue``), ``with``; Go's builtins
(``and or not len index slice print printf println eq ne lt le gt ge html js
urlquery``) and docker's (``json split join title lower upper pad truncate``).

Values are Python data as decoded from JSON. Printing follows Go's fmt: maps
print as ``map[k:v]`` with sorted keys, lists as ``[a b]``, a missing value as
``<no value>`` (``<nil>`` inside a collection). Objects implementing
``template_field(name)`` (the CLI's row contexts) resolve fields themselves;
``template_json()`` gives their ``{{json .}}`` form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["Template", "TemplateError", "go_str", "FieldContext", "StrictMap", "TypedNil", "MISSING"]


class TemplateError(Exception):
    """A parse or execution error; the message follows Go's ``template: ...`` wording."""


class _Missing:
    """Go's invalid reflect.Value: what a missing map key or nil evaluates to."""

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class TypedNil:
    """A JSON null known to be a nil Go list, map or struct pointer: prints ``[]``, ``map[]`` or ``<nil>``."""

    __slots__ = ("kind",)
    _TEXT = {"list": "[]", "map": "map[]", "struct": "<nil>"}

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __str__(self) -> str:
        return self._TEXT.get(self.kind, "<nil>")

    def __bool__(self) -> bool:
        return False

    def __len__(self) -> int:
        return 0


@runtime_checkable
class FieldContext(Protocol):
    """An object that resolves its own fields (a typed Go struct in docker's CLI)."""

    def template_field(self, name: str) -> Any: ...  # raises KeyError when there is no such field

    def template_json(self) -> str: ...


class StrictMap(dict[str, Any]):
    """A map whose missing keys are an error, as docker's inspect fallback (``missingkey=error``)."""


# --------------------------------------------------------------------------- printing


def go_float(f: float) -> str:
    """Go's ``%v`` for float64: shortest digits, exponent form below 1e-4 or from 1e21."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0"
    from decimal import Decimal

    sign, digit_tuple, exp = Decimal(repr(f)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    exp += len(digit_tuple) - len(digits)
    x = len(digits) + exp - 1
    prefix = "-" if sign else ""
    if x < -4 or x >= 21:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mant}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if exp >= 0:
        return prefix + digits + "0" * exp
    point = len(digits) + exp
    if point > 0:
        return prefix + digits[:point] + "." + digits[point:]
    return prefix + "0." + "0" * (-point) + digits


def go_str(v: Any, *, top: bool = True) -> str:
    """``fmt.Sprint(v)`` for template values (``top``: a nil prints as ``<no value>``)."""
    if v is MISSING or v is None:
        return "<no value>" if top else "<nil>"
    if isinstance(v, TypedNil):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, Mapping):
        items = sorted(v.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{go_str(k, top=False)}:{go_str(x, top=False)}" for k, x in items) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(go_str(x, top=False) for x in v) + "]"
    if isinstance(v, FieldContext):
        return "{" + v.template_json() + "}"
    return str(v)


def _go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _type_name(v: Any) -> str:
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Mapping):
        return "map[string]interface {}"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    return type(v).__name__


_VERB_RE = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` for the verbs people use in format strings."""
    out: list[str] = []
    pos = 0
    ai = 0
    argv = list(args)

    def take() -> Any:
        nonlocal ai
        if ai >= len(argv):
            raise IndexError
        v = argv[ai]
        ai += 1
        return v

    for m in _VERB_RE.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        try:
            if width == "*":
                width = str(int(take()))
            if prec == "*":
                prec = str(int(take()))
            v = take()
        except (IndexError, TypeError, ValueError):
            out.append(f"%!{verb}(MISSING)")
            continue
        spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
        try:
            out.append(_format_verb(spec, verb, v))
        except (TypeError, ValueError):
            out.append(f"%!{verb}({_type_name(v)}={go_str(v, top=False)})")
    out.append(fmt[pos:])
    if ai < len(argv):
        extra = ", ".join(f"{_type_name(v)}={go_str(v, top=False)}" for v in argv[ai:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_verb(spec: str, verb: str, v: Any) -> str:
    if verb in "vs":
        stringy = isinstance(v, str | list | tuple | Mapping | FieldContext) or v is MISSING or v is None
        if verb == "s" and not stringy:
            raise TypeError
        return (spec + "s") % go_str(v, top=False)
    if verb == "q":
        if isinstance(v, list | tuple):
            return "[" + " ".join(_go_quote(str(x)) for x in v) + "]"
        if not isinstance(v, str):
            raise TypeError
        return (spec + "s") % _go_quote(v)
    if verb == "t":
        if not isinstance(v, bool):
            raise TypeError
        return (spec + "s") % go_str(v)
    if verb in "dboxXc":
        if isinstance(v, str) and verb in "xX":
            h = v.encode().hex()
            return (spec + "s") % (h.upper() if verb == "X" else h)
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError
        if verb == "b":
            return (spec + "s") % format(v, "b")
        if verb == "c":
            return (spec + "s") % chr(v)
        return (spec + verb) % v
    if verb in "eEfFgG":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError
        return (spec + verb) % float(v)
    raise ValueError(verb)


# --------------------------------------------------------------------------- lexing

_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}


class _Tok:
    """kind: text, open, close, ident, field, var, string, number, char, bool, nil, dot, pipe,
    lparen, rparen, decl, assign, comma, keyword."""

    __slots__ = ("kind", "val", "pos")

    def __init__(self, kind: str, val: str, pos: int) -> None:
        self.kind = kind
        self.val = val
        self.pos = pos


_ACTION_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.[^']*)')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?))
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


_COMMENT_OPEN = re.compile(r"[ \t\r\n]*/\*")
_COMMENT_CLOSE = re.compile(r"(?:([ \t\r\n]+-)|[ \t\r\n]*)}}")
_TRIM_CLOSE = re.compile(r"[ \t\r\n]+-}}")


def _lex(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    n = len(src)
    trim_next = False
    while i < n:
        j = src.find("{{", i)
        text = src[i:] if j < 0 else src[i:j]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        trim_next = False
        if j < 0:
            if text:
                toks.append(_Tok("text", text, i))
            break
        k = j + 2
        if src.startswith("-", k) and k + 1 < n and src[k + 1] in " \t\r\n":
            text = text.rstrip(" \t\r\n")
            k += 2
        if text:
            toks.append(_Tok("text", text, i))
        # comment
        m = _COMMENT_OPEN.match(src, k)
        if m and m.start() == k:
            end = src.find("*/", k)
            if end < 0:
                raise TemplateError(f"template: :{_line(src, j)}: unclosed comment")
            rest = end + 2
            m2 = _COMMENT_CLOSE.match(src, rest)
            if not m2:
                raise TemplateError(f"template: :{_line(src, j)}: comment ends before closing delimiter")
            trim_next = bool(m2.group(1))
            i = m2.end()
            continue
        toks.append(_Tok("open", "{{", j))
        pos = k
        while True:
            if pos >= n:
                raise TemplateError(f"template: :{_line(src, j)}: unclosed action")
            if src.startswith("}}", pos):
                i = pos + 2
                break
            mt = _TRIM_CLOSE.match(src, pos)
            if mt:
                trim_next = True
                i = mt.end()
                break
            m = _ACTION_TOKEN.match(src, pos)
            if not m or m.end() == pos:
                ch = src[pos]
                if ch == "\n":
                    raise TemplateError(f"template: :{_line(src, j)}: unclosed action")
                raise TemplateError(f"template: :{_line(src, pos)}: unexpected {ch!r} in command")
            kind = m.lastgroup or ""
            val = m.group(0)
            if kind == "ws":
                pass
            elif kind == "raw":
                toks.append(_Tok("string", val, pos))
            elif kind == "ident":
                if val in ("true", "false"):
                    toks.append(_Tok("bool", val, pos))
                elif val == "nil":
                    toks.append(_Tok("nil", val, pos))
                elif val in _KEYWORDS:
                    toks.append(_Tok("keyword", val, pos))
                else:
                    toks.append(_Tok("ident", val, pos))
            else:
                toks.append(_Tok(kind, val, pos))
            pos = m.end()
        toks.append(_Tok("close", "}}", pos))
    return toks


def _line(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


# --------------------------------------------------------------------------- nodes
# Plain classes with slots, not dataclasses: creating dataclasses costs start-up time the CLI cannot spare.


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text


class _Field(_Node):
    __slots__ = ("names",)

    def __init__(self, pos: int, names: list[str]) -> None:
        super().__init__(pos)
        self.names = names


class _Var(_Node):
    __slots__ = ("name", "names")

    def __init__(self, pos: int, name: str, names: list[str] | None = None) -> None:
        super().__init__(pos)
        self.name = name
        self.names = names or []


class _Dot(_Node):
    __slots__ = ()


class _Nil(_Node):
    __slots__ = ()


class _Const(_Node):
    __slots__ = ("value", "text")

    def __init__(self, pos: int, value: Any, text: str) -> None:
        super().__init__(pos)
        self.value = value
        self.text = text


class _Ident(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name


class _Chain(_Node):
    __slots__ = ("node", "names")

    def __init__(self, pos: int, node: _Node, names: list[str]) -> None:
        super().__init__(pos)
        self.node = node
        self.names = names


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int, args: list[_Node]) -> None:
        super().__init__(pos)
        self.args = args


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos: int, decl: list[str], is_assign: bool, cmds: list[_Command]) -> None:
        super().__init__(pos)
        self.decl = decl
        self.is_assign = is_assign
        self.cmds = cmds


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe) -> None:
        super().__init__(pos)
        self.pipe = pipe


class _Branch(_Node):
    __slots__ = ("kind", "pipe", "body", "else_body")

    def __init__(self, pos: int, kind: str, pipe: _Pipe, body: list[_Node], else_body: list[_Node] | None) -> None:
        super().__init__(pos)
        self.kind = kind  # if, range, with
        self.pipe = pipe
        self.body = body
        self.else_body = else_body


class _Break(_Node):
    __slots__ = ()


class _Continue(_Node):
    __slots__ = ()


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _lex(src)
        self.i = 0
        self.range_depth = 0

    def err(self, pos: int, msg: str) -> TemplateError:
        return TemplateError(f"template: :{_line(self.src, pos)}: {msg}")

    def peek(self, off: int = 0) -> _Tok | None:
        j = self.i + off
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> list[_Node]:
        body, end = self.list_until(())
        if end is not None:
            raise self.err(end.pos, f"unexpected {{{{{end.val}}}}}")
        return body

    def list_until(self, stops: tuple[str, ...]) -> tuple[list[_Node], _Tok | None]:
        """Parse nodes until one of the keyword actions in ``stops``; returns it (after its name)."""
        out: list[_Node] = []
        while self.i < len(self.toks):
            t = self.next()
            if t.kind == "text":
                out.append(_Text(t.pos, t.val))
                continue
            # t is "open"
            k = self.peek()
            if k is None:
                raise self.err(t.pos, "unclosed action")
            if k.kind == "keyword":
                if k.val in ("end", "else"):
                    if k.val not in stops:
                        raise self.err(k.pos, f"unexpected {{{{{k.val}}}}}")
                    self.next()
                    return out, k
                self.next()
                out.append(self.keyword(k))
                continue
            pipe = self.pipeline(t.pos, "command")
            self.expect_close()
            out.append(_Action(t.pos, pipe))
        if stops:
            raise self.err(len(self.src), "unexpected EOF")
        return out, None

    def expect_close(self) -> None:
        t = self.next() if self.i < len(self.toks) else None
        if t is None or t.kind != "close":
            raise self.err(t.pos if t else len(self.src), f"unexpected {t.val if t else 'EOF'} in command")

    def keyword(self, k: _Tok) -> _Node:
        if k.val in ("if", "with", "range"):
            return self.branch(k.val, k.pos)
        if k.val == "break" or k.val == "continue":
            if self.range_depth == 0:
                raise self.err(k.pos, f"{{{{{k.val}}}}} outside {{{{range}}}}")
            self.expect_close()
            return _Break(k.pos) if k.val == "break" else _Continue(k.pos)
        raise self.err(k.pos, f"{{{{{k.val}}}}} is not supported in --format templates")

    def branch(self, kind: str, pos: int) -> _Node:
        pipe = self.pipeline(pos, kind)
        self.expect_close()
        if kind == "range":
            self.range_depth += 1
        body, end = self.list_until(("end", "else"))
        if kind == "range":
            self.range_depth -= 1
        else_body: list[_Node] | None = None
        assert end is not None
        if end.val == "else":
            nxt = self.peek()
            if nxt is not None and nxt.kind == "keyword" and nxt.val in ("if", "with") and kind != "range":
                # "else if" / "else with": a nested branch that shares our {{end}}.
                self.next()
                else_body = [self.branch_chained(nxt.val, nxt.pos)]
            else:
                self.expect_close()
                else_body, end2 = self.list_until(("end",))
                if end2 is None:
                    raise self.err(pos, "unexpected EOF")
                self.expect_close()
                return _Branch(pos, kind, pipe, body, else_body)
        else:
            self.expect_close()
        return _Branch(pos, kind, pipe, body, else_body)

    def branch_chained(self, kind: str, pos: int) -> _Node:
        return self.branch(kind, pos)

    def pipeline(self, pos: int, context: str) -> _Pipe:
        decl: list[str] = []
        is_assign = False
        # variable declaration?
        save = self.i
        names: list[str] = []
        while True:
            t = self.peek()
            if t is None or t.kind != "var":
                break
            t2 = self.peek(1)
            if t2 is not None and t2.kind in ("decl", "assign"):
                names.append(t.val)
                self.i += 2
                is_assign = t2.kind == "assign"
                decl = names
                break
            if t2 is not None and t2.kind == "comma" and context == "range":
                names.append(t.val)
                self.i += 2
                continue
            break
        if not decl:
            self.i = save
        if len(decl) > 2 or (len(decl) == 2 and context != "range"):
            raise self.err(pos, "too many declarations in " + context)
        cmds: list[_Command] = []
        while True:
            t = self.peek()
            if t is None:
                raise self.err(pos, "unclosed action")
            if t.kind in ("close", "rparen"):
                break
            cmds.append(self.command())
            t = self.peek()
            if t is not None and t.kind == "pipe":
                self.next()
                nt = self.peek()
                if nt is None or nt.kind in ("close", "rparen"):
                    raise self.err(t.pos, "missing command")
                continue
        if not cmds:
            raise self.err(pos, f"missing value for {context}")
        return _Pipe(pos, decl, is_assign, cmds)

    def command(self) -> _Command:
        args: list[_Node] = []
        start = self.peek()
        assert start is not None
        while True:
            t = self.peek()
            if t is None or t.kind in ("close", "rparen", "pipe"):
                break
            args.append(self.operand())
        if not args:
            raise self.err(start.pos, "empty command")
        return _Command(start.pos, args)

    def operand(self) -> _Node:
        t = self.next()
        node: _Node
        if t.kind == "field":
            return _Field(t.pos, t.val[1:].split("."))
        if t.kind == "dot":
            node = _Dot(t.pos)
        elif t.kind == "var":
            node = _Var(t.pos, t.val)
        elif t.kind == "nil":
            node = _Nil(t.pos)
        elif t.kind == "bool":
            node = _Const(t.pos, t.val == "true", t.val)
        elif t.kind == "string":
            node = _Const(t.pos, _unquote(t.val, self, t.pos), t.val)
        elif t.kind == "char":
            s = _unquote('"' + t.val[1:-1].replace('"', '\\"') + '"', self, t.pos)
            if len(s) != 1:
                raise self.err(t.pos, f"malformed character constant: {t.val}")
            node = _Const(t.pos, ord(s), t.val)
        elif t.kind == "number":
            node = _Const(t.pos, _number(t.val, self, t.pos), t.val)
        elif t.kind == "ident":
            nt = self.peek()
            if nt is not None and nt.kind in ("dot", "field") and nt.pos == t.pos + len(t.val):
                raise self.err(nt.pos, "unexpected <.> in operand")
            node = _Ident(t.pos, t.val)
        elif t.kind == "lparen":
            pipe = self.pipeline(t.pos, "parenthesized pipeline")
            r = self.next() if self.i < len(self.toks) else None
            if r is None or r.kind != "rparen":
                raise self.err(t.pos, "unclosed left paren")
            node = pipe
        else:
            raise self.err(t.pos, f"unexpected {t.val!r} in operand")
        # field chain after the operand: $x.A, (pipe).A
        nt = self.peek()
        if nt is not None and nt.kind == "field" and nt.pos == self._end_of(t):
            self.next()
            names = nt.val[1:].split(".")
            if isinstance(node, _Var):
                node.names = names
            elif isinstance(node, _Dot | _Nil | _Const):
                raise self.err(nt.pos, f"unexpected . after term {t.val!r}")
            else:
                node = _Chain(t.pos, node, names)
        return node

    def _end_of(self, t: _Tok) -> int:
        if t.kind == "lparen":
            prev = self.toks[self.i - 1]
            return prev.pos + 1
        return t.pos + len(t.val)


def _unquote(s: str, p: _Parser, pos: int) -> str:
    if s.startswith("`"):
        return s[1:-1]
    try:
        return str(json.loads(_go_escapes_to_json(s)))
    except ValueError:
        raise p.err(pos, f"invalid syntax: {s}") from None


def _go_escapes_to_json(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        e = m.group(0)
        c = e[1]
        simple = {"a": "\\u0007", "v": "\\u000b", "'": "'"}
        if c in simple:
            return simple[c]
        if c == "x":
            return f"\\u{int(e[2:4], 16):04x}"
        if c == "U":
            cp = int(e[2:10], 16)
            return json.dumps(chr(cp))[1:-1]
        if c in "01234567":
            return f"\\u{int(e[1:4], 8):04x}"
        return e

    return re.sub(r"\\(x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", repl, s)


def _number(text: str, p: _Parser, pos: int) -> int | float:
    t = text.replace("_", "")
    try:
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", t):
            return int(t, 16)
        if re.fullmatch(r"[+-]?\d+", t):
            return int(t)
        return float(t)
    except ValueError:
        raise p.err(pos, f"bad number syntax: {text!r}") from None


# --------------------------------------------------------------------------- execution


class _BreakSignal(Exception):
    pass


class _ContinueSignal(Exception):
    pass


def _truth(v: Any) -> bool:
    if v is MISSING or v is None or isinstance(v, TypedNil):
        return False
    if isinstance(v, bool | int | float | str | list | tuple | Mapping):
        return bool(v)
    return True


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _basic_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if v is None or v is MISSING or isinstance(v, TypedNil):
        return "nil"
    return "other"


def _eq(a: Any, *bs: Any) -> bool:
    if not bs:
        raise TemplateError("missing argument for comparison")
    ka = _basic_kind(a)
    if ka == "other":
        raise TemplateError("invalid type for comparison")
    for b in bs:
        kb = _basic_kind(b)
        if ka == "nil" or kb == "nil":
            if ka == kb:
                return True
            continue
        if ka != kb:
            if {ka, kb} <= {"int", "float"}:
                raise TemplateError("incompatible types for comparison")
            if kb == "other":
                raise TemplateError("invalid type for comparison")
            raise TemplateError("incompatible types for comparison")
        if a == b:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka not in ("int", "float", "string") or kb not in ("int", "float", "string"):
        raise TemplateError("invalid type for comparison")
    if ka != kb:
        raise TemplateError("incompatible types for comparison")
    return bool(a < b)


def _len(v: Any) -> int:
    if isinstance(v, TypedNil) and v.kind != "struct":
        return 0
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, list | tuple | Mapping):
        return len(v)
    raise TemplateError(f"error calling len: len of type {_type_name(v)}")


def _index(v: Any, *keys: Any) -> Any:
    if v is None or v is MISSING:
        raise TemplateError("error calling index: index of untyped nil")
    for k in keys:
        if isinstance(v, TypedNil) and v.kind == "map":
            return ""  # the zero value of a nil map[string]string (Labels, Options...)
        if isinstance(v, TypedNil) and v.kind == "list":
            raise TemplateError(f"error calling index: index out of range: {k}")
        if isinstance(v, Mapping):
            if isinstance(k, str) and k in v:
                v = v[k]
            elif v and all(isinstance(x, str) for x in v.values()):
                v = ""  # a map[string]string gives its zero value for a missing key
            else:
                v = MISSING
        elif isinstance(v, list | tuple | str):
            if not _is_num(k) or isinstance(k, float):
                raise TemplateError(f"error calling index: cannot index slice/array with type {_type_name(k)}")
            if not 0 <= k < len(v):
                raise TemplateError(f"error calling index: index out of range: {k}")
            v = v.encode()[k] if isinstance(v, str) else v[k]
        elif v is None or v is MISSING:
            raise TemplateError("error calling index: index of nil pointer")
        else:
            raise TemplateError(f"error calling index: can't index item of type {_type_name(v)}")
    return v


def _slice(v: Any, *idx: Any) -> Any:
    if not isinstance(v, str | list | tuple):
        raise TemplateError(f"error calling slice: can't slice item of type {_type_name(v)}")
    ints = [int(i) for i in idx]
    if len(ints) > 3:
        raise TemplateError("error calling slice: too many slice indexes")
    start = ints[0] if ints else 0
    end = ints[1] if len(ints) > 1 else len(v)
    if not 0 <= start <= end <= len(v):
        raise TemplateError(f"error calling slice: index out of range: {end}")
    return v[start:end]


def _sprint(*args: Any) -> str:
    out = []
    for i, a in enumerate(args):
        if i > 0 and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_str(a, top=False))
    return "".join(out)


def _sprintln(*args: Any) -> str:
    return " ".join(go_str(a, top=False) for a in args) + "\n"


def _json(v: Any) -> str:
    if isinstance(v, FieldContext):
        return v.template_json()
    if v is MISSING or isinstance(v, TypedNil):
        v = None
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, FieldContext):
        return json.loads(o.template_json())
    raise TypeError(f"cannot encode {type(o).__name__} as JSON")


def _as_str(v: Any, fn: str) -> str:
    if isinstance(v, str):
        return v
    raise TemplateError(f"error calling {fn}: wrong type for value; expected string; got {_type_name(v)}")


def _title(s: Any) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), _as_str(s, "title"))


def _join(v: Any, sep: Any) -> str:
    if not isinstance(v, list | tuple):
        raise TemplateError(f"error calling join: wrong type for value; expected []string; got {_type_name(v)}")
    return str(sep).join(go_str(x, top=False) for x in v)


def _html(*args: Any) -> str:
    s = _sprint(*args)
    return (
        s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&#34;").replace("'", "&#39;").replace("\x00", "\ufffd")
    )


def _js(*args: Any) -> str:
    s = _sprint(*args)
    rep = {"\\": "\\\\", "'": "\\'", '"': "\\\"", "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
           "=": "\\u003D", "\n": "\\u000A", "\r": "\\u000D", "\t": "\\u0009"}
    return "".join(rep.get(c, c) for c in s)


def _urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus

    return quote_plus(_sprint(*args))


BUILTINS: dict[str, Callable[..., Any]] = {
    "not": lambda v: not _truth(v),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": _sprint,
    "println": _sprintln,
    "printf": lambda f, *a: go_sprintf(_as_str(f, "printf"), *a),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _lt,
    "le": lambda a, b: _lt(a, b) or _eq(a, b),
    "gt": lambda a, b: not (_lt(a, b) or _eq(a, b)),
    "ge": lambda a, b: not _lt(a, b),
    "html": _html,
    "js": _js,
    "urlquery": _urlquery,
    # docker's additions (cli/templates)
    "json": _json,
    "split": lambda s, sep: _as_str(s, "split").split(_as_str(sep, "split")) if sep != "" else list(s),
    "join": _join,
    "title": _title,
    "lower": lambda s: _as_str(s, "lower").lower(),
    "upper": lambda s: _as_str(s, "upper").upper(),
    "pad": lambda s, pre, post: " " * int(pre) + _as_str(s, "pad") + " " * int(post),
    "truncate": lambda s, n: _as_str(s, "truncate") if len(_as_str(s, "truncate")) < int(n) else s[: int(n)],
}

#: what docker's table headers use instead: they must not mangle the header text
HEADER_FUNCS: dict[str, Callable[..., Any]] = {
    "json": lambda v: "",
    "split": lambda s, sep: s,
    "join": lambda s, sep: s,
    "title": lambda s: s,
    "lower": lambda s: s,
    "upper": lambda s: s,
    "pad": lambda s, pre, post: s,
    "truncate": lambda s, n: s,
}


class _Exec:
    def __init__(self, tmpl: Template, funcs: Mapping[str, Callable[..., Any]], out: list[str],
                 typed_nils: Mapping[str, str] | None) -> None:
        self.t = tmpl
        self.funcs = funcs
        self.out = out
        self.typed_nils = typed_nils
        self.vars: list[tuple[str, Any]] = []

    def err(self, node: _Node, msg: str) -> TemplateError:
        src = self.t.source
        line = _line(src, node.pos)
        col = node.pos - (src.rfind("\n", 0, node.pos) + 1)
        return TemplateError(f'template: :{line}:{col}: executing "" at <{self._text(node)}>: {msg}')

    def _text(self, node: _Node) -> str:
        if isinstance(node, _Field):
            return "." + ".".join(node.names)
        if isinstance(node, _Var):
            return node.name + "".join("." + n for n in node.names)
        if isinstance(node, _Ident):
            return node.name
        if isinstance(node, _Const):
            return node.text
        if isinstance(node, _Nil):
            return "nil"
        if isinstance(node, _Dot):
            return "."
        if isinstance(node, _Command):
            return " ".join(self._text(a) for a in node.args)
        if isinstance(node, _Pipe):
            return "(" + " | ".join(self._text(c) for c in node.cmds) + ")"
        if isinstance(node, _Chain):
            return self._text(node.node) + "".join("." + n for n in node.names)
        return ""

    def walk(self, dot: Any, nodes: list[_Node]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                self.out.append(node.text)
            elif isinstance(node, _Action):
                v = self.pipe(dot, node.pipe)
                if not node.pipe.decl:
                    self.out.append(go_str(v))
            elif isinstance(node, _Branch):
                self.branch(dot, node)
            elif isinstance(node, _Break):
                raise _BreakSignal
            elif isinstance(node, _Continue):
                raise _ContinueSignal

    def branch(self, dot: Any, node: _Branch) -> None:
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.range(dot, node)
                return
            v = self.pipe(dot, node.pipe)
            if _truth(v):
                self.walk(v if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: _Branch) -> None:
        pipe = node.pipe
        v = self.pipe(dot, _Pipe(pipe.pos, [], False, pipe.cmds))
        items: Iterator[tuple[Any, Any]]
        if isinstance(v, Mapping):
            items = iter([(k, v[k]) for k in sorted(v, key=str)])
        elif isinstance(v, list | tuple):
            items = iter(list(enumerate(v)))
        elif _is_num(v) and isinstance(v, int):
            items = iter([(i, i) for i in range(v)])
        elif v is None or v is MISSING or isinstance(v, TypedNil):
            items = iter(())
        else:
            raise self.err(pipe, f"range can't iterate over {go_str(v)}")
        ran = False
        for k, x in items:
            ran = True
            mark = len(self.vars)
            if len(pipe.decl) == 1:
                self.vars.append((pipe.decl[0], x))
            elif len(pipe.decl) == 2:
                self.vars.append((pipe.decl[0], k))
                self.vars.append((pipe.decl[1], x))
            try:
                self.walk(x, node.body)
            except _BreakSignal:
                break
            except _ContinueSignal:
                continue
            finally:
                del self.vars[mark:]
        if not ran and node.else_body is not None:
            self.walk(dot, node.else_body)

    def pipe(self, dot: Any, pipe: _Pipe) -> Any:
        value: Any = _NOFINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        if pipe.decl:
            if pipe.is_assign:
                self.set_var(pipe, pipe.decl[0], value)
            else:
                for name in pipe.decl:
                    self.vars.append((name, value))
        return value

    def set_var(self, node: _Node, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.err(node, f"undefined variable: {name}")

    def var(self, node: _Var) -> Any:
        for n, v in reversed(self.vars):
            if n == node.name:
                return v
        raise self.err(node, f"undefined variable: {node.name}")

    def command(self, dot: Any, cmd: _Command, final: Any) -> Any:
        first = cmd.args[0]
        rest = cmd.args[1:]
        if isinstance(first, _Ident):
            return self.call(dot, first, rest, final)
        if rest or final is not _NOFINAL:
            if not isinstance(first, _Field | _Chain | _Var):
                raise self.err(first, f"can't give argument to non-function {self._text(first)}")
            raise self.err(first, f"{self._text(first)} is not a method but has arguments")
        return self.arg(dot, first)

    def arg(self, dot: Any, node: _Node) -> Any:
        if isinstance(node, _Field):
            return self.chain(node, dot, node.names)
        if isinstance(node, _Var):
            return self.chain(node, self.var(node), node.names)
        if isinstance(node, _Dot):
            return dot
        if isinstance(node, _Nil):
            raise self.err(node, "nil is not a command")
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _Pipe):
            mark = len(self.vars)
            try:
                return self.pipe(dot, node)
            finally:
                del self.vars[mark:]
        if isinstance(node, _Chain):
            return self.chain(node, self.arg(dot, node.node), node.names)
        if isinstance(node, _Ident):
            return self.call(dot, node, [], _NOFINAL)
        raise self.err(node, "can't evaluate")

    def chain(self, node: _Node, v: Any, names: list[str]) -> Any:
        for name in names:
            v = self.field(node, v, name)
        return v

    def field(self, node: _Node, v: Any, name: str) -> Any:
        if isinstance(v, FieldContext):
            try:
                return v.template_field(name)
            except KeyError:
                raise self.err(node, f"can't evaluate field {name} in type {type(v).__name__}") from None
        if isinstance(v, Mapping):
            key: Any = name
            if name not in v:
                low = name.lower()
                key = next((k for k in v if isinstance(k, str) and k.lower() == low), MISSING)
            if key is not MISSING:
                value = v[key]
                if value is None and self.typed_nils and key in self.typed_nils:
                    return TypedNil(self.typed_nils[key])
                return value
            if (self.typed_nils and name in self.typed_nils and v
                    and all(isinstance(k, str) and k[:1].isupper() for k in v)):
                return TypedNil(self.typed_nils[name])  # a nil field a Go struct omitted from its JSON
            if isinstance(v, StrictMap):
                raise self.err(node, f'map has no entry for key "{name}"')
            return MISSING
        if isinstance(v, TypedNil) and v.kind == "map":
            return MISSING
        if v is None or v is MISSING or isinstance(v, TypedNil):
            raise self.err(node, f"nil pointer evaluating interface {{}}.{name}")
        raise self.err(node, f"can't evaluate field {name} in type {_type_name(v)}")

    def call(self, dot: Any, ident: _Ident, args: list[_Node], final: Any) -> Any:
        name = ident.name
        if name in ("and", "or"):
            nodes = list(args)
            if not nodes and final is _NOFINAL:
                raise self.err(ident, f"wrong number of args for {name}: want at least 1 got 0")
            v: Any = MISSING
            for n in nodes:  # short-circuit, as Go 1.18+
                v = self.arg(dot, n)
                if _truth(v) != (name == "and"):
                    return v
            if final is not _NOFINAL:
                v = final
            return v
        fn = self.funcs.get(name)
        if fn is None:
            raise TemplateError(f'template: :{_line(self.t.source, ident.pos)}: function "{name}" not defined')
        argv = [self.arg(dot, a) for a in args]
        if final is not _NOFINAL:
            argv.append(final)
        try:
            return fn(*argv)
        except TemplateError as exc:
            msg = str(exc)
            if msg.startswith("template:"):
                raise
            if not msg.startswith("error calling"):
                msg = f"error calling {name}: {msg}"
            raise self.err(ident, msg) from None
        except TypeError:
            raise self.err(ident, f"wrong number of args for {name}: got {len(argv)}") from None
        except (ValueError, IndexError, KeyError) as exc:
            raise self.err(ident, f"error calling {name}: {exc}") from None


_NOFINAL: Any = object()


class Template:
    """A parsed template: ``Template(src).execute(data)`` returns the text."""

    def __init__(self, source: str, funcs: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.source = source
        self.funcs = dict(BUILTINS)
        if funcs:
            self.funcs.update(funcs)
        self.nodes = _Parser(source).parse()
        self._check_funcs(self.nodes)

    def _check_funcs(self, nodes: list[_Node]) -> None:
        """Go rejects unknown functions at parse time; so do we."""
        for node in nodes:
            if isinstance(node, _Action):
                self._check_pipe(node.pipe)
            elif isinstance(node, _Branch):
                self._check_pipe(node.pipe)
                self._check_funcs(node.body)
                if node.else_body:
                    self._check_funcs(node.else_body)

    def _check_pipe(self, pipe: _Pipe) -> None:
        for cmd in pipe.cmds:
            for a in cmd.args:
                if isinstance(a, _Ident) and a.name not in self.funcs and a.name not in ("and", "or"):
                    raise TemplateError(f'template: :{_line(self.source, a.pos)}: function "{a.name}" not defined')
                if isinstance(a, _Pipe):
                    self._check_pipe(a)
                if isinstance(a, _Chain) and isinstance(a.node, _Pipe):
                    self._check_pipe(a.node)

    def execute(self, data: Any, funcs: Mapping[str, Callable[..., Any]] | None = None,
                typed_nils: Mapping[str, str] | None = None) -> str:
        """Run over ``data``; ``typed_nils`` maps field names to what their null is (see ``TypedNil``)."""
        out: list[str] = []
        ex = _Exec(self, {**self.funcs, **funcs} if funcs else self.funcs, out, typed_nils)
        ex.vars.append(("$", data))
        try:
            ex.walk(data, self.nodes)
        except (_BreakSignal, _ContinueSignal):  # pragma: no cover - rejected by the parser
            pass
        except RecursionError:
            raise TemplateError("template: exceeded maximum template depth") from None
        return "".join(out)
