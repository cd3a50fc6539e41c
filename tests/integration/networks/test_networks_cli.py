"""``docker network ...`` and ``dockwright network ...`` against our daemon: the same output, dockerd's shape."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.integration.conftest import docker
from tests.support.daemon import DaemonProc

DW = [sys.executable, "-m", "dockwright"]


def dw(d: DaemonProc, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([*DW, *args], env=d.env, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"dockwright {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.mark.parametrize("args", [
    (),
    ("--no-trunc",),
    ("-q",),
    ("-q", "--no-trunc"),
    ("--format", "json"),
    ("--format", "table {{.ID}}\t{{.Name}}\t{{.IPv4}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}"),
    ("--format", "{{.Name}}:{{.Driver}}:{{.Scope}}"),
    ("-f", "driver=null"),
    ("--filter", "name=o", "--filter", "scope=local"),
    ("-f", "type=custom"),
])
def test_ls_matches_docker(dw_daemon: DaemonProc, args: tuple[str, ...]) -> None:
    ours = dw(dw_daemon, "network", "ls", *args).stdout
    assert ours == docker(dw_daemon, "network", "ls", *args).stdout
    if args == ():  # dockerd's columns and spacing
        lines = ours.splitlines()
        assert lines[0] == "NETWORK ID     NAME      DRIVER    SCOPE"
        assert [re.split(r"\s{3,}", x) for x in lines[1:]] == [
            [lines[1][:12], "bridge", "bridge", "local"], [lines[2][:12], "host", "host", "local"],
            [lines[3][:12], "none", "null", "local"]]
        assert all(re.fullmatch(r"[0-9a-f]{12}", x[:12]) for x in lines[1:])
    if args == ("--format", "json"):
        rows = [json.loads(x) for x in ours.splitlines()]
        assert sorted(rows[0]) == ["CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name",
                                   "Scope"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC", rows[0]["CreatedAt"])


def test_inspect_with_containers(dw_daemon: DaemonProc, attached: dict[str, dict[str, str]]) -> None:
    for net, c in attached.items():
        fmt = "{{json .Containers}}"
        ours = json.loads(dw(dw_daemon, "network", "inspect", "--format", fmt, net).stdout)
        theirs = json.loads(docker(dw_daemon, "network", "inspect", "--format", fmt, net).stdout)
        assert ours[c["id"]] == theirs[c["id"]] and ours[c["id"]]["Name"] == c["name"]
        net_id = docker(dw_daemon, "network", "inspect", "-f", "{{.Id}}", net).stdout.strip()
        seen = docker(dw_daemon, "inspect", "-f", "{{.HostConfig.NetworkMode}} {{range $k, $v := "
                      ".NetworkSettings.Networks}}{{$k}} {{$v.NetworkID}} {{$v.EndpointID}}{{end}}", c["id"]).stdout
        mode = "default" if net == "bridge" else net
        assert seen.strip() == f"{mode} {net} {net_id} {ours[c['id']]['EndpointID']}"
    # the whole document, as both CLIs print it, and through `docker inspect --type network`
    full = dw(dw_daemon, "network", "inspect", "bridge", "host").stdout
    docs = json.loads(full)
    assert [x["Name"] for x in docs] == ["bridge", "host"] and full.startswith("[\n    {\n        \"Name\"")
    assert json.loads(docker(dw_daemon, "inspect", "--type", "network", "none").stdout)[0]["Driver"] == "null"
    assert json.loads(dw(dw_daemon, "inspect", "--type", "network", "none").stdout)[0]["Driver"] == "null"


@pytest.mark.parametrize(("args", "stdout", "stderr"), [
    (("network", "inspect", "nosuch"), "[]\n", "Error response from daemon: network nosuch not found\n"),
    (("network", "rm", "bridge"), "", "Error response from daemon: bridge is a pre-defined network and cannot be "
                                      "removed\n"),
    (("network", "rm", "none", "nosuch"), "", "Error response from daemon: none is a pre-defined network and cannot "
                                              "be removed\nError response from daemon: network nosuch not found\n"),
    (("network", "create", "host"), "", "Error response from daemon: operation is not permitted on predefined host "
                                        "network"),
    (("network", "create", "dw-user-net"), "", "Error response from daemon: cannot create network dw-user-net: "
                                               "user-defined networks are not supported yet"),
    (("network", "connect", "bridge", "nosuchc"), "", "Error response from daemon: No such container: nosuchc\n"),
    (("network", "disconnect", "nosuchn", "nosuchc"), "", "Error response from daemon: No such container: nosuchc\n"),
])
def test_bad_input(dw_daemon: DaemonProc, args: tuple[str, ...], stdout: str, stderr: str) -> None:
    for r in (dw(dw_daemon, *args, check=False), docker(dw_daemon, *args, check=False)):
        assert r.returncode == 1, r
        assert r.stdout == stdout and r.stderr.startswith(stderr), (r.stdout, r.stderr)


def test_rm_force_prune_and_connect(dw_daemon: DaemonProc, attached: dict[str, dict[str, str]]) -> None:
    for run in (dw, docker):
        r = run(dw_daemon, "network", "rm", "-f", "nosuch")
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
        r = run(dw_daemon, "network", "prune", "-f")
        assert (r.returncode, r.stdout) == (0, "")
    r = dw(dw_daemon, "network", "prune", "-f", "--filter", "bogus=1", check=False)
    assert r.returncode == 1 and r.stderr == "Error response from daemon: invalid filter 'bogus'\n"
    on_none = attached["none"]["name"]
    r = dw(dw_daemon, "network", "connect", "bridge", on_none, check=False)
    assert r.returncode == 1 and "a container's network is fixed when it is created" in r.stderr
    r = dw(dw_daemon, "network", "connect", "host", on_none, check=False)
    assert r.stderr == ("Error response from daemon: container cannot be disconnected from host network or "
                        "connected to host network\n")
    r = dw(dw_daemon, "network", "create", "--subnet", "10.199.0.0/24", "--gateway", "10.199.0.1", "-o", "a=b",
           "--label", "x", "--ipam-opt", "k=v", "-d", "bridge", "dw-user-net", check=False)
    assert r.returncode == 1 and "user-defined networks are not supported yet" in r.stderr
    r = dw(dw_daemon, "network", "create", "--gateway", "10.199.0.1", "dw-user-net", check=False)
    assert r.returncode == 1 and r.stderr == "every ip-range or gateway must have a corresponding subnet\n"
    assert "network" in dw(dw_daemon, "--help").stdout
    assert "connect     Connect a container to a network" in dw(dw_daemon, "network").stdout
