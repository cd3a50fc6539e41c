from __future__ import annotations

import pytest

from dockwright.daemon.filters import bool_filter, label_matches, parse_filters, parse_timestamp
from dockwright.errors import InvalidParameter


def test_both_filter_encodings() -> None:
    assert parse_filters('{"label":["a=b"],"dangling":{"true":true}}', ["label", "dangling"]) == {
        "label": ["a=b"], "dangling": ["true"]}
    assert parse_filters("", ["x"]) == {}


@pytest.mark.parametrize("raw", ["notjson", "[]", '{"x": 1}', '{"bogus": ["1"]}'])
def test_bad_filters(raw: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_filters(raw, ["x"])


def test_bool_and_labels() -> None:
    assert bool_filter({"d": ["true"]}, "d") is True and bool_filter({}, "d") is None
    with pytest.raises(InvalidParameter):
        bool_filter({"d": ["maybe"]}, "d")
    assert label_matches({"a": "b"}, ["a", "a=b"]) and not label_matches({"a": "b"}, ["a=c"])
    assert label_matches({"a": "b"}, ["x"], negate=True) and not label_matches({"a": "b"}, ["a"], negate=True)


def test_timestamps() -> None:
    assert parse_timestamp("1700000000.5") == 1700000000.5
    assert parse_timestamp("1h30m", now=10000) == 10000 - 5400
    assert parse_timestamp("2026-01-01T00:00:00Z") == 1767225600
    with pytest.raises(InvalidParameter):
        parse_timestamp("yesterday")
