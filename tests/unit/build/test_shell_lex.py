"""Docker's word expansion, case by case (the cases were checked against dockerd's builder)."""

from __future__ import annotations

import pytest

from dockwright.build.dockerfile.errors import ExpansionError
from dockwright.build.dockerfile.shell_lex import ShellLex, glob_to_regex

ENV = {"A": "a", "B": "two words", "EMPTY": "", "PATH_": "/usr/local/bin", "FILE": "archive.tar.gz", "X1": "x1"}

WORD_CASES = [
    ("plain", "plain"),
    ("$A", "a"),
    ("${A}", "a"),
    ("$A$A", "aa"),
    ("${A}b", "ab"),
    ("$Ab", ""),  # the name is "Ab", unset
    ("$NOPE", ""),
    ("x$", "x$"),
    ("$ x", "$ x"),
    ("$1x", "x"),  # a leading digit reads only digits
    ("$X1", "x1"),
    ("$$", ""),  # "$" is a special parameter name, unset
    ("$@", ""),
    ("\\$A", "$A"),
    ("\\\\$A", "\\a"),
    ("a\\ b", "a b"),
    ("end\\", "end"),
    ("'$A'", "$A"),
    ("'a\\b'", "a\\b"),
    ('"$A"', "a"),
    ('"\\$A"', "$A"),
    ('"a\\"b"', 'a"b'),
    ('"a\\b"', "a\\b"),  # backslash before an ordinary char stays
    ('"a\\\\b"', "a\\b"),
    ("\"'$A'\"", "'a'"),
    ("'\"$A\"'", '"$A"'),
    ("${A:-x}", "a"),
    ("${NOPE:-x}", "x"),
    ("${EMPTY:-x}", "x"),
    ("${EMPTY-x}", ""),
    ("${NOPE-x}", "x"),
    ("${A:+x}", "x"),
    ("${EMPTY:+x}", ""),
    ("${NOPE:+x}", ""),
    ("${EMPTY+x}", "x"),
    ("${NOPE+x}", ""),
    ("${NOPE:-$A}", "a"),
    ("${NOPE:-${A:+nested}}", "nested"),
    ("${NOPE:-'q w'}", "q w"),
    ("${A:?msg}", "a"),
    ("${FILE%.gz}", "archive.tar"),
    ("${FILE%.*}", "archive.tar"),
    ("${FILE%%.*}", "archive"),
    ("${FILE#*.}", "tar.gz"),
    ("${FILE##*.}", "gz"),
    ("${FILE/a/A}", "Archive.tar.gz"),
    ("${FILE//a/A}", "Archive.tAr.gz"),
    ("${PATH_#/usr}", "/local/bin"),
    ("${B}", "two words"),
    ('"${B}"', "two words"),
]


@pytest.mark.parametrize(("word", "expected"), WORD_CASES)
def test_process_word(word: str, expected: str) -> None:
    assert ShellLex().process_word(word, ENV) == expected


WORDS_CASES = [
    ("a b  c", ["a", "b", "c"]),
    ("$B", ["two", "words"]),  # a variable's whitespace splits
    ('"$B"', ["two words"]),
    ("'$B'", ["$B"]),
    ("x$B", ["xtwo", "words"]),
    ('a "" b', ["a", "b"]),  # an empty quoted word vanishes, as in Docker
    ("a\\ b c", ["a b", "c"]),
    ("80 $NOPE 443", ["80", "443"]),
    ('"a b"c d', ["a bc", "d"]),
]


@pytest.mark.parametrize(("word", "expected"), WORDS_CASES)
def test_process_words(word: str, expected: list[str]) -> None:
    assert ShellLex().process_words(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("${NOPE:?must be set}", 'failed to process "${NOPE:?must be set}": NOPE: must be set'),
        ("${NOPE:?}", 'failed to process "${NOPE:?}": NOPE: is not allowed to be unset'),
        ("${EMPTY:?}", 'failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty'),
        ("${NOPE?}", 'failed to process "${NOPE?}": NOPE: is not allowed to be unset'),
        ("${NOPE?gone}", 'failed to process "${NOPE?gone}": NOPE: gone'),
        ("${}", 'failed to process "${}": syntax error: bad substitution'),
        ("${:x}", 'failed to process "${:x}": syntax error: bad substitution'),
        ("${A", 'failed to process "${A": syntax error: missing \'}\''),
        ("${A:-x", 'failed to process "${A:-x": syntax error: missing \'}\''),
        ("${A:x}", 'failed to process "${A:x}": unsupported modifier (x) in substitution'),
        ("'open", 'failed to process "\'open": unexpected end of statement while looking for matching single-quote'),
        ('"open', 'failed to process "\\"open": unexpected end of statement while looking for matching double-quote'),
    ],
)
def test_errors(word: str, message: str) -> None:
    with pytest.raises(ExpansionError) as info:
        ShellLex().process_word(word, ENV)
    assert str(info.value) == message


def test_empty_allowed_with_plain_question_mark() -> None:
    assert ShellLex().process_word("${EMPTY?}", ENV) == ""


def test_backtick_escape() -> None:
    lex = ShellLex("`")
    assert lex.process_word("C:\\path\\$A", ENV) == "C:\\path\\a"
    assert lex.process_word("`$A", ENV) == "$A"
    assert lex.process_word('"a`"b"', ENV) == 'a"b'
    assert lex.process_words("a` b c", ENV) == ["a b", "c"]


def test_matches_are_recorded() -> None:
    res = ShellLex().process("$A ${NOPE:-$EMPTY} '$B'", ENV)
    assert res.matched == {"A", "EMPTY"}
    assert res.unmatched == {"NOPE"}


def test_skip_unset_env_keeps_text() -> None:
    lex = ShellLex(skip_unset_env=True)
    assert lex.process_word("$NOPE ${NOPE} ${NOPE:-x} $A", ENV) == "$NOPE ${NOPE} ${NOPE:-x} a"


def test_raw_quotes_and_escapes() -> None:
    lex = ShellLex(raw_quotes=True, raw_escapes=True)
    assert lex.process_words("RUN <<'EOF' \"x y\" a\\ b", {}) == ["RUN", "<<'EOF'", '"x y"', "a\\ b"]


def test_skip_process_quotes_for_heredocs() -> None:
    lex = ShellLex(skip_process_quotes=True)
    assert lex.process_word("echo '$A' \"$A\"\n", ENV) == "echo 'a' \"a\"\n"


def test_glob_to_regex() -> None:
    import re

    assert re.fullmatch(glob_to_regex("*.t?r"), "a.tar")
    assert re.fullmatch(glob_to_regex("[!a]b"), "cb")
    assert not re.fullmatch(glob_to_regex("[!a]b"), "ab")
    assert re.fullmatch(glob_to_regex("\\*x"), "*x")


def test_bad_escape_character() -> None:
    with pytest.raises(ValueError):
        ShellLex("ab")
