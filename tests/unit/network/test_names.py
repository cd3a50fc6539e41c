from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from dockwright.errors import InvalidParameter
from dockwright.network.bridge import check_ifname, mac_for, veth_names
from dockwright.network.subnets import parse_bip


def test_mac_is_dockers() -> None:
    assert mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"


def test_veth_names() -> None:
    cid = "0123abcdef" + "0" * 54
    names = list(veth_names("bridge", cid))
    assert names[0] == "veth0123abc"
    assert len(set(names)) == len(names) == 4
    assert all(len(n) == 11 and n.startswith("veth") for n in names)
    assert names == list(veth_names("bridge", cid))  # deterministic
    assert list(veth_names("other", cid))[1:] != names[1:]  # per network
    assert not list(veth_names("bridge", "my-container"))[0].startswith("vethmy-")


def test_parse_bip() -> None:
    assert str(parse_bip("172.31.250.1/24").network) == "172.31.250.0/24"
    for bad in ("172.31.250.1", "172.31.250.0/24", "172.31.250.255/24", "1.2.3.4/31", "x/24", "1.2.3.4/40"):
        with pytest.raises(InvalidParameter):
            parse_bip(bad)


def test_check_ifname() -> None:
    assert check_ifname("dwt0a1b2c") == "dwt0a1b2c"
    for bad in ("", "a" * 16, "a/b", "a b", "a:b", ".", ".."):
        with pytest.raises(InvalidParameter):
            check_ifname(bad)
