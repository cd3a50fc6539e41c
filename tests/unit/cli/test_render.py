"""Sizes, times, tables and progress lines as docker prints them."""

from __future__ import annotations

import io
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from dockwright.cli import units
from dockwright.cli.formatter import ItemTemplate, RowContext, go_json, or_default, prepare, render, render_one
from dockwright.cli.jsonmessage import StreamError, display, line_of, raise_for_error
from dockwright.cli.tabwriter import tabwrite
from dockwright.errors import InvalidParameter


@pytest.mark.parametrize(
    ("size", "precision", "out"),
    [(0, 3, "0B"), (999, 3, "999B"), (1000, 3, "1kB"), (1982496, 3, "1.98MB"), (1982496, 4, "1.982MB"),
     (4_260_000, 3, "4.26MB"), (123_456_789_012, 3, "123GB"), (999_999, 3, "1e+03kB"), (1e27, 4, "1000YB"),
     (5_000_000, 4, "5MB")],
)
def test_human_size(size: float, precision: int, out: str) -> None:
    assert units.human_size(size, precision) == out


def test_bytes_size() -> None:
    assert units.bytes_size(25_275_731_968) == "23.54GiB"
    assert units.bytes_size(512) == "512B"
    assert units.bytes_size(1536) == "1.5KiB"


@pytest.mark.parametrize(
    ("seconds", "out"),
    [(0.3, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
     (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
     (5399, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
     (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (59 * 86400, "8 weeks"), (60 * 86400, "2 months"),
     (729 * 86400, "24 months"), (730 * 86400, "2 years")],
)
def test_human_duration(seconds: float, out: str) -> None:
    assert units.human_duration(seconds) == out


def test_since_and_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    assert units.since(1000, now=1120) == "2 minutes ago"
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert units.go_time_string(1795829217) == "2026-11-28 01:26:57 +0000 UTC"
        assert units.rfc3339(1795829217) == "2026-11-28T01:26:57Z"
        assert units.rfc3339_nano_fixed(1795829217_000000042) == "2026-11-28T01:26:57.000000042Z"
        monkeypatch.setenv("TZ", "CET-1")
        time.tzset()
        assert units.go_time_string(1795829217) == "2026-11-28 02:26:57 +0100 CET"
        assert units.rfc3339(1795829217) == "2026-11-28T02:26:57+01:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert units.parse_rfc3339("2026-11-28T01:26:57.315967428Z") == pytest.approx(1795829217.315967428)
    assert units.parse_rfc3339("0001-01-01T00:00:00Z") is None


def test_truncate_and_ellipsis() -> None:
    assert units.truncate_id("sha256:1dd1801ad2d54c7c8016") == "1dd1801ad2d5"
    assert units.truncate_id("<missing>") == "<missing>"
    assert units.ellipsis("/bin/sh -c #(nop) ADD file:abcdef in / with more", 20) == "/bin/sh -c #(nop) A…"
    assert units.ellipsis("short", 20) == "short"


def test_tabwriter_like_docker() -> None:
    text = "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\ncliref\t1\t1dd1801ad2d5\tLess than a second ago\t1.98MB\n"
    assert tabwrite(text) == (
        "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE\n"
        "cliref       1         1dd1801ad2d5   Less than a second ago   1.98MB\n"
    )
    # a line without cells ends the column block
    assert tabwrite("a\tb\nxx\nlonger\tc\n", 1, 1) == "a b\nxx\nlonger c\n"
    # an empty last column still pads the terminated cells
    assert tabwrite("A\tB\nx\t\n") == "A         B\nx         \n"


class Row(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {"Repository": "REPOSITORY", "Tag": "TAG"}

    def __init__(self, r: str, t: str) -> None:
        self.r, self.t = r, t

    def Repository(self) -> str:
        return self.r

    def Tag(self) -> str:
        return self.t


ROWS = [Row("busybox", "latest"), Row("a-much-longer-name", "1")]


def test_render_table_with_headers() -> None:
    out = render(ROWS, "table {{.Repository}}\\t{{.Tag}}", Row.FIELDS)
    assert out == "REPOSITORY           TAG\nbusybox              latest\na-much-longer-name   1\n"
    assert render(ROWS, "table {{.Repository}}:{{.Tag}} {{upper .Tag}}", Row.FIELDS).splitlines() == [
        "REPOSITORY:TAG TAG", "busybox:latest LATEST", "a-much-longer-name:1 1"]
    assert render([], "table {{.Repository}}\t{{.Tag}}", Row.FIELDS) == "REPOSITORY   TAG\n"
    assert render(ROWS, "table {{json .}}", Row.FIELDS).splitlines()[0] == ""


def test_render_plain_and_json() -> None:
    assert render(ROWS, "{{.Repository}}", Row.FIELDS) == "busybox\na-much-longer-name\n"
    assert render(ROWS[:1], "json", Row.FIELDS) == '{"Repository":"busybox","Tag":"latest"}\n'
    with pytest.raises(InvalidParameter, match="^template parsing error: template: "):
        render(ROWS, "{{.Nope}}", Row.FIELDS)


def test_or_default() -> None:
    assert or_default("", "table {{.A}}") == "table {{.A}}"
    assert or_default("table", "table {{.A}}") == "table {{.A}}"
    assert or_default("", "table {{.A}}", quiet=True) == "{{.ID}}"
    assert or_default("{{.B}}", "table {{.A}}", quiet=True) == "{{.B}}"
    assert or_default("table {{.B}}", "table {{.A}}") == "table {{.B}}"


def test_item_template_parsed_once_and_errors_worded_like_docker() -> None:
    tmpl = ItemTemplate("{{.Name}}")
    assert [tmpl({"Name": n}) for n in ("a", "b")] == ["a\n", "b\n"]
    assert render_one({"A": [1]}, "json") == '{"A":[1]}\n'
    with pytest.raises(InvalidParameter, match="^template parsing error: "):
        ItemTemplate("{{.Name")


def test_prepare() -> None:
    assert prepare("table {{.A}}\\t{{.B}}\\n") == "{{.A}}\t{{.B}}\n"
    assert prepare("json") == "{{json .}}"
    assert prepare("  {{.A}} ") == "{{.A}}"


def test_go_json_escapes_like_go() -> None:
    assert go_json({"a": "<none>&", "é": 1}) == '{"a":"\\u003cnone\\u003e\\u0026","é":1}'
    assert go_json([{"a": []}], indent=4) == '[\n    {\n        "a": []\n    }\n]'


def test_jsonmessage_lines() -> None:
    assert line_of({"stream": "Loaded image: busybox:latest\n"}) == "Loaded image: busybox:latest\n"
    assert line_of({"status": "sha256:abc"}) == "sha256:abc\n"
    assert line_of({"status": "Downloading", "id": "abc", "progressDetail": {"current": 1, "total": 2},
                    "progress": "[==>  ]"}) is None
    assert line_of({"status": "Pull complete", "id": "abc", "progressDetail": {}}) == "abc: Pull complete\n"


def _msgs() -> Iterator[dict[str, object]]:
    yield {"status": "Loading layer", "id": "l1", "progressDetail": {"current": 5, "total": 10}, "progress": "x"}
    yield {"aux": {"ID": "sha256:x"}}
    yield {"stream": "Loaded image: a:b\n"}
    yield {"errorDetail": {"message": "it broke"}, "error": "it broke"}
    yield {"stream": "never printed\n"}


def test_display_plain_stops_at_error() -> None:
    out = io.StringIO()
    aux: list[object] = []
    with pytest.raises(StreamError, match="^it broke$"):
        display(_msgs(), out, on_aux=aux.append)
    assert out.getvalue() == "Loaded image: a:b\n"
    assert aux == [{"ID": "sha256:x"}]


def test_raise_for_error() -> None:
    raise_for_error({"stream": "fine\n"})
    raise_for_error({"errorDetail": {}, "stream": "fine\n"})
    with pytest.raises(StreamError, match="^from detail$"):
        raise_for_error({"errorDetail": {"message": "from detail"}, "error": "plain"})
    with pytest.raises(StreamError, match="^plain$"):
        raise_for_error({"error": "plain"})


def test_display_rich_on_a_terminal() -> None:
    out = io.StringIO()
    os.environ.setdefault("COLUMNS", "100")
    with pytest.raises(StreamError):
        display(_msgs(), out, tty=True)
    assert "Loaded image: a:b" in out.getvalue()


def test_go_durations_and_timestamps() -> None:
    from dockwright.cli.commands.system import get_timestamp, parse_go_duration

    assert parse_go_duration("10m") == 600
    assert parse_go_duration("1h30m") == 5400
    assert parse_go_duration("1.5s") == 1.5
    assert parse_go_duration("-2h") == -7200
    assert parse_go_duration("300ms") == pytest.approx(0.3)
    assert parse_go_duration("0") is None and parse_go_duration("10") is None and parse_go_duration("m") is None
    now = 1_795_829_217.0
    assert get_timestamp("10m", now) == str(int(now - 600))
    assert get_timestamp("0s", now) == str(int(now))
    assert get_timestamp("1795829000", now) == "1795829000"
    assert get_timestamp("1795829000.5", now) == "1795829000.5"
    assert get_timestamp("2026-11-28T01:00:00Z", now) == "1795827600.000000000"
    assert get_timestamp("2026-11-28T01:00:00.25+01:00", now) == "1795824000.250000000"
    with pytest.raises(InvalidParameter, match="failed to parse value as time or duration"):
        get_timestamp("yesterday", now)


def test_write_atomically_masks_mode_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    from dockwright.cli.commands.output import write_atomically

    umask = os.umask(0o022)
    try:
        write_atomically(str(tmp_path / "a.tar"), [b"ab", b"c"], 0o644)
        write_atomically(str(tmp_path / "b.tar"), [b""])
    finally:
        os.umask(umask)
    assert (tmp_path / "a.tar").read_bytes() == b"abc"
    assert stat.S_IMODE((tmp_path / "a.tar").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.tar").stat().st_mode) == 0o644

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("stream broke")

    with pytest.raises(OSError, match="stream broke"):
        write_atomically(str(tmp_path / "c.tar"), broken())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar", "b.tar"]
