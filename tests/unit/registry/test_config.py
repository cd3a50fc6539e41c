"""Configuration: a registry:2 user's file, REGISTRY_* overrides, defaults, durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockwright.errors import InvalidParameter
from dockwright.registry.config import DEFAULT_ADDR, DEFAULT_ROOT, load, parse_duration, split_addr

REGISTRY2_FILE = """
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /srv/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: true
      age: 72h
      interval: 24h
    readonly:
      enabled: false
http:
  addr: :5000
  secret: asecretforlocaldevelopment
  headers:
    X-Content-Type-Options: [nosniff]
  tls:
    certificate: /certs/domain.crt
    key: /certs/domain.key
auth:
  htpasswd:
    realm: basic-realm
    path: /auth/htpasswd
proxy:
  remoteurl: https://registry-1.docker.io
  username: u
  password: p
  ttl: 24h
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
notifications:
  endpoints: []
"""


def test_registry2_file(tmp_path: Path) -> None:
    p = tmp_path / "config.yml"
    p.write_text(REGISTRY2_FILE)
    cfg = load(str(p), environ={})
    assert cfg.addr == ":5000" and split_addr(cfg.addr) == ("0.0.0.0", 5000)
    assert cfg.storage_driver == "filesystem" and cfg.root == "/srv/registry"
    assert cfg.delete_enabled and not cfg.readonly
    assert cfg.upload_purge_age == 72 * 3600
    assert (cfg.tls_certificate, cfg.tls_key) == ("/certs/domain.crt", "/certs/domain.key")
    assert cfg.auth == "htpasswd" and cfg.htpasswd.path == "/auth/htpasswd" and cfg.htpasswd.realm == "basic-realm"
    assert cfg.proxy.remoteurl == "https://registry-1.docker.io" and cfg.proxy.ttl == 24 * 3600
    assert cfg.proxy.username == "u"


def test_env_overrides_file(tmp_path: Path) -> None:
    p = tmp_path / "config.yml"
    p.write_text(REGISTRY2_FILE)
    env = {
        "REGISTRY_HTTP_ADDR": "127.0.0.1:6000",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data",
        "REGISTRY_STORAGE_DELETE_ENABLED": "false",
        "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED": "true",
        "REGISTRY_PROXY_REMOTEURL": "http://127.0.0.1:1/",
        "UNRELATED": "x",
    }
    cfg = load(str(p), environ=env)
    assert cfg.addr == "127.0.0.1:6000" and cfg.root == "/data"
    assert not cfg.delete_enabled and cfg.readonly
    assert cfg.proxy.remoteurl == "http://127.0.0.1:1"


def test_defaults_without_file() -> None:
    cfg = load(None, environ={})
    assert cfg.addr == DEFAULT_ADDR == "127.0.0.1:5000"
    assert cfg.root == DEFAULT_ROOT == "/var/lib/dockwright-registry"
    assert not cfg.delete_enabled and not cfg.readonly and cfg.auth == ""


def test_s3_and_token_sections() -> None:
    cfg = load(None, environ={
        "REGISTRY_STORAGE_S3_BUCKET": "b", "REGISTRY_STORAGE_S3_REGION": "eu-west-1",
        "REGISTRY_STORAGE_S3_REGIONENDPOINT": "http://127.0.0.1:9000",
    })
    assert cfg.storage_driver == "s3" and cfg.storage_params["bucket"] == "b"
    with pytest.raises(InvalidParameter):
        load(None, environ={"REGISTRY_AUTH_TOKEN_REALM": "http://x"})


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter):
        load(str(tmp_path / "missing.yml"), environ={})
    p = tmp_path / "bad.yml"
    p.write_text("- a\n- b\n")
    with pytest.raises(InvalidParameter):
        load(str(p), environ={})


def test_durations() -> None:
    assert parse_duration("168h", 0) == 168 * 3600
    assert parse_duration("1h30m", 0) == 5400
    assert parse_duration("250ms", 0) == 0.25
    assert parse_duration(30, 0) == 30
    assert parse_duration(None, 7) == 7
    with pytest.raises(InvalidParameter):
        parse_duration("soon", 0)


def test_cmd_reports_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dockwright.registry.cmd import main

    assert main(["serve", str(tmp_path / "missing.yml")]) == 1
    assert "cannot read registry configuration" in capsys.readouterr().err
    bad = tmp_path / "two.yml"
    bad.write_text("storage:\n  filesystem: {rootdirectory: /x}\n  s3: {bucket: b}\n")
    assert main(["gc", str(bad)]) == 1
    assert "configure one" in capsys.readouterr().err


def test_cmd_gc_on_empty_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dockwright.registry.cmd import main

    cfg = tmp_path / "c.yml"
    cfg.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'root'}\n")
    assert main(["gc", str(cfg), "--dry-run", "--grace-period", "0s"]) == 0
    assert "0 blobs marked, would delete 0 blobs" in capsys.readouterr().out
