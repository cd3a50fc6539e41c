"""Container commands against a real HTTP server with canned Engine API answers.

``golden/create_bodies.json`` holds ``POST /containers/create`` requests the
docker CLI (28.2.2) sent for the same command lines, captured through a
logging proxy in front of a real dockerd: our bodies must be the same JSON.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockwright.cli.commands.container import api_timestamp
from dockwright.cli.commands.container_ls import displayable_ports, go_quote
from dockwright.cli.commands.container_opts import go_duration_ns, ram_in_bytes
from dockwright.cli.commands.container_run import status_code_for
from dockwright.cli.main import main
from dockwright.client.hijack import encode_frame
from tests.unit.client.fake_engine import FakeEngine, Reply, error_reply, json_reply, stream_reply

GOLDEN = json.loads((Path(__file__).parent / "golden" / "create_bodies.json").read_text())
CID = "c0ffee" + "1" * 58


def dw(eng: FakeEngine, *args: str) -> int:
    return main(["-H", eng.host, *args])


def created(eng: FakeEngine, warnings: list[str] | None = None) -> None:
    eng.route("POST", "/containers/create", json_reply({"Id": CID, "Warnings": warnings or []}, 201))


# --------------------------------------------------------------------------- create bodies vs docker's


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: " ".join(c["args"])[:60])
def test_create_body_is_what_docker_sends(case: dict[str, Any], engine: FakeEngine, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in GOLDEN["files"].items():
        (tmp_path / name).write_text(text)
    for k, v in GOLDEN["env"].items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("B", raising=False)
    created(engine)
    engine.route("POST", f"/containers/{CID}/wait", json_reply({"StatusCode": 0}))
    engine.route("POST", f"/containers/{CID}/start", Reply(204))
    args = [str(tmp_path / a) if a in GOLDEN["files"] else a for a in case["args"]]
    assert dw(engine, *args) == 0, capsys.readouterr().err
    req = engine.last("POST", "/containers/create")
    assert req.json() == case["body"]
    from urllib.parse import parse_qs

    assert req.query == parse_qs(case["query"])
    assert capsys.readouterr().out == CID + "\n"


def test_mount_link_and_mac_bodies(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    """What docker CLI 28.2.2 sent (API 1.47) for --mount, --link and --mac-address, captured
    from it by a server that logs the create request."""
    created(engine)
    assert dw(engine, "create", "--mount", "type=bind,src=/tmp,dst=/b,readonly",
              "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
              "--mount", "type=bind,source=/tmp,target=/c,bind-propagation=rshared",
              "--link", "foo", "--link", "bar:baz", "--mac-address", "02:42:ac:11:00:99", "clibox") == 0
    body = engine.last("POST", "/containers/create").json()
    assert body["HostConfig"]["Mounts"] == [
        {"Type": "bind", "Source": "/tmp", "Target": "/b", "ReadOnly": True},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 1016}},
        {"Type": "bind", "Source": "/tmp", "Target": "/c", "BindOptions": {"Propagation": "rshared"}}]
    assert body["HostConfig"]["Links"] == ["foo", "bar:baz"]
    assert body["NetworkingConfig"]["EndpointsConfig"]["default"]["MacAddress"] == "02:42:ac:11:00:99"
    capsys.readouterr()
    assert dw(engine, "create", "--mount", "type=bind,src=/tmp", "clibox") == 125
    assert 'invalid argument "type=bind,src=/tmp" for "--mount" flag: target is required' in capsys.readouterr().err


def test_create_warnings_and_errors(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    created(engine, ["Your kernel does not support swap limit capabilities."])
    assert dw(engine, "create", "busybox") == 0
    out = capsys.readouterr()
    assert out.out == CID + "\n"
    assert out.err == "WARNING: Your kernel does not support swap limit capabilities.\n"
    engine.route("POST", "/containers/create", error_reply(409, 'Conflict. The container name "/x" is already in use'))
    assert dw(engine, "create", "--name", "x", "busybox") == 125
    assert capsys.readouterr().err == (
        'dockwright: Error response from daemon: Conflict. The container name "/x" is already in use\n\n'
        "Run 'dockwright create --help' for more information\n")


def test_flag_values_and_conflicts(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert dw(engine, "run", "-m", "12x", "busybox") == 125
    assert capsys.readouterr().err == (
        'invalid argument "12x" for "-m, --memory" flag: invalid suffix: \'x\'\n\n'
        "Usage:  dockwright run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
        "Run 'dockwright run --help' for more information\n")
    assert dw(engine, "container", "run", "--cpus", "abc", "busybox") == 125
    assert '"--cpus" flag: failed to parse abc as a rational number' in capsys.readouterr().err
    assert dw(engine, "run", "--rm", "--restart", "always", "busybox") == 125
    assert capsys.readouterr().err == ("dockwright: conflicting options: cannot specify both --restart and --rm\n\n"
                                       "Run 'dockwright run --help' for more information\n")
    assert dw(engine, "run", "-d", "-a", "stdout", "busybox") == 1
    assert capsys.readouterr().err == "conflicting options: cannot specify both --attach and --detach\n"
    assert dw(engine, "run", "--no-healthcheck", "--health-cmd", "true", "busybox") == 125
    assert "--no-healthcheck conflicts with --health-* options" in capsys.readouterr().err
    assert not [r for r in engine.requests if r.path == "/containers/create"]


def test_flags_stop_at_the_image(engine: FakeEngine) -> None:
    created(engine)
    assert dw(engine, "create", "-e", "A=1", "busybox", "ls", "-l", "--rm", "--", "-e") == 0
    body = engine.last("POST", "/containers/create").json()
    assert body["Cmd"] == ["ls", "-l", "--rm", "--", "-e"] and body["Env"] == ["A=1"]


# --------------------------------------------------------------------------- run


class Session:
    """A scripted container: what attach sends, what the process read on stdin, its exit code."""

    def __init__(self, eng: FakeEngine, frames: list[tuple[int, bytes]], status: int = 0, *,
                 echo_stdin: bool = False, tty: bool = False) -> None:
        self.stdin = b""
        self.started = threading.Event()
        self.frames = frames
        self.echo = echo_stdin
        self.tty = tty
        created(eng)
        eng.route("POST", f"/containers/{CID}/attach", Reply(upgrade=self.attach))
        eng.route("POST", f"/containers/{CID}/wait", self.wait)
        eng.route("POST", f"/containers/{CID}/start", self.start)
        self.status = status

    def start(self, _req: Any) -> Reply:
        self.started.set()
        return Reply(204)

    def wait(self, _req: Any) -> Reply:
        def body() -> Iterator[bytes]:
            yield b""
            self.started.wait(5)
            time.sleep(0.05)
            yield json.dumps({"StatusCode": self.status, "Error": None}).encode() + b"\n"

        return Reply(200, body(), {"Content-Type": "application/json"})

    def attach(self, conn: socket.socket) -> None:
        assert self.started.wait(5)
        if self.echo:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                self.stdin += data
            self.frames.append((1, b"got:" + self.stdin))
        for stream, payload in self.frames:
            conn.sendall(payload if self.tty else encode_frame(stream, payload))
        conn.shutdown(socket.SHUT_RDWR)


def test_run_attached_flow_and_exit_code(engine: FakeEngine, capfd: pytest.CaptureFixture[str]) -> None:
    Session(engine, [(1, b"hello\n"), (2, b"oops\n")], status=3)
    assert dw(engine, "run", "--rm", "busybox", "sh") == 3
    out = capfd.readouterr()
    assert out.out == "hello\n" and out.err == "oops\n"
    seq = [(r.method, r.path) for r in engine.requests if r.path.startswith("/containers")]
    assert seq == [("POST", "/containers/create"), ("POST", f"/containers/{CID}/attach"),
                   ("POST", f"/containers/{CID}/wait"), ("POST", f"/containers/{CID}/start")]
    assert engine.last("POST", f"/containers/{CID}/attach").query == {
        "stream": ["1"], "stdout": ["1"], "stderr": ["1"]}
    assert engine.last("POST", f"/containers/{CID}/wait").query == {"condition": ["removed"]}


def test_run_stdin_is_copied_then_half_closed(engine: FakeEngine, capfd: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    s = Session(engine, [], echo_stdin=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"line1\nline2\n")))
    assert dw(engine, "run", "-i", "--detach-keys", "ctrl-x,x", "busybox", "cat") == 0
    assert capfd.readouterr().out == "got:line1\nline2\n"
    assert s.stdin == b"line1\nline2\n"
    assert engine.last("POST", f"/containers/{CID}/attach").query == {
        "stream": ["1"], "stdin": ["1"], "stdout": ["1"], "stderr": ["1"], "detachKeys": ["ctrl-x,x"]}
    assert engine.last("POST", f"/containers/{CID}/wait").query == {"condition": ["next-exit"]}


def test_run_detached_prints_the_id(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    Session(engine, [])
    assert dw(engine, "run", "-d", "busybox", "sleep", "9") == 0
    assert capsys.readouterr().out == CID + "\n"
    assert not [r for r in engine.requests if r.path.endswith("/attach")]
    body = engine.last("POST", "/containers/create").json()
    assert (body["AttachStdout"], body["AttachStderr"], body["AttachStdin"]) == (False, False, False)


def test_run_pulls_a_missing_image(engine: FakeEngine, capfd: pytest.CaptureFixture[str]) -> None:
    answers = [error_reply(404, "No such image: nope:latest"), json_reply({"Id": CID, "Warnings": []}, 201)]
    engine.route("POST", "/containers/create", lambda _req: answers.pop(0))
    engine.route("POST", "/images/create", stream_reply([{"status": "Pulling from library/nope", "id": "latest"},
                                                         {"status": "Status: Downloaded newer image for nope:latest"}]))
    engine.route("POST", f"/containers/{CID}/wait", json_reply({"StatusCode": 0}))
    engine.route("POST", f"/containers/{CID}/start", Reply(204))
    assert dw(engine, "run", "-d", "nope") == 0
    out = capfd.readouterr()
    assert out.out == CID + "\n"  # the pull's progress goes to stderr, as docker's
    assert out.err.startswith("Unable to find image 'nope:latest' locally\n")
    assert "Status: Downloaded newer image for nope:latest" in out.err
    assert engine.last("POST", "/images/create").query == {"fromImage": ["nope"], "tag": ["latest"]}


def test_run_missing_image_that_cannot_be_pulled(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("POST", "/containers/create", error_reply(404, "No such image: nope:latest"))
    engine.route("POST", "/images/create", error_reply(404, "pull access denied for nope"))
    assert dw(engine, "run", "nope") == 125
    assert capsys.readouterr().err == (
        "Unable to find image 'nope:latest' locally\n"
        "dockwright: Error response from daemon: pull access denied for nope\n\n"
        "Run 'dockwright run --help' for more information\n")
    assert dw(engine, "create", "--pull", "never", "nope") == 125
    assert capsys.readouterr().err == (
        "dockwright: Error response from daemon: No such image: nope:latest\n\n"
        "Run 'dockwright create --help' for more information\n")


@pytest.mark.parametrize("message,code", [
    ('exec: "nosuch": executable file not found in $PATH', 127),
    ('exec: "/etc": permission denied', 126),
    ("cgroup trouble", 125),
])
def test_run_start_failure_exit_codes(engine: FakeEngine, capsys: pytest.CaptureFixture[str], message: str,
                                      code: int) -> None:
    Session(engine, [])
    engine.route("POST", f"/containers/{CID}/start", error_reply(400, message))
    assert dw(engine, "run", "busybox") == code
    assert capsys.readouterr().err == (f"dockwright: Error response from daemon: {message}\n\n"
                                       "Run 'dockwright run --help' for more information\n")


def test_start_attach_and_plain(engine: FakeEngine, capfd: pytest.CaptureFixture[str]) -> None:
    Session(engine, [(1, b"again\n")], status=2)
    engine.route("GET", f"/containers/{CID}/json", json_reply({"Id": CID, "Config": {"Tty": False}}))
    engine.route("GET", "/containers/nope/json", error_reply(404, "No such container: nope"))
    assert dw(engine, "start", "-a", CID) == 2
    assert capfd.readouterr().out == "again\n"
    engine.route("POST", "/containers/nope/start", error_reply(404, "No such container: nope"))
    assert dw(engine, "start", CID, "nope") == 1
    out = capfd.readouterr()
    assert out.out == CID + "\n"
    assert out.err == ("Error response from daemon: No such container: nope\n"
                       "Error: failed to start containers: nope\n")


# --------------------------------------------------------------------------- exec


def test_exec_body_stream_and_exit_code(engine: FakeEngine, capfd: pytest.CaptureFixture[str]) -> None:
    eid = "e" * 64

    def start(conn: socket.socket) -> None:
        conn.sendall(encode_frame(1, b"in exec\n"))
        conn.shutdown(socket.SHUT_RDWR)

    engine.route("POST", "/containers/box/exec", json_reply({"Id": eid}, 201))
    engine.route("POST", f"/exec/{eid}/start", Reply(upgrade=start))
    engine.route("GET", f"/exec/{eid}/json", json_reply({"ExitCode": 4, "Running": False}))
    sys_stdin = sys.stdin
    try:
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
        assert dw(engine, "exec", "-i", "-u", "0", "-w", "/tmp", "-e", "A=b", "--privileged", "box", "true") == 4
    finally:
        sys.stdin = sys_stdin
    assert capfd.readouterr().out == "in exec\n"
    # what docker 28.2.2 sends for the same command line
    assert engine.last("POST", "/containers/box/exec").json() == {
        "User": "0", "Privileged": True, "Tty": False, "AttachStdin": True, "AttachStderr": True,
        "AttachStdout": True, "Detach": False, "DetachKeys": "", "Env": ["A=b"], "WorkingDir": "/tmp",
        "Cmd": ["true"]}
    assert engine.last("POST", f"/exec/{eid}/start").json() == {"Detach": False, "Tty": False}
    engine.route("POST", f"/exec/{eid}/start", Reply(200))
    assert dw(engine, "exec", "-d", "box", "true") == 0
    assert engine.last("POST", "/containers/box/exec").json()["AttachStdout"] is False
    assert engine.last("POST", f"/exec/{eid}/start").json() == {"Detach": True, "Tty": False}


# --------------------------------------------------------------------------- ps

NOW = time.time()
PS = [
    {"Id": "a" * 64, "Names": ["/web"], "Image": "busybox", "ImageID": "sha256:" + "b" * 64,
     "Command": "sh -c 'sleep 100 # a \"long\" one'", "Created": int(NOW - 120), "State": "running",
     "Status": "Up 2 minutes", "Labels": {"b": "2", "a": "1"}, "SizeRw": 12, "SizeRootFs": 1982496,
     "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
               {"PrivatePort": 9001, "Type": "tcp"}, {"PrivatePort": 9000, "Type": "tcp"}],
     "Mounts": [], "NetworkSettings": {"Networks": {"bridge": {}}}},
    {"Id": "c" * 64, "Names": ["/done"], "Image": "sha256:" + "d" * 64, "ImageID": "sha256:" + "d" * 64,
     "Command": "echo", "Created": int(NOW - 7200), "State": "exited", "Status": "Exited (0) 2 hours ago",
     "Labels": None, "Ports": [], "Mounts": []},
]


def test_ps_table_and_formats(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/containers/json", json_reply(PS))
    assert dw(engine, "ps", "-a") == 0
    ports = "9000-9001/tcp, 0.0.0.0:8080->80/tcp"
    assert capsys.readouterr().out == (
        "CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS                   "
        f"{'PORTS':<{len(ports) + 3}}NAMES\n"
        "aaaaaaaaaaaa   busybox        \"sh -c 'sleep 100 # …\"   2 minutes ago   Up 2 minutes             "
        f"{ports}   web\n"
        "cccccccccccc   dddddddddddd   \"echo\"                   2 hours ago     Exited (0) 2 hours ago   "
        f"{'':<{len(ports) + 3}}done\n")
    assert engine.last("GET", "/containers/json").query == {"all": ["1"]}
    assert dw(engine, "ps", "-q", "-n", "2") == 0
    assert capsys.readouterr().out == "aaaaaaaaaaaa\ncccccccccccc\n"
    assert engine.last("GET", "/containers/json").query == {"limit": ["2"]}
    assert dw(engine, "container", "ls", "-l", "--no-trunc", "--format", "{{.ID}} {{.Command}} {{.Labels}}",
              "--filter", "status=exited") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a" * 64 + ' "sh -c \'sleep 100 # a \\"long\\" one\'" a=1,b=2'
    q = engine.last("GET", "/containers/json").query
    assert q["limit"] == ["1"] and json.loads(q["filters"][0]) == {"status": {"exited": True}}
    assert dw(engine, "ps", "--format", "table {{.Names}}\t{{.Size}}") == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["NAMES     SIZE", "web       12B (virtual 1.98MB)"]
    assert engine.last("GET", "/containers/json").query == {"size": ["1"]}
    assert dw(engine, "ps", "--format", "json") == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["Names"] == "web" and first["Networks"] == "bridge" and first["Platform"] is None


def test_go_quote_and_ports() -> None:
    assert go_quote('a "b"\\\t\x01é…') == '"a \\"b\\"\\\\\\t\\x01é…"'
    assert displayable_ports([
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 53, "Type": "udp"},
        {"PrivatePort": 7000, "Type": "tcp"}, {"PrivatePort": 7002, "Type": "tcp"},
    ]) == "7000/tcp, 0.0.0.0:53->53/udp, 7002/tcp, [::]:8080->80/tcp"  # as docker: a broken run is flushed early


# --------------------------------------------------------------------------- one request per container


def test_stop_kill_rm_pause_rename_wait(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    for verb in ("stop", "restart", "kill", "pause", "unpause", "rename", "wait"):
        engine.route("POST", f"/containers/a/{verb}", Reply(204) if verb != "wait" else json_reply({"StatusCode": 7}))
        engine.route("POST", f"/containers/nope/{verb}", error_reply(404, "No such container: nope"))
    engine.route("DELETE", "/containers/a", Reply(204))
    assert dw(engine, "stop", "-t", "3", "-s", "SIGTERM", "a") == 0
    assert engine.last("POST", "/containers/a/stop").query == {"signal": ["SIGTERM"], "t": ["3"]}
    assert dw(engine, "restart", "a", "nope") == 1
    assert engine.last("POST", "/containers/a/restart").query == {}
    out = capsys.readouterr()
    assert out.out == "a\na\n" and out.err == "Error response from daemon: No such container: nope\n"
    assert dw(engine, "kill", "-s", "HUP", "a") == 0
    assert engine.last("POST", "/containers/a/kill").query == {"signal": ["HUP"]}
    assert dw(engine, "rm", "-f", "-v", "a") == 0
    assert engine.last("DELETE", "/containers/a").query == {"force": ["1"], "v": ["1"]}
    assert dw(engine, "container", "pause", "a") == 0
    assert dw(engine, "container", "unpause", "a") == 0
    assert capsys.readouterr().out == "a\na\na\na\n"
    assert dw(engine, "rename", "a", "b") == 0
    assert engine.last("POST", "/containers/a/rename").query == {"name": ["b"]}
    assert dw(engine, "rename", "nope", "b") == 1
    assert capsys.readouterr().err == ("Error response from daemon: No such container: nope\n"
                                       "Error: failed to rename container named nope\n")
    assert dw(engine, "wait", "a") == 0
    assert capsys.readouterr().out == "7\n"


def test_container_prune(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("POST", "/containers/prune", json_reply({"ContainersDeleted": ["a" * 64], "SpaceReclaimed": 2048}))
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert dw(engine, "container", "prune") == 0
    assert capsys.readouterr().out == ("WARNING! This will remove all stopped containers.\n"
                                       "Are you sure you want to continue? [y/N] ")
    assert not [r for r in engine.requests if r.path == "/containers/prune"]
    assert dw(engine, "container", "prune", "-f", "--filter", "label=x=1") == 0
    assert capsys.readouterr().out == f"Deleted Containers:\n{'a' * 64}\n\nTotal reclaimed space: 2.048kB\n"
    assert engine.last("POST", "/containers/prune").filters() == {"label": {"x=1": True}}


def test_logs_demultiplexed(engine: FakeEngine, capfd: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/containers/a/json", json_reply({"Id": CID, "Config": {"Tty": False}}))
    engine.route("GET", f"/containers/{CID}/logs",
                 Reply(200, iter([encode_frame(1, b"out1\n"), encode_frame(2, b"err1\n"), encode_frame(1, b"x")]),
                       {"Content-Type": "application/vnd.docker.multiplexed-stream"}))
    assert dw(engine, "logs", "-f", "-n", "5", "-t", "--since", "2026-11-28T01:02:03Z", "a") == 0
    out = capfd.readouterr()
    assert out.out == "out1\nx" and out.err == "err1\n"
    q = engine.last("GET", f"/containers/{CID}/logs").query
    assert q == {"stdout": ["1"], "stderr": ["1"], "follow": ["1"], "timestamps": ["1"], "tail": ["5"],
                 "since": ["1795827723.000000000"]}


def test_units_and_timestamps() -> None:
    assert ram_in_bytes("64m") == 64 << 20 and ram_in_bytes("1.5g") == int(1.5 * (1 << 30))
    assert ram_in_bytes("512") == 512 and ram_in_bytes("2KiB") == 2048
    with pytest.raises(ValueError, match="invalid suffix: 'x'"):
        ram_in_bytes("12x")
    assert go_duration_ns("1m30s") == 90 * 10**9 and go_duration_ns("250ms") == 250 * 10**6
    with pytest.raises(ValueError):
        go_duration_ns("5 s")
    assert api_timestamp("10m", now=1000.0) == "400"
    assert api_timestamp("1700000000") == "1700000000"
    assert status_code_for("exec: executable file not found") == 127


def test_missing_daemon_endpoints_error_cleanly(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["top", "a"], ["stats", "--no-stream", "a"], ["diff", "a"], ["commit", "a"],
                 ["update", "--cpus", "1", "a"]):
        assert dw(engine, *args) == 1
        assert "Error response from daemon: page not found" in capsys.readouterr().err


def test_sig_proxy_forwards_signals_as_kill(engine: FakeEngine, capfd: pytest.CaptureFixture[str]) -> None:
    import os
    import signal

    s = Session(engine, [])
    engine.route("POST", f"/containers/{CID}/kill", Reply(204))

    def attach(conn: socket.socket) -> None:
        assert s.started.wait(5)
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.time() + 5
        while time.time() < deadline and not [r for r in engine.requests if r.path.endswith("/kill")]:
            time.sleep(0.01)
        conn.sendall(encode_frame(1, b"forwarded\n"))
        conn.shutdown(socket.SHUT_RDWR)

    engine.route("POST", f"/containers/{CID}/attach", Reply(upgrade=attach))
    before = signal.getsignal(signal.SIGUSR1)
    assert dw(engine, "run", "busybox") == 0
    assert capfd.readouterr().out == "forwarded\n"
    assert engine.last("POST", f"/containers/{CID}/kill").query == {"signal": ["USR1"]}
    assert signal.getsignal(signal.SIGUSR1) == before


def test_raw_terminal_is_restored() -> None:
    import os
    import pty
    import termios

    from dockwright.cli.commands.container_stream import raw_terminal, terminal_size

    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "rb", buffering=0, closefd=False) as f:
            assert termios.tcgetattr(slave)[3] & termios.ICANON
            with raw_terminal(f, f):
                assert not termios.tcgetattr(slave)[3] & termios.ICANON
            assert termios.tcgetattr(slave)[3] & termios.ICANON
            assert terminal_size(f) is not None
        assert terminal_size(io.BytesIO()) is None
    finally:
        os.close(master)
        os.close(slave)


STATS = {
    "id": CID, "name": "/web",
    "cpu_stats": {"cpu_usage": {"total_usage": 400_000_000}, "system_cpu_usage": 20_000_000_000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 200_000_000}, "system_cpu_usage": 10_000_000_000},
    "memory_stats": {"usage": 3 * 1024 * 1024, "limit": 1024 ** 3, "stats": {"inactive_file": 1024 * 1024}},
    "networks": {"eth0": {"rx_bytes": 1200, "tx_bytes": 648}},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096}, {"op": "write", "value": 0}]},
    "pids_stats": {"current": 3},
}


def test_stats_top_diff(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/containers/web/stats", json_reply(STATS))
    assert dw(engine, "stats", "--no-stream", "web") == 0
    assert capsys.readouterr().out.splitlines() == [
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O        BLOCK I/O    PIDS",
        "c0ffee111111   web       4.00%     2MiB / 1GiB         0.20%     1.2kB / 648B   4.1kB / 0B   3",
    ]
    assert engine.last("GET", "/containers/web/stats").query == {"stream": ["0"]}
    assert dw(engine, "stats", "--no-stream", "--format", "{{.Container}}: {{.CPUPerc}} {{.PIDs}}", "web") == 0
    assert capsys.readouterr().out == "web: 4.00% 3\n"
    engine.route("GET", "/containers/web/top", json_reply({"Titles": ["UID", "PID", "CMD"],
                                                           "Processes": [["root", "42", "sleep 100"]]}))
    assert dw(engine, "top", "web", "-o", "pid") == 0
    assert capsys.readouterr().out == ("UID                 PID                 CMD\n"
                                       "root                42                  sleep 100\n")
    assert engine.last("GET", "/containers/web/top").query == {"ps_args": ["-o pid"]}
    engine.route("GET", "/containers/web/changes", json_reply([{"Path": "/tmp", "Kind": 0},
                                                               {"Path": "/tmp/x", "Kind": 1}]))
    assert dw(engine, "diff", "web") == 0
    assert capsys.readouterr().out == "C /tmp\nA /tmp/x\n"


def test_cp_both_ways(engine: FakeEngine, tmp_path: Path) -> None:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("etc/hostname", b"box\n"), ("etc/../../escape", b"no")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    engine.route("GET", "/containers/web/archive", Reply(200, buf.getvalue(), {"Content-Type": "application/x-tar"}))
    assert dw(engine, "cp", "web:/etc", str(tmp_path / "copy")) == 0
    assert (tmp_path / "copy" / "hostname").read_bytes() == b"box\n"
    assert not (tmp_path.parent / "escape").exists()
    assert engine.last("GET", "/containers/web/archive").query == {"path": ["/etc"]}

    received: list[bytes] = []

    def put(req: Any) -> Reply:
        received.append(req.body)
        return Reply(200)

    engine.route("HEAD", "/containers/web/archive", error_reply(404, "Could not find the file /data/new"))
    engine.route("PUT", "/containers/web/archive", put)
    (tmp_path / "src.txt").write_text("payload")
    assert dw(engine, "cp", str(tmp_path / "src.txt"), "web:/data/new") == 0
    assert engine.last("PUT", "/containers/web/archive").query == {"path": ["/data"]}
    with tarfile.open(fileobj=io.BytesIO(received[0])) as tar:
        assert tar.getnames() == ["new"]
    assert dw(engine, "cp", "a:/x", "b:/y") == 1


def test_cidfile(engine: FakeEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cidfile = tmp_path / "cid"
    created(engine)
    assert dw(engine, "create", "--cidfile", str(cidfile), "busybox") == 0
    assert cidfile.read_text() == CID
    assert engine.last("POST", "/containers/create").json()["HostConfig"]["ContainerIDFile"] == str(cidfile)
    capsys.readouterr()
    assert dw(engine, "run", "--cidfile", str(cidfile), "busybox") == 125
    assert capsys.readouterr().err.startswith(
        f"dockwright: container ID file found, make sure the other container isn't running or delete {cidfile}\n")
    other = tmp_path / "other"
    engine.route("POST", "/containers/create", error_reply(500, "boom"))
    assert dw(engine, "create", "--cidfile", str(other), "busybox") == 125
    assert not other.exists()


def test_run_detached_does_not_wait_for_the_exit(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    release = threading.Event()

    def wait(_req: Any) -> Reply:
        def body() -> Iterator[bytes]:
            yield b""
            release.wait(10)  # the container "runs" until the test ends
            yield b'{"StatusCode": 0}\n'

        return Reply(200, body(), {"Content-Type": "application/json"})

    created(engine)
    engine.route("POST", f"/containers/{CID}/wait", wait)
    engine.route("POST", f"/containers/{CID}/start", Reply(204))
    t0 = time.monotonic()
    try:
        assert dw(engine, "run", "-d", "busybox", "sleep", "100") == 0
        assert time.monotonic() - t0 < 3
    finally:
        release.set()
    assert capsys.readouterr().out == CID + "\n"
