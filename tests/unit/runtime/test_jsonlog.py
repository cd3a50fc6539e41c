"""The json-file log: what a follower reads while the monitor writes, rotates, and the container goes."""

from __future__ import annotations

from pathlib import Path

from dockwright.runtime.jsonlog import LogReader, LogWriter


def _lines(recs: list) -> list[bytes]:  # type: ignore[type-arg]
    return [r.data for r in recs]


def test_follower_keeps_reading_a_removed_log(tmp_path: Path) -> None:
    """`docker run` and the SDK's run(remove=True) remove the container before they finish
    reading its followed log: the last lines must still come."""
    path = tmp_path / "c-json.log"
    w = LogWriter(path)
    w.write("stdout", b"one\n")
    r = LogReader(path)
    try:
        assert _lines(r.snapshot()) == [b"one\n"]
        w.write("stdout", b"two\n")
        w.write("stderr", b"partial")
        w.close()  # the monitor flushes a last partial line when the container ends
        path.unlink()
        recs = r.read_new()
        assert [(x.stream, x.data) for x in recs] == [("stdout", b"two\n"), ("stderr", b"partial")]
        assert r.read_new() == []
    finally:
        r.close()


def test_follower_waits_for_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    r = LogReader(path)
    try:
        assert r.snapshot() == []  # no log yet: the monitor has not opened it
        w = LogWriter(path)
        w.write("stdout", b"x\n")
        with open(path, "ab") as f:
            f.write(b'{"log":"half')  # a record being written
        assert _lines(r.read_new()) == [b"x\n"]
        with open(path, "ab") as f:
            f.write(b'\\n","stream":"stdout","time":"2026-01-01T00:00:00.000000000Z"}\n')
        assert _lines(r.read_new()) == [b"half\n"]
        w.close()
    finally:
        r.close()


def test_follower_reads_across_rotation(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = LogWriter(path, max_size=200, max_file=3)
    r = LogReader(path)
    try:
        r.snapshot()
        seen: list[bytes] = []
        for i in range(20):
            w.write("stdout", f"line {i}\n".encode())
            seen += _lines(r.read_new())
        seen += _lines(r.read_new())
        assert seen == [f"line {i}\n".encode() for i in range(20)]
        assert len(list(tmp_path.iterdir())) == 3
        snap = LogReader(path)
        got = _lines(snap.snapshot())
        snap.close()
        assert got == seen[-len(got):] and len(got) < 20  # the oldest rotated away
    finally:
        r.close()
        w.close()


def test_follower_with_max_file_1(tmp_path: Path) -> None:
    """max-file=1 starts a new file: the follower reads the old one to its end, then the new one."""
    path = tmp_path / "c-json.log"
    w = LogWriter(path, max_size=250, max_file=1)  # records are ~100 bytes
    r = LogReader(path)
    try:
        r.snapshot()
        w.write("stdout", b"a" * 40 + b"\n")
        assert len(r.read_new()) == 1
        w.write("stdout", b"b" * 40 + b"\n")
        w.write("stdout", b"c" * 40 + b"\n")  # over max-size: a new file starts with this line
        assert _lines(r.read_new()) == [b"b" * 40 + b"\n", b"c" * 40 + b"\n"]
        assert [p.name for p in tmp_path.iterdir()] == ["c-json.log"]
    finally:
        r.close()
        w.close()
