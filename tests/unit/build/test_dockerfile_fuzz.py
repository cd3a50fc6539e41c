"""Arbitrary input never crashes the frontend: it parses or raises the user-facing error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockwright.build.context.dockerignore import Matcher, read_patterns
from dockwright.build.dockerfile import DockerfileError, ExpansionError, ShellLex, parse, parse_instructions
from dockwright.build.dockerfile.expand import expand_stage
from dockwright.errors import InvalidParameter

ALPHABET = st.sampled_from(list("FROMRUNCOPYENVARGLABELONBUILD abc=$`\\\"'{}[]:-+?#%/,<\t\n*!.") + ["<<EOF", "EOF"])
TEXT = st.lists(ALPHABET, max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_parse_never_crashes(text: str) -> None:
    for candidate in (text, "FROM scratch\n" + text):
        try:
            stages, meta = parse_instructions(parse(candidate))
            for stage in stages:
                expand_stage(stage, {"a": "1"}, meta)
        except DockerfileError:
            pass


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(["\\", "`"]))
def test_shell_lex_never_crashes(word: str, escape: str) -> None:
    lex = ShellLex(escape)
    try:
        value = lex.process_word(word, {"a": "x y", "b": ""})
        words = lex.process_words(word, {"a": "x y", "b": ""})
    except ExpansionError:
        return
    assert isinstance(value, str) and all(words)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_dockerignore_never_crashes(patterns: str, path: str) -> None:
    try:
        m = Matcher(read_patterns(patterns))
    except InvalidParameter:
        return
    m.matches(path or "x")
    m.dir_may_have_exceptions(path or "x")
