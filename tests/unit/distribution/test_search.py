"""How a search term names its registry, the limit's range, and the daemon-side filters."""

from __future__ import annotations

import pytest

from dockwright.distribution.search import apply_filters, check_limit, split_term
from dockwright.errors import InvalidParameter


@pytest.mark.parametrize(("term", "expected"), [
    ("busybox", ("docker.io", "busybox")),
    ("library/busybox", ("docker.io", "library/busybox")),
    ("127.0.0.1:5000/app", ("127.0.0.1:5000", "app")),
    ("localhost/team/app", ("localhost", "team/app")),
    ("registry.example.com/app", ("registry.example.com", "app")),
])
def test_split_term(term: str, expected: tuple[str, str]) -> None:
    assert split_term(term) == expected


def test_limit() -> None:
    assert check_limit(0) == 25 and check_limit(100) == 100
    for bad in (-1, 101):
        with pytest.raises(InvalidParameter, match=r"outside the range of \[1, 100\]"):
            check_limit(bad)


def _r(name: str, stars: int = 0, official: bool = False, automated: bool = False) -> dict[str, object]:
    return {"name": name, "description": "", "star_count": stars, "is_official": official,
            "is_automated": automated}


def test_filters() -> None:
    rs = [_r("a", 5, official=True), _r("b", 1, automated=True), _r("c")]
    assert [r["name"] for r in apply_filters(rs, {"is-official": ["true"]})] == ["a"]
    assert [r["name"] for r in apply_filters(rs, {"is-automated": ["false"]})] == ["a", "c"]
    assert [r["name"] for r in apply_filters(rs, {"stars": ["1", "3"]})] == ["a"]
    with pytest.raises(InvalidParameter, match="stars=x"):
        apply_filters(rs, {"stars": ["x"]})
    with pytest.raises(InvalidParameter, match="is-official=maybe"):
        apply_filters(rs, {"is-official": ["maybe"]})
