from __future__ import annotations

import threading
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockwright.errors import Conflict, InvalidParameter, NotFound, Unavailable
from dockwright.network.ipam import IPAM


@pytest.fixture
def ipam(tmp_path: Path) -> IPAM:
    i = IPAM(tmp_path / "ipam.db")
    i.add_pool("net", "10.7.0.0/24")
    return i


def test_gateway_is_first_host_and_allocation_is_lowest_free(ipam: IPAM) -> None:
    assert ipam.gateway("net") == IPv4Interface("10.7.0.1/24")
    assert ipam.allocate("net", "a") == IPv4Interface("10.7.0.2/24")
    assert ipam.allocate("net", "b") == IPv4Interface("10.7.0.3/24")
    assert ipam.allocate("net", "c") == IPv4Interface("10.7.0.4/24")
    ipam.release("net", "a")
    assert ipam.allocate("net", "d") == IPv4Interface("10.7.0.2/24")
    assert ipam.allocate("net", "e") == IPv4Interface("10.7.0.5/24")
    assert ipam.leases("net") == {
        "d": IPv4Interface("10.7.0.2/24"),
        "b": IPv4Interface("10.7.0.3/24"),
        "c": IPv4Interface("10.7.0.4/24"),
        "e": IPv4Interface("10.7.0.5/24"),
    }


def test_explicit_gateway_is_reserved(tmp_path: Path) -> None:
    with IPAM(tmp_path / "i.db") as ipam:
        ipam.add_pool("n", "10.8.0.0/29", gateway="10.8.0.3")
        got = [ipam.allocate("n", c).ip for c in "abcde"]
        assert got == [IPv4Address(f"10.8.0.{i}") for i in (1, 2, 4, 5, 6)]
        with pytest.raises(Unavailable, match="no available IPv4 addresses"):
            ipam.allocate("n", "f")


def test_allocate_is_idempotent_per_container(ipam: IPAM) -> None:
    first = ipam.allocate("net", "a")
    assert ipam.allocate("net", "a") == first
    assert ipam.allocate("net", "a", str(first.ip)) == first
    with pytest.raises(Conflict, match="already has address"):
        ipam.allocate("net", "a", "10.7.0.99")


def test_preferred_address(ipam: IPAM) -> None:
    assert ipam.allocate("net", "a", "10.7.0.200") == IPv4Interface("10.7.0.200/24")
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.allocate("net", "b", "10.7.0.200")
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.allocate("net", "b", "10.7.0.1")  # the gateway
    for bad in ("10.7.1.5", "10.7.0.0", "10.7.0.255"):
        with pytest.raises(InvalidParameter, match="does not belong"):
            ipam.allocate("net", "b", bad)
    with pytest.raises(InvalidParameter, match="invalid IPv4 address"):
        ipam.allocate("net", "b", "not-an-ip")
    # lowest-free allocation skips the preferred one
    assert ipam.allocate("net", "c") == IPv4Interface("10.7.0.2/24")


def test_release_is_idempotent(ipam: IPAM) -> None:
    ipam.release("net", "nobody")
    ipam.release("other-net", "nobody")
    ipam.allocate("net", "a")
    ipam.release("net", "a")
    ipam.release("net", "a")
    assert ipam.lease("net", "a") is None


def test_unknown_network(ipam: IPAM) -> None:
    with pytest.raises(NotFound):
        ipam.allocate("nope", "a")
    with pytest.raises(NotFound):
        ipam.gateway("nope")


def test_bad_subnets(tmp_path: Path) -> None:
    with IPAM(tmp_path / "i.db") as ipam:
        for bad in ("10.0.0.0/31", "10.0.0.0/32", "banana", "10.0.0.0/33"):
            with pytest.raises(InvalidParameter):
                ipam.add_pool("n", bad)
        with pytest.raises(InvalidParameter, match="does not belong"):
            ipam.add_pool("n", "10.0.0.0/24", gateway="10.0.1.1")


def test_leases_survive_reopen(tmp_path: Path) -> None:
    with IPAM(tmp_path / "i.db") as ipam:
        ipam.add_pool("n", "10.9.0.0/24")
        a = ipam.allocate("n", "a")
        b = ipam.allocate("n", "b")
    with IPAM(tmp_path / "i.db") as ipam:
        assert ipam.add_pool("n", "10.9.0.0/24").subnet.prefixlen == 24  # idempotent
        assert ipam.lease("n", "a") == a
        assert ipam.leases("n") == {"a": a, "b": b}
        assert ipam.allocate("n", "c") == IPv4Interface("10.9.0.4/24")


def test_changing_a_pool_in_use_is_refused(tmp_path: Path) -> None:
    with IPAM(tmp_path / "i.db") as ipam:
        ipam.add_pool("n", "10.9.0.0/24")
        ipam.allocate("n", "a")
        with pytest.raises(Conflict, match="stop its containers"):
            ipam.add_pool("n", "10.10.0.0/24")
        with pytest.raises(Conflict):
            ipam.remove_pool("n")
        ipam.release("n", "a")
        pool = ipam.add_pool("n", "10.10.0.0/24")
        assert str(pool.gateway) == "10.10.0.1/24"
        assert ipam.allocate("n", "a") == IPv4Interface("10.10.0.2/24")
        ipam.remove_pool("n", force=True)
        ipam.remove_pool("n")
        assert ipam.pools() == []


def test_concurrent_allocations_are_unique(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    with IPAM(db) as setup:
        setup.add_pool("n", "10.11.0.0/24")
    # two handles on one file (as two daemons' threads would be), many threads each
    handles = [IPAM(db), IPAM(db)]
    results: dict[str, IPv4Interface] = {}
    lock = threading.Lock()

    def worker(k: int) -> None:
        for j in range(10):
            cid = f"c{k}-{j}"
            ip = handles[k % 2].allocate("n", cid)
            with lock:
                results[cid] = ip

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(results) == 160
        assert len(set(results.values())) == 160
        assert {int(i.ip) for i in results.values()} == set(range(int(IPv4Address("10.11.0.2")),
                                                                  int(IPv4Address("10.11.0.162"))))
    finally:
        for h in handles:
            h.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 15)), max_size=80))
def test_lowest_free_model(tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[bool, int]]) -> None:
    """Against a model: allocation always returns the lowest free host address of a /28."""
    with IPAM(tmp_path_factory.mktemp("m") / "i.db") as ipam:
        ipam.add_pool("n", "10.12.0.0/28")  # hosts .1-.14, gateway .1
        held: dict[str, int] = {}
        for alloc, k in ops:
            cid = f"c{k}"
            if alloc:
                free = [a for a in range(2, 15) if a not in held.values()]
                if cid in held:
                    assert ipam.allocate("n", cid).ip.packed[3] == held[cid]
                elif not free:
                    with pytest.raises(Unavailable):
                        ipam.allocate("n", cid)
                else:
                    got = ipam.allocate("n", cid).ip.packed[3]
                    assert got == min(free)
                    held[cid] = got
            else:
                ipam.release("n", cid)
                held.pop(cid, None)
