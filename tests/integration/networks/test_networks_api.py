"""``/networks`` over the predefined networks: bodies as dockerd's (and the spec's), filters, refusals."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import docker
import pytest

from tests.integration.conftest import api_json
from tests.support.daemon import DaemonProc, new_daemon
from tests.support.schemas import validate_definition, validate_response


def _get(d: DaemonProc, path: str) -> Any:
    status, body = api_json(d, "GET", path)
    assert status == 200, body
    return body


def _list(d: DaemonProc, filters: dict[str, list[str]] | None = None) -> list[str]:
    q = f"?filters={quote(json.dumps(filters))}" if filters is not None else ""
    return [n["Name"] for n in _get(d, f"/v1.47/networks{q}")]


def test_list_and_inspect_shapes(dw_daemon: DaemonProc) -> None:
    nets = _get(dw_daemon, "/v1.47/networks")
    validate_response(nets, "/networks")
    assert [n["Name"] for n in nets] == ["bridge", "host", "none"]
    by_name = {n["Name"]: n for n in nets}
    assert {n: by_name[n]["Driver"] for n in by_name} == {"bridge": "bridge", "host": "host", "none": "null"}
    for n in nets:
        assert re.fullmatch(r"[0-9a-f]{64}", n["Id"]), n
        assert n["Scope"] == "local" and n["Containers"] == {} and n["Labels"] == {}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", n["Created"]), n["Created"]
        assert n["ConfigFrom"] == {"Network": ""} and n["IPAM"]["Driver"] == "default"
        assert not (n["Internal"] or n["Attachable"] or n["Ingress"] or n["ConfigOnly"] or n["EnableIPv6"])
        one = _get(dw_daemon, f"/v1.47/networks/{n['Id']}")
        validate_definition(one, "Network")
        assert one["Name"] == n["Name"]
    bridge = by_name["bridge"]
    assert bridge["IPAM"]["Config"] == [{"Subnet": str(dw_daemon.subnet),
                                         "Gateway": str(dw_daemon.subnet.network_address + 1)}]  # type: ignore[union-attr]
    assert bridge["Options"]["com.docker.network.bridge.name"] == dw_daemon.bridge
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    assert set(bridge["Options"]) == {f"com.docker.network.bridge.{k}" for k in (
        "default_bridge", "enable_icc", "enable_ip_masquerade", "host_binding_ipv4", "name")} | {
        "com.docker.network.driver.mtu"}
    assert by_name["host"]["IPAM"]["Config"] == [] and by_name["host"]["Options"] == {}
    # by name, full ID, ID prefix; unversioned too; verbose and scope accepted
    assert _get(dw_daemon, f"/networks/{bridge['Id'][:12]}")["Name"] == "bridge"
    assert _get(dw_daemon, "/v1.47/networks/none?verbose=true&scope=local")["Name"] == "none"


def test_filters(dw_daemon: DaemonProc) -> None:
    d = dw_daemon
    ids = {n["Name"]: n["Id"] for n in _get(d, "/v1.47/networks")}
    assert _list(d, {"driver": ["null"]}) == ["none"]
    assert _list(d, {"driver": ["bridge", "host"]}) == ["bridge", "host"]
    assert _list(d, {"name": ["bridge"]}) == ["bridge"]
    assert _list(d, {"name": ["o"]}) == ["host", "none"]  # dockerd matches names as a search, not equality
    assert _list(d, {"id": [ids["host"][:10]]}) == ["host"]
    assert _list(d, {"scope": ["local"]}) == ["bridge", "host", "none"]
    assert _list(d, {"scope": ["swarm"]}) == []
    assert _list(d, {"type": ["builtin"]}) == ["bridge", "host", "none"]
    assert _list(d, {"type": ["custom"]}) == []
    assert _list(d, {"dangling": ["true"]}) == []
    assert _list(d, {"dangling": ["false"]}) == ["bridge", "host", "none"]
    assert _list(d, {"label": ["a=b"]}) == []
    # the legacy {"key": {"value": true}} form
    status, body = api_json(d, "GET", "/v1.47/networks?filters=" + quote('{"driver":{"host":true}}'))
    assert status == 200 and isinstance(body, list) and [n["Name"] for n in body] == ["host"]


@pytest.mark.parametrize(("filters", "message"), [
    ({"bogus": ["x"]}, "invalid filter 'bogus'"),
    ({"type": ["bogus"]}, "invalid filter: 'type'='bogus'"),
    ({"dangling": ["maybe"]}, "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" "
                              "(or \"0\")"),
])
def test_bad_filters(dw_daemon: DaemonProc, filters: dict[str, list[str]], message: str) -> None:
    status, body = api_json(dw_daemon, "GET", f"/v1.47/networks?filters={quote(json.dumps(filters))}")
    assert (status, body) == (400, {"message": message})
    status, body = api_json(dw_daemon, "GET", "/v1.47/networks?filters=notjson")
    assert status == 400


def test_containers_on_each_network(dw_daemon: DaemonProc, attached: dict[str, dict[str, str]]) -> None:
    nets = {n: _get(dw_daemon, f"/v1.47/networks/{n}") for n in ("bridge", "host", "none")}
    for net, c in attached.items():
        validate_definition(nets[net], "Network")
        entry = nets[net]["Containers"][c["id"]]
        assert entry["Name"] == c["name"] and re.fullmatch(r"[0-9a-f]{64}", entry["EndpointID"]), entry
        for other in set(nets) - {net}:
            assert c["id"] not in nets[other]["Containers"]
        info = _get(dw_daemon, f"/v1.47/containers/{c['id']}/json")
        assert info["HostConfig"]["NetworkMode"] == ("default" if net == "bridge" else net)
        ns = info["NetworkSettings"]["Networks"]
        assert list(ns) == [net]
        ep = ns[net]
        assert ep["NetworkID"] == nets[net]["Id"] and ep["EndpointID"] == entry["EndpointID"]
        assert ep["MacAddress"] == entry["MacAddress"]
        if net == "bridge":
            gw = nets[net]["IPAM"]["Config"][0]["Gateway"]
            assert entry["IPv4Address"] == f"{ep['IPAddress']}/{ep['IPPrefixLen']}" and ep["Gateway"] == gw
            assert re.fullmatch(r"02:42(:[0-9a-f]{2}){4}", entry["MacAddress"])
            assert info["NetworkSettings"]["IPAddress"] == ep["IPAddress"]
        else:
            assert (entry["IPv4Address"], entry["MacAddress"], ep["IPAddress"], ep["Gateway"]) == ("", "", "", "")
        assert entry["IPv6Address"] == ""
    # the list leaves Containers empty, as dockerd's has since API 1.28
    assert all(n["Containers"] == {} for n in _get(dw_daemon, "/v1.47/networks"))


def test_sdk(client: docker.DockerClient, attached: dict[str, dict[str, str]]) -> None:
    assert sorted(n.name for n in client.networks.list()) == ["bridge", "host", "none"]
    assert [n.name for n in client.networks.list(names=["host"])] == ["host"]
    assert [n.name for n in client.networks.list(filters={"driver": "null"})] == ["none"]
    bridge = client.networks.get("bridge")
    assert bridge.attrs["Driver"] == "bridge" and client.networks.get(bridge.id[:12]).name == "bridge"
    c = client.containers.get(attached["bridge"]["id"])
    assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["NetworkID"] == bridge.id
    assert c.id in [x.id for x in bridge.containers]
    host = client.networks.get("host")
    assert attached["host"]["id"] in [x.id for x in host.containers]
    with pytest.raises(docker.errors.NotFound, match="network nosuch not found"):
        client.networks.get("nosuch")
    with pytest.raises(docker.errors.APIError) as exc:
        bridge.remove()
    assert exc.value.status_code == 403
    with pytest.raises(docker.errors.APIError) as exc:
        client.networks.create("dw-user-net")
    assert exc.value.status_code == 501 and "user-defined networks are not supported yet" in str(exc.value)
    with pytest.raises(docker.errors.APIError) as exc:
        host.connect(c)
    assert exc.value.status_code == 400
    assert client.networks.prune() == {"NetworksDeleted": []}


def _call(d: DaemonProc, method: str, path: str, body: object = None) -> tuple[int, object]:
    return api_json(d, method, path, None if body is None else json.dumps(body).encode())


def test_refusals(dw_daemon: DaemonProc, attached: dict[str, dict[str, str]]) -> None:
    d = dw_daemon
    assert _call(d, "GET", "/v1.47/networks/nosuch") == (404, {"message": "network nosuch not found"})
    assert _call(d, "DELETE", "/v1.47/networks/nosuch") == (404, {"message": "network nosuch not found"})
    host_id = _get(d, "/v1.47/networks/host")["Id"]
    for ref, name in (("bridge", "bridge"), ("none", "none"), (host_id[:12], "host")):
        assert _call(d, "DELETE", f"/v1.47/networks/{ref}") == (
            403, {"message": f"{name} is a pre-defined network and cannot be removed"})
    for name in ("bridge", "host", "none"):
        assert _call(d, "POST", "/v1.47/networks/create", {"Name": name}) == (
            403, {"message": f"operation is not permitted on predefined {name} network "})
    status, body = _call(d, "POST", "/v1.47/networks/create", {"Name": "dw-user-net", "Driver": "bridge"})
    assert status == 501 and "docker run --network bridge|host|none|container:<name>" in body["message"]  # type: ignore[index]
    status, body = _call(d, "POST", "/v1.47/networks/create", {})
    assert status == 400 and body == {"message": "invalid name: "}
    assert _call(d, "POST", "/v1.47/networks/create", [1])[0] == 400
    assert api_json(d, "POST", "/v1.47/networks/create", b"{")[0] == 400
    # connect / disconnect: the container first, then the network, as dockerd
    assert _call(d, "POST", "/v1.47/networks/nosuch/connect", {"Container": "nosuchc"}) == (
        404, {"message": "No such container: nosuchc"})
    on_bridge, on_none = attached["bridge"]["name"], attached["none"]["name"]
    assert _call(d, "POST", "/v1.47/networks/nosuch/connect", {"Container": on_bridge}) == (
        404, {"message": "network nosuch not found"})
    assert _call(d, "POST", "/v1.47/networks/host/connect", {"Container": on_bridge}) == (
        400, {"message": "container cannot be disconnected from host network or connected to host network"})
    assert _call(d, "POST", "/v1.47/networks/bridge/connect", {"Container": on_bridge}) == (
        403, {"message": f"endpoint with name {on_bridge} already exists in network bridge"})
    status, body = _call(d, "POST", "/v1.47/networks/bridge/connect", {"Container": on_none})
    assert status == 501 and body["message"].startswith(  # type: ignore[index]
        f"cannot connect container {on_none} to network bridge: a container's network is fixed when it is created")
    status, body = _call(d, "POST", "/v1.47/networks/none/disconnect", {"Container": on_none})
    assert status == 501 and "user-defined networks are not supported yet" in body["message"]  # type: ignore[index]
    status, body = _call(d, "POST", "/v1.47/networks/bridge/disconnect", {"Container": on_none})
    assert status == 400 and "is not connected to network bridge" in body["message"]  # type: ignore[index]
    assert api_json(d, "POST", "/v1.47/networks/bridge/connect", b"")[0] == 400
    assert _call(d, "POST", "/v1.47/networks/bridge/connect", {"Container": 5})[0] == 400
    # prune: nothing to prune, filters still checked
    assert _call(d, "POST", "/v1.47/networks/prune") == (200, {"NetworksDeleted": []})
    assert _call(d, "POST", "/v1.47/networks/prune?filters=" + quote('{"bogus":["1"]}'))[0] == 400


def test_ids_are_per_data_root_and_kept_across_restarts(dw_daemon: DaemonProc) -> None:
    d = new_daemon()
    try:
        d.start()
        before = {n["Name"]: (n["Id"], n["Created"]) for n in _get(d, "/v1.47/networks")}
        d.stop()
        d.start()
        after = {n["Name"]: (n["Id"], n["Created"]) for n in _get(d, "/v1.47/networks")}
        assert before == after
        assert len({i for i, _ in before.values()}) == 3
        assert not {i for i, _ in before.values()} & {n["Id"] for n in _get(dw_daemon, "/v1.47/networks")}
    finally:
        d.cleanup()


def test_container_network_ids_over_its_life(client: docker.DockerClient, busybox_image: str,
                                             attached: dict[str, dict[str, str]]) -> None:
    """As dockerd: no NetworkID before the first start, the network's after it; an endpoint only while running."""
    ids = {n.name: n.id for n in client.networks.list()}
    for net in ("bridge", "host", "none"):
        c = client.containers.create(busybox_image, ["true"], network_mode=None if net == "bridge" else net)
        try:
            ep = c.attrs["NetworkSettings"]["Networks"][net]
            assert (ep["NetworkID"], ep["EndpointID"]) == ("", "")
            c.start()
            c.wait()
            c.reload()
            ep = c.attrs["NetworkSettings"]["Networks"][net]
            assert (ep["NetworkID"], ep["EndpointID"], ep["IPAddress"]) == (ids[net], "", "")
            assert c.id not in client.networks.get(net).attrs["Containers"]
        finally:
            c.remove(force=True)
    # ps --filter network=: a name or a prefix of the network's ID
    for net, c in attached.items():
        for value in (net, ids[net][:10]):
            assert c["id"] in [x.id for x in client.containers.list(filters={"network": value})]
        others = set(attached) - {net}
        assert not any(attached[o]["id"] in [x.id for x in client.containers.list(filters={"network": net})]
                       for o in others)
