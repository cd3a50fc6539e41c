"""APIClient against a real HTTP server on a Unix socket."""

from __future__ import annotations

import io
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from dockwright.client import APIClient, APIError, DaemonUnavailable
from dockwright.client.hijack import encode_frame
from dockwright.errors import Conflict, NotFound, Unavailable
from tests.unit.client.fake_engine import FakeEngine, Reply, error_reply, json_reply, stream_reply


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    with FakeEngine() as eng:
        yield eng


def test_get_json_is_versioned_and_keeps_the_connection(engine: FakeEngine) -> None:
    engine.route("GET", "/version", json_reply({"Version": "x", "ApiVersion": "1.47"}))
    with APIClient(engine.host) as c:
        assert c.get_json("/version")["Version"] == "x"
        assert c.get_json("/version")["Version"] == "x"
        assert c.api_version == "1.47"
    paths = [(r.path, r.version) for r in engine.requests]
    assert paths == [("/_ping", ""), ("/version", "1.47"), ("/version", "1.47")]


def test_version_negotiates_down_to_an_older_daemon() -> None:
    with FakeEngine(api_version="1.41") as eng:
        eng.route("GET", "/info", json_reply({}))
        c = APIClient(eng.host)
        c.get_json("/info")
        c.close()
        assert c.api_version == "1.41"
        assert eng.last("GET", "/info").version == "1.41"


def test_pinned_version_skips_the_ping(engine: FakeEngine) -> None:
    engine.route("GET", "/info", json_reply({}))
    c = APIClient(engine.host, version="1.44", negotiate=False)
    c.get_json("/info")
    c.close()
    assert [(r.path, r.version) for r in engine.requests] == [("/info", "1.44")]


def test_api_errors_carry_status_message_and_kind(engine: FakeEngine) -> None:
    engine.route("GET", "/images/nope/json", error_reply(404, "No such image: nope:latest"))
    engine.route("DELETE", "/images/busy", error_reply(409, "image is being used"))
    engine.route("GET", "/plain", Reply(500, b"boom\n"))
    with APIClient(engine.host) as c:
        with pytest.raises(APIError) as ei:
            c.get_json("/images/nope/json")
        assert ei.value.status == 404 and ei.value.message == "No such image: nope:latest"
        assert isinstance(ei.value, NotFound)
        with pytest.raises(Conflict):
            c.delete("/images/busy")
        with pytest.raises(APIError, match="^boom$"):
            c.get("/plain")


def test_params_encoding(engine: FakeEngine) -> None:
    engine.route("GET", "/images/json", json_reply([]))
    with APIClient(engine.host) as c:
        c.get_json("/images/json", params={"all": True, "digests": False, "filters": {"dangling": {"true": True}},
                                           "names": ["a", "b"], "skip": None})
    q = engine.last("GET", "/images/json").query
    assert q == {"all": ["1"], "filters": ['{"dangling":{"true":true}}'], "names": ["a", "b"]}


def test_no_daemon_raises_daemon_unavailable() -> None:
    d = tempfile.mkdtemp()
    host = f"unix://{d}/missing.sock"
    try:
        with pytest.raises(DaemonUnavailable) as ei:
            APIClient(host).get("/version")
        assert isinstance(ei.value, Unavailable)
        assert str(ei.value).startswith(f"Cannot connect to the dockwright daemon at {host}. Is the daemon running?")
        assert "dockwright daemon" in str(ei.value)
        # a socket file nobody listens on
        path = os.path.join(d, "dead.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.close()
        with pytest.raises(DaemonUnavailable):
            APIClient(f"unix://{path}").get("/version")
    finally:
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


def test_tcp_connection_refused_is_daemon_unavailable() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(DaemonUnavailable, match=f"tcp://127.0.0.1:{port}"):
        APIClient(f"tcp://127.0.0.1:{port}").get("/version")


def test_stale_keepalive_connection_is_retried(engine: FakeEngine) -> None:
    engine.route("GET", "/info", json_reply({"ok": 1}))
    c = APIClient(engine.host)
    assert c.get_json("/info") == {"ok": 1}
    assert c._conn is not None and c._conn.sock is not None
    c._conn.sock.shutdown(socket.SHUT_RDWR)  # as if the daemon had closed an idle connection
    assert c.get_json("/info") == {"ok": 1}
    c.close()


def test_stream_json_yields_objects_as_they_come(engine: FakeEngine) -> None:
    def events(_req: object) -> Reply:
        # one object split across chunks, two in one chunk, one without a newline
        chunks = [b'{"a":', b'1}\n{"b":2}\n{"c":"\xc3', b'\xa9"}', b'{"d":4}']
        return Reply(200, iter(chunks), {"Content-Type": "application/json"})

    engine.route("GET", "/events", events)
    with APIClient(engine.host) as c:
        assert list(c.stream_json("GET", "/events")) == [{"a": 1}, {"b": 2}, {"c": "é"}, {"d": 4}]


def test_stream_error_status_raises_before_streaming(engine: FakeEngine) -> None:
    engine.route("POST", "/images/load", error_reply(400, "not a tar"))
    with APIClient(engine.host) as c, pytest.raises(APIError, match="not a tar"):
        c.open("POST", "/images/load", body=io.BytesIO(b"xx"))


def test_request_body_from_a_file_is_streamed_chunked(engine: FakeEngine, tmp_path: object) -> None:
    engine.route("POST", "/images/create", lambda req: stream_reply([{"status": f"got {len(req.body)}"}]))
    data = os.urandom(300_000)
    with APIClient(engine.host) as c:
        with c.open("POST", "/images/create", params={"fromSrc": "-"}, body=io.BytesIO(data)) as resp:
            assert list(resp.iter_json()) == [{"status": "got 300000"}]

        def gen() -> Iterator[bytes]:
            yield b"abc"
            yield b"def"

        with c.open("POST", "/images/create", body=gen()) as resp:
            assert list(resp.iter_json()) == [{"status": "got 6"}]
    req = engine.last("POST", "/images/create")
    assert req.headers.get("Transfer-Encoding") == "chunked"
    assert engine.requests[-2].body == data


def test_raw_response_streaming(engine: FakeEngine) -> None:
    blob = os.urandom(200_000)
    engine.route("GET", "/images/get", lambda _r: Reply(200, iter([blob[:1000], blob[1000:]]),
                                                          {"Content-Type": "application/x-tar"}))
    with APIClient(engine.host) as c, c.open("GET", "/images/get", params={"names": ["a"]}) as resp:
        assert resp.content_type == "application/x-tar"
        assert b"".join(resp.iter_chunks()) == blob


def test_hijack_upgrades_and_demuxes_frames(engine: FakeEngine) -> None:
    def attach(req: object) -> Reply:
        def run(sock: socket.socket) -> None:
            sock.sendall(encode_frame(1, b"hello ") + encode_frame(2, b"err"))
            got = b""
            while not got.endswith(b"\n"):
                chunk = sock.recv(100)
                if not chunk:
                    break
                got += chunk
            sock.sendall(encode_frame(1, b"echo:" + got))
            sock.shutdown(socket.SHUT_WR)

        return Reply(upgrade=run)

    engine.route("POST", "/containers/x/attach", attach)
    c = APIClient(engine.host)
    with c.hijack("POST", "/containers/x/attach", params={"stream": True, "stdin": True}) as h:
        frames = h.frames()
        assert next(frames) == (1, b"hello ")
        assert next(frames) == (2, b"err")
        h.sendall(b"ping\n")
        h.close_write()
        assert list(frames) == [(1, b"echo:ping\n")]
    req = engine.last("POST", "/containers/x/attach")
    assert req.headers["Upgrade"] == "tcp" and req.headers["Connection"] == "Upgrade"
    c.close()


def test_hijack_error_is_an_api_error(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/nope/attach", error_reply(404, "No such container: nope"))
    with pytest.raises(NotFound, match="No such container: nope"):
        APIClient(engine.host).hijack("POST", "/containers/nope/attach")


def test_head_and_ping(engine: FakeEngine) -> None:
    with APIClient(engine.host) as c:
        assert c.ping()["OSType"] == "linux"
        status, headers, body = c.head("/_ping", versioned=False)
        assert status == 200 and body == b""


def test_json_body_is_sent_as_json(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/create", lambda req: json_reply({"Id": req.json()["Image"]}, 201))
    with APIClient(engine.host) as c:
        assert c.post_json("/containers/create", json_body={"Image": "busybox"}) == {"Id": "busybox"}
    assert engine.last("POST", "/containers/create").headers["Content-Type"] == "application/json"
    assert json.loads(engine.last("POST", "/containers/create").body) == {"Image": "busybox"}


def test_tcp_with_tls_verify_and_client_certificate(tmp_path: Any) -> None:
    from dockwright.client import resolve_tls
    from tests.support.certs import make_tls

    certs = make_tls(tmp_path)
    tls_files = (str(certs["server-cert.pem"]), str(certs["server-key.pem"]), str(certs["ca.pem"]))
    with FakeEngine(tls=tls_files) as eng:
        eng.route("GET", "/version", json_reply({"Version": "tls"}))
        host = eng.host.replace("127.0.0.1", "localhost")
        cfg = resolve_tls(env={"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
        with APIClient(host, cfg) as c:
            assert c.get_json("/version") == {"Version": "tls"}
        # --tls without verification still presents the client certificate
        with APIClient(host, resolve_tls(tls=True, env={"DOCKER_CERT_PATH": str(tmp_path)})) as c:
            assert c.get_json("/version") == {"Version": "tls"}
        # without a client certificate the daemon refuses the handshake
        with pytest.raises(DaemonUnavailable):
            APIClient(host, resolve_tls(tlsverify=True, cacert=str(certs["ca.pem"]),
                                        env={"DOCKER_CERT_PATH": str(tmp_path / "none")})).get("/version")
        # a plain HTTP client against a TLS port fails clearly too
        with pytest.raises(DaemonUnavailable):
            APIClient(host, timeout=5).get("/version")
