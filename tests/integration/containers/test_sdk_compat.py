"""Behaviours the docker SDK relies on that its own integration suite found different from dockerd:
each checked here through the SDK's low-level client against our daemon."""

from __future__ import annotations

import io
import socket
import time
import uuid

import docker
import pytest

from tests.support.daemon import DaemonProc


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def api(client: docker.DockerClient) -> docker.APIClient:
    return client.api


def test_tty_exec_started_without_tty_is_framed(api: docker.APIClient, busybox_image: str) -> None:
    """dockerd frames an exec's output unless the *start* request says Tty: a tty exec started
    without it comes framed, all on stdout (the terminal merged stderr)."""
    c = api.create_container(busybox_image, "cat", stdin_open=True)
    api.start(c)
    try:
        cmd = ["sh", "-c", "echo hello out; echo hello err >&2"]
        out = api.exec_start(api.exec_create(c, cmd, tty=True))
        assert out == b"hello out\r\nhello err\r\n"
        assert api.exec_start(api.exec_create(c, cmd, tty=True), demux=True) == (b"hello out\r\nhello err\r\n", None)
        raw = api.exec_start(api.exec_create(c, ["printf", "raw"], tty=True), tty=True)
        assert raw == b"raw"
    finally:
        api.remove_container(c, force=True)


def test_exec_detach_keys_from_the_sdk_config(api: docker.APIClient, busybox_image: str) -> None:
    """The SDK sends "detachKeys" (dockerd decodes JSON keys case-insensitively); detaching ends the
    stream with dockerd's message and leaves the process running."""
    c = api.create_container(busybox_image, "cat", stdin_open=True)
    api.start(c)
    try:
        api._general_configs["detachKeys"] = "ctrl-p"
        ex = api.exec_create(c, "cat", stdin=True, tty=True, stdout=True)
        sock = api.exec_start(ex, tty=True, socket=True)
        raw: socket.socket = sock._sock
        raw.sendall(b"\x10")
        raw.settimeout(10)
        data = b""
        while chunk := raw.recv(1024):
            data += chunk
        assert data.startswith(b"exec attach failed: error on attach stdin: read escape sequence"), data
        raw.close()
        assert api.exec_inspect(ex)["Running"] is True
    finally:
        api._general_configs.pop("detachKeys", None)
        api.remove_container(c, force=True)


def test_restart_policy_keeps_a_restarting_container(api: docker.APIClient, busybox_image: str) -> None:
    """Between two runs a container with a restart policy is restarting: remove without force is
    refused (dockerd's words), stop ends the restarts."""
    c = api.create_container(busybox_image, ["sleep", "0.5"], host_config=api.create_host_config(
        restart_policy={"Name": "always", "MaximumRetryCount": 0}, network_mode="none"))
    api.start(c)
    try:
        api.wait(c)
        with pytest.raises(docker.errors.APIError) as exc:
            api.remove_container(c)
        assert exc.value.status_code == 409 and "stop the container before" in exc.value.explanation.lower()
        api.stop(c, timeout=1)
        time.sleep(0.6)  # past the back-off: nothing starts it again
        state = api.inspect_container(c)["State"]
        assert not state["Running"] and not state["Restarting"], state
    finally:
        api.remove_container(c, force=True)


def test_group_add_log_config_kill_and_prune(api: docker.APIClient, busybox_image: str) -> None:
    c = api.create_container(busybox_image, "id -G", host_config=api.create_host_config(group_add=[1000, "wheel"]))
    api.start(c)
    api.wait(c)
    assert api.logs(c).split() == [b"0", b"10", b"1000"]  # root's groups, 1000, and wheel (10) once
    # an empty log driver is the daemon's default
    c2 = api.create_container(busybox_image, ["sleep", "30"], host_config=api.create_host_config(
        log_config=docker.types.LogConfig(type="", config={"max-size": "1m"})))
    assert api.inspect_container(c2)["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    # kill with SIGKILL answers once the container is dead
    api.start(c2)
    api.kill(c2)
    state = api.inspect_container(c2)["State"]
    assert state["Running"] is False and state["ExitCode"] == 137, state
    # prune counts the writable layers it removed
    c3 = api.create_container(busybox_image, ["sh", "-c", "head -c 100000 /dev/zero > /data"],
                              labels={"prune-me": uuid.uuid4().hex})
    api.start(c3)
    api.wait(c3)
    label = api.inspect_container(c3)["Config"]["Labels"]["prune-me"]
    res = api.prune_containers(filters={"label": f"prune-me={label}"})
    assert res["ContainersDeleted"] == [c3["Id"]] and res["SpaceReclaimed"] >= 100000, res
    api.remove_container(c, force=True)
    api.remove_container(c2, force=True)


def test_build_stderr_is_red_and_a_bad_load_is_in_the_stream(client: docker.DockerClient, dw_daemon: DaemonProc,
                                                             busybox_image: str) -> None:
    """As dockerd's legacy builder, a RUN step's stderr comes wrapped in red; a tar that does not load
    is reported in the load's stream with 200, so the SDK raises ImageLoadError."""
    df = f"FROM {busybox_image}\nRUN sh -c \">&2 echo to-stderr-{uuid.uuid4().hex[:6]}; echo to-stdout\"\n"
    chunks = [c.get("stream", "") for c in client.api.build(fileobj=io.BytesIO(df.encode()), decode=True,
                                                             nocache=True, rm=True)]
    assert any(c.startswith("\x1b[91mto-stderr-") and c.endswith("\n\x1b[0m") for c in chunks), chunks
    assert "to-stdout\n" in chunks
    with pytest.raises(docker.errors.ImageLoadError):
        client.images.load(b"abc")
    for quiet in ("0", "1"):  # quiet keeps the error
        status, body = dw_daemon.request("POST", f"/v1.47/images/load?quiet={quiet}", b"abc")
        assert status == 200 and b'"error"' in body, body
