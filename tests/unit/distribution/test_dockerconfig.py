"""The CLI's credential file: keys, auths entries, identity tokens, X-Registry-Auth."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from dockwright.cli.commands.dockerconfig import HUB_KEY, DockerConfig, registry_auth_header, server_key


def test_server_keys() -> None:
    assert server_key("") == HUB_KEY
    assert server_key("docker.io") == HUB_KEY
    assert server_key("https://index.docker.io/v1/") == HUB_KEY
    assert server_key("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"
    assert server_key("reg.example") == "reg.example"


def test_store_get_erase_keeps_other_keys(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "c")}
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text(json.dumps({"psFormat": "{{.ID}}"}))
    cfg = DockerConfig(env)
    cfg.store("http://127.0.0.1:5000", "alice", "s3cr:et")
    raw = json.loads((tmp_path / "c" / "config.json").read_text())
    assert raw["psFormat"] == "{{.ID}}"
    assert base64.b64decode(raw["auths"]["127.0.0.1:5000"]["auth"]) == b"alice:s3cr:et"
    got = DockerConfig(env).get("127.0.0.1:5000")
    assert got == {"username": "alice", "password": "s3cr:et", "serveraddress": "127.0.0.1:5000"}
    cfg.store("reg.example", "bob", "", identity_token="refresh-me")
    assert DockerConfig(env).get("reg.example")["identitytoken"] == "refresh-me"
    assert DockerConfig(env).erase("127.0.0.1:5000")
    assert DockerConfig(env).get("127.0.0.1:5000") == {}
    assert not DockerConfig(env).erase("never.example")


def test_registry_auth_header() -> None:
    assert registry_auth_header({}) == "e30="
    h = registry_auth_header({"username": "a", "password": "b?>"})
    assert json.loads(base64.urlsafe_b64decode(h)) == {"username": "a", "password": "b?>"}
