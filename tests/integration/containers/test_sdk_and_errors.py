"""Containers through the docker SDK, and bad input with Docker's status codes and messages."""

from __future__ import annotations

import json
import uuid

import docker
import pytest

from tests.support.daemon import DaemonProc


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_followed_log_outlives_the_container(client: docker.DockerClient, busybox_image: str) -> None:
    """The SDK's run(remove=True) removes the container before it reads the log it follows.
    With more output than the socket buffers, the daemon is still reading the log when the
    container goes: it must hold the file open (it once lost the tail, ~1 run in 100 with `echo`)."""
    c = client.containers.run(busybox_image, ["sh", "-c", "sleep 0.5; yes 0123456789 | head -n 200000; echo end"],
                              detach=True, name=_name("follow"))
    stream = client.api.logs(c.id, stream=True, follow=True)
    assert c.wait()["StatusCode"] == 0
    c.remove()
    out = b"".join(stream)
    assert out.count(b"0123456789\n") == 200000 and out.endswith(b"\nend\n"), len(out)
    assert client.containers.run(busybox_image, ["echo", "sdk"], remove=True) == b"sdk\n"


def test_sdk_run_logs_exec_wait(client: docker.DockerClient, busybox_image: str) -> None:
    c = client.containers.run(busybox_image, ["sh", "-c", "echo started; sleep 30"], detach=True,
                              name=_name("sdk"), labels={"suite": "sdk"})
    try:
        c.reload()
        assert c.status == "running" and c.labels["suite"] == "sdk"
        code, out = c.exec_run(["sh", "-c", "echo $((40+2))"])
        assert (code, out) == (0, b"42\n")
        code, out = c.exec_run("false")
        assert code == 1
        res = client.api.exec_create(c.id, ["sh", "-c", "exit 7"])
        client.api.exec_start(res["Id"])
        assert client.api.exec_inspect(res["Id"])["ExitCode"] == 7
        assert c.logs() == b"started\n"
        assert [x.id for x in client.containers.list(filters={"label": "suite=sdk"})] == [c.id]
        c.stop(timeout=1)
        assert c.wait()["StatusCode"] == 137
        c.start()
        c.kill()
        assert c.wait()["StatusCode"] == 137
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(c.id)


def test_sdk_create_start_attach_socket(client: docker.DockerClient, busybox_image: str) -> None:
    c = client.containers.create(busybox_image, ["cat"], stdin_open=True, name=_name("sock"))
    try:
        sock = client.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stream": 1})
        c.start()
        raw = sock._sock
        raw.sendall(b"over the socket\n")
        raw.shutdown(1)
        data = b""
        while not data.endswith(b"socket\n"):
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data[8:] == b"over the socket\n" and data[0] == 1  # one stdout frame
        sock.close()
        assert c.wait(timeout=10)["StatusCode"] == 0
    finally:
        c.remove(force=True)


BB = {"Image": "busybox", "Cmd": ["true"]}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"Image": "no-such-image:1"}, 404, "No such image: no-such-image:1"),
        ({**BB, "User": "nobody-here"}, 400, "unable to find user nobody-here"),
        ({**BB, "WorkingDir": "relative/dir"}, 400, "needs to be an absolute path"),
        ({**BB, "HostConfig": {"Binds": ["/nope-src-dir:/x"]}}, 400, "bind source path does not exist"),
        ({**BB, "HostConfig": {"Binds": ["bad"]}}, 400, "invalid volume specification"),
        ({**BB, "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, 400, "invalid restart policy"),
        ({**BB, "HostConfig": {"ExtraHosts": ["foo:bad"]}}, 400, 'invalid IP address in add-host: "bad"'),
        ({**BB, "HostConfig": {"ExtraHosts": ["nohost"]}}, 400, 'bad format for add-host: "nohost"'),
        ({**BB, "HostConfig": {"NetworkMode": "container:nosuch"}}, 404, "No such container: nosuch"),
        ({**BB, "HostConfig": {"Links": ["nosuch:alias"]}}, 400, "could not get container for nosuch"),
        ({**BB, "HostConfig": {"NetworkMode": "host", "Links": ["x:y"]}}, 400,
         "conflicting options: host type networking can't be used with links"),
        ({**BB, "HostConfig": {"DeviceRequests": [{"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}]}}, 400,
         'could not select device driver "" with capabilities: [[gpu]]'),
        ({**BB, "HostConfig": {"StorageOpt": {"size": "1G"}}}, 400, "--storage-opt is supported only for overlay"),
        ({**BB, "HostConfig": {"Mounts": [{"Type": "bind", "Source": "/nope-src-dir", "Target": "/x"}]}}, 400,
         'invalid mount config for type "bind": bind source path does not exist: /nope-src-dir'),
        ({**BB, "HostConfig": {"Mounts": [{"Type": "volume", "Source": "v", "Target": "/x"}]}}, 400,
         "volumes are not supported yet"),
        ({**BB, "HostConfig": {"Mounts": [{"Type": "tmpfs", "Target": "relative"}]}}, 400,
         "mount path must be absolute"),
        ({**BB, "HostConfig": {"Binds": ["/tmp:/x"], "Mounts": [{"Type": "tmpfs", "Target": "/x"}]}}, 400,
         "Duplicate mount point: /x"),
        ({**BB, "NetworkingConfig": {"EndpointsConfig": {"bridge": {"IPAMConfig": {"IPv4Address": "10.9.9.9"}}}}},
         400, "user specified IP address is supported on user defined networks only"),
        ({**BB, "NetworkingConfig": {"EndpointsConfig": {"bridge": {"MacAddress": "zz"}}}}, 400,
         "invalid MAC address: zz"),
        ({**BB, "HostConfig": {"NetworkMode": "nonet"}}, 404, "network nonet not found"),
        ({**BB, "HostConfig": {"Memory": "lots"}}, 400, "HostConfig.Memory must be an integer"),
        ({**BB, "HostConfig": {"Memory": 1024}}, 400, "Minimum memory limit allowed is 6MB"),
        ({"Image": "busybox", "Cmd": "not-a-list", "Env": [1]}, 400, "Env must be a list of strings"),
    ],
)
def test_create_and_start_errors(dw_daemon: DaemonProc, busybox_image: str, body: dict[str, object], status: int,
                                 message: str) -> None:
    before = json.loads(dw_daemon.request("GET", "/v1.47/containers/json?all=1")[1])
    got, raw = dw_daemon.request("POST", "/v1.47/containers/create", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    if got == 201:  # errors found only when the process is set up come from start
        cid = json.loads(raw)["Id"]
        got, raw = dw_daemon.request("POST", f"/v1.47/containers/{cid}/start")
        dw_daemon.request("DELETE", f"/v1.47/containers/{cid}?force=1")
    assert got == status, raw
    assert message in json.loads(raw)["message"]
    after = json.loads(dw_daemon.request("GET", "/v1.47/containers/json?all=1")[1])
    assert len(after) == len(before)


def test_lifecycle_errors(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name = _name("err")

    def call(method: str, path: str, body: object = None) -> tuple[int, str]:
        data = json.dumps(body).encode() if body is not None else None
        st, raw = dw_daemon.request(method, f"/v1.47{path}", data, {"Content-Type": "application/json"})
        return st, (json.loads(raw)["message"] if raw and st >= 400 else "")

    st, _ = call("POST", f"/containers/create?name={name}", {"Image": busybox_image, "Cmd": ["sleep", "30"]})
    assert st == 201
    st, msg = call("POST", f"/containers/create?name={name}", {"Image": busybox_image})
    assert st == 409 and f'The container name "/{name}" is already in use' in msg
    st, msg = call("POST", "/containers/create?name=bad%20name", {"Image": busybox_image})
    assert st == 400 and "Invalid container name" in msg
    st, msg = call("POST", f"/containers/{name}/exec", {"Cmd": ["true"]})
    assert st == 409 and "is not running" in msg
    st, msg = call("POST", f"/containers/{name}/kill")
    assert st == 409 and "is not running" in msg
    assert call("POST", f"/containers/{name}/start")[0] == 204
    assert call("POST", f"/containers/{name}/start")[0] == 304
    st, msg = call("POST", f"/containers/{name}/kill?signal=SIGNOPE")
    assert st == 400 and "Invalid signal: SIGNOPE" in msg
    st, msg = call("DELETE", f"/containers/{name}")
    assert st == 409 and "container is running: stop the container before removing or force remove" in msg
    st, msg = call("POST", f"/containers/{name}/exec", {"Cmd": []})
    assert st == 400 and "No exec command specified" in msg
    st, msg = call("GET", "/containers/no-such-container/json")
    assert st == 404 and msg == "No such container: no-such-container"
    st, msg = call("POST", f"/containers/{name}/wait?condition=sometime")
    assert st == 400
    assert call("DELETE", f"/containers/{name}?force=1")[0] == 204
    assert dw_daemon.request("GET", "/_ping") == (200, b"OK")
