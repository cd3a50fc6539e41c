"""The builtin runtime's command line: runc's flags, errors and their wording, the JSON log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockwright.runtime.builtin.cmd import main
from dockwright.runtime.builtin.ops import parse_signal
from dockwright.runtime.builtin.state import CommandError, valid_id


def _rt(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dockwright", "runtime", "--root", str(tmp_path / "root"), *args],
                          capture_output=True, text=True, timeout=60)


def test_unknown_container_and_command(tmp_path: Path) -> None:
    r = _rt(tmp_path, "state", "nope")
    assert r.returncode == 1 and r.stderr.strip() == "container does not exist: nope"
    r = _rt(tmp_path, "frobnicate", "x")
    assert r.returncode == 1 and "no such command: frobnicate" in r.stderr
    r = _rt(tmp_path, "kill")
    assert r.returncode == 1 and "requires a container ID" in r.stderr
    assert _rt(tmp_path, "delete", "--force", "nope").returncode == 0


def test_errors_go_to_the_json_log(tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    r = _rt(tmp_path, "--log", str(log), "--log-format", "json", "state", "nope")
    assert r.returncode == 1 and r.stderr == ""
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and entry["msg"] == "container does not exist: nope" and entry["time"]


def test_create_reports_bundle_problems(tmp_path: Path) -> None:
    r = _rt(tmp_path, "create", "--bundle", str(tmp_path / "missing"), "c1")
    assert r.returncode == 1 and "config.json not found" in r.stderr
    b = tmp_path / "b"
    b.mkdir()
    (b / "config.json").write_text("{not json")
    r = _rt(tmp_path, "create", "--bundle", str(b), "c1")
    assert r.returncode == 1 and "invalid config.json" in r.stderr
    (b / "config.json").write_text(json.dumps({"process": {"args": ["true"]}, "root": {"path": "nowhere"},
                                               "linux": {"namespaces": [{"type": "mount"}]}}))
    r = _rt(tmp_path, "create", "--bundle", str(b), "c1")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = _rt(tmp_path, "create", "--bundle", str(b), "../evil")
    assert r.returncode == 1 and "invalid container id" in r.stderr
    assert not (tmp_path / "root" / "c1").exists()


def test_features_and_version(tmp_path: Path) -> None:
    r = _rt(tmp_path, "features")
    assert r.returncode == 0
    assert json.loads(r.stdout)["linux"]["seccomp"]["enabled"] is True
    assert main(["--version"]) == 0


def test_ids_and_signals() -> None:
    assert valid_id("abc-DEF_1.2+x") and not valid_id("a/b") and not valid_id("..") and not valid_id("")
    assert parse_signal("KILL") == parse_signal("SIGKILL") == parse_signal("9") == 9
    assert parse_signal("sigterm") == 15 and parse_signal("RTMIN+1") == 35
    with pytest.raises(CommandError):
        parse_signal("NOPE")


def test_list_is_empty_without_containers(tmp_path: Path) -> None:
    os.makedirs(tmp_path / "root")
    r = _rt(tmp_path, "list")
    assert r.returncode == 0 and json.loads(r.stdout) == []
