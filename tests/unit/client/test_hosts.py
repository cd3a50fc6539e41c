from __future__ import annotations

from pathlib import Path

import pytest

from dockwright.client.hosts import DEFAULT_HOST, Host, parse_host, resolve_host, resolve_tls
from dockwright.errors import InvalidParameter


def test_host_precedence() -> None:
    env = {"DOCKWRIGHT_HOST": "unix:///a.sock", "DOCKER_HOST": "unix:///b.sock"}
    assert resolve_host("tcp://h:1", env) == "tcp://h:1"
    assert resolve_host(None, env) == "unix:///a.sock"
    assert resolve_host(None, {"DOCKER_HOST": "unix:///b.sock"}) == "unix:///b.sock"
    assert resolve_host(None, {}) == DEFAULT_HOST == "unix:///run/dockwright.sock"
    assert resolve_host("", {"DOCKWRIGHT_HOST": ""}) == DEFAULT_HOST


@pytest.mark.parametrize(
    ("value", "tls", "expected"),
    [
        ("unix:///run/x.sock", False, Host("unix", path="/run/x.sock")),
        ("/run/x.sock", False, Host("unix", path="/run/x.sock")),
        ("tcp://1.2.3.4:2375", False, Host("tcp", address="1.2.3.4", port=2375)),
        ("tcp://example.com", False, Host("tcp", address="example.com", port=2375)),
        ("tcp://example.com", True, Host("tcp", address="example.com", port=2376)),
        ("tcp://:99", False, Host("tcp", address="localhost", port=99)),
        ("tcp://[::1]:5000", False, Host("tcp", address="::1", port=5000)),
        ("localhost:1234", False, Host("tcp", address="localhost", port=1234)),
    ],
)
def test_parse_host(value: str, tls: bool, expected: Host) -> None:
    assert parse_host(value, tls=tls) == expected


@pytest.mark.parametrize("value", ["unix://", "ssh://me@host", "tcp://h:notaport", "tcp://h:70000"])
def test_parse_host_rejects(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_host(value)


def test_tls_settings_follow_docker(tmp_path: Path) -> None:
    assert resolve_tls(env={}) is None
    cfg = resolve_tls(tls=True, env={"DOCKER_CERT_PATH": str(tmp_path)})
    assert cfg is not None and not cfg.verify and cfg.ca_cert is None
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    cfg = resolve_tls(env={"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert cfg is not None and cfg.verify
    assert cfg.ca_cert == str(tmp_path / "ca.pem") and cfg.key == str(tmp_path / "key.pem")
    cfg = resolve_tls(tlsverify=True, cacert="/my/ca", env={"DOCKER_CERT_PATH": str(tmp_path)})
    assert cfg is not None and cfg.ca_cert == "/my/ca" and cfg.cert == str(tmp_path / "cert.pem")
