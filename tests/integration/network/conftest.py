"""Real bridges, veths and network namespaces, each with a unique name, all removed and checked at teardown.

Traffic stays between namespaces the tests create (and their own bridge); no NAT.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from dockwright.network import netns
from dockwright.network.bridge import BridgeDriver
from dockwright.network.ipam import IPAM
from tests.support import subnets


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces and bridges need root")


def release_subnets() -> None:
    subnets.release()


def free_subnet() -> IPv4Network:
    net = subnets.free_subnet()
    if net is None:
        pytest.skip("no free 172.31.x.0/24 subnet on this host")
    return net


def bridge_name() -> str:
    return "dwt" + secrets.token_hex(3)


def link_names() -> set[str]:
    with IPRoute() as ipr:
        return {str(link.get("ifname")) for link in ipr.get_links()}


def veths_of(network_ids: list[str]) -> dict[str, str]:
    """Host-side veth -> alias, for the pairs of the given networks."""
    prefixes = tuple(f"dockwright:{n}:" for n in network_ids)
    with IPRoute() as ipr:
        return {
            str(link.get("ifname")): str(link.get("ifalias"))
            for link in ipr.get_links()
            if prefixes and str(link.get("ifalias") or "").startswith(prefixes)
        }


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        return [line.split(" ")[4] for line in f if line.split(" ")[4].startswith(str(path))]


def forward_rules() -> str:
    iptables = shutil.which("iptables")
    if iptables is None:
        return ""
    return subprocess.run([iptables, "-w", "-S", "FORWARD"], capture_output=True, text=True, check=False).stdout


@dataclass
class Lab:
    """What one test made; ``close`` removes it all and asserts nothing is left behind."""

    root: Path
    drivers: list[BridgeDriver] = field(default_factory=list)
    namespaces: list[Path] = field(default_factory=list)
    ipams: list[IPAM] = field(default_factory=list)

    def ipam(self, name: str = "ipam.db") -> IPAM:
        i = IPAM(self.root / name)
        self.ipams.append(i)
        return i

    def bridge(self, ipam: IPAM | None = None, *, ensure: bool = True) -> BridgeDriver:
        net = free_subnet()
        d = BridgeDriver(bridge_name(), f"{net.network_address + 1}/{net.prefixlen}", ipam or self.ipam())
        self.drivers.append(d)
        if ensure:
            d.ensure()
        return d

    def netns(self, name: str | None = None) -> Path:
        p = netns.create(self.root / "netns" / (name or secrets.token_hex(4)))
        self.namespaces.append(p)
        return p

    def close(self) -> None:
        for ns in self.namespaces:
            netns.delete(ns)
        for d in self.drivers:
            d.remove()
        for i in self.ipams:
            i.close()
        names = link_names()
        rules = forward_rules()
        for d in self.drivers:
            assert d.name not in names, f"bridge {d.name} left behind"
            assert f"-i {d.name} " not in rules, f"iptables rule for {d.name} left behind"
        left = veths_of([d.network_id for d in self.drivers])
        assert not left, f"veths left behind: {left}"
        assert mounts_under(self.root) == [], "netns bind mounts left behind"
        assert not any(p.exists() for p in self.namespaces), "netns files left behind"
        release_subnets()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    _require_root()
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def container_id() -> str:
    return secrets.token_hex(32)
