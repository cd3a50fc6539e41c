from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockwright.config import DaemonConfig, from_env, load_file
from dockwright.errors import InvalidParameter


def test_daemon_json_keys(tmp_path: Path) -> None:
    p = tmp_path / "daemon.json"
    p.write_text(json.dumps({
        "data-root": "/srv/dw", "hosts": ["unix:///tmp/x.sock"], "debug": True,
        "runtimes": {"mine": {"path": "/usr/bin/mine", "runtimeArgs": ["--x"]}},
        "insecure-registries": ["reg:5000"], "max-concurrent-downloads": 6, "live-restore": True,
    }))
    cfg = load_file(p)
    assert cfg.data_root == "/srv/dw" and cfg.hosts == ("unix:///tmp/x.sock",) and cfg.debug
    assert cfg.runtimes["mine"].path == "/usr/bin/mine" and cfg.runtimes["mine"].args == ("--x",)
    assert cfg.max_concurrent_downloads == 6


@pytest.mark.parametrize("content", ['{"nope": 1}', "[1]", "{bad", '{"debug": "yes"}',
                                     '{"max-concurrent-downloads": "3"}', '{"runtimes": {"x": {}}}'])
def test_bad_config(tmp_path: Path, content: str) -> None:
    p = tmp_path / "daemon.json"
    p.write_text(content)
    with pytest.raises(InvalidParameter):
        load_file(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="does not exist"):
        load_file(tmp_path / "none.json")


def test_env_overrides_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKWRIGHT_DATA_ROOT", "/env/root")
    monkeypatch.setenv("DOCKWRIGHT_INSECURE_REGISTRIES", "a:1,b:2")
    cfg = from_env(DaemonConfig(data_root="/file/root"))
    assert cfg.data_root == "/env/root" and cfg.insecure_registries == ("a:1", "b:2")
