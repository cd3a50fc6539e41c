"""IPv4 address management: one pool (a subnet) per network, one lease per container.

Leases live in a small SQLite file (WAL) of their own, so a daemon restart finds
the addresses its running containers hold; every change is one ``BEGIN
IMMEDIATE`` transaction, which makes allocation race-free across threads and
across processes sharing the file::

    pools                               leases
    ├── network_id   TEXT  PK           ├── network_id    TEXT ─┐ PK
    ├── subnet       TEXT  "a.b.c.0/n"  ├── address       INT  ─┘ (IPv4 as int)
    ├── gateway      INT   reserved     └── container_id  TEXT    UNIQUE per network
    └── hint         INT   every host address below it is leased

Addresses are handed out lowest-free-first, as Docker's default IPAM does. The
gateway is stored as a lease of the reserved container id ``""``; the network
and broadcast addresses are never in the range. ``hint`` keeps allocation O(1)
in the common case: the search for a free address starts there, it moves past
what it finds, and a release below it moves it back down.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address, IPv4Interface, IPv4Network, NetmaskValueError
from pathlib import Path

from ..errors import Conflict, DataLoss, Internal, InvalidParameter, NotFound, Unavailable

_GATEWAY = ""  # the container id under which a pool's gateway address is reserved

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pools (
    network_id TEXT PRIMARY KEY,
    subnet     TEXT NOT NULL,
    gateway    INTEGER NOT NULL,
    hint       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    network_id   TEXT NOT NULL REFERENCES pools(network_id) ON DELETE CASCADE,
    address      INTEGER NOT NULL,
    container_id TEXT NOT NULL,
    PRIMARY KEY (network_id, address),
    UNIQUE (network_id, container_id)
);
"""

# The lowest address >= :lo that is not leased: :lo itself, or one past the end of
# the run of consecutive leases that starts at :lo.
_FIRST_FREE = """
SELECT CASE
    WHEN NOT EXISTS (SELECT 1 FROM leases WHERE network_id = :n AND address = :lo) THEN :lo
    ELSE (SELECT l.address + 1 FROM leases AS l
          WHERE l.network_id = :n AND l.address >= :lo
            AND NOT EXISTS (SELECT 1 FROM leases AS m WHERE m.network_id = :n AND m.address = l.address + 1)
          ORDER BY l.address LIMIT 1)
END
"""


@dataclass(frozen=True)
class Pool:
    network_id: str
    subnet: IPv4Network
    gateway: IPv4Interface

    @property
    def first(self) -> int:
        return int(self.subnet.network_address) + 1

    @property
    def last(self) -> int:
        return int(self.subnet.broadcast_address) - 1


def parse_subnet(subnet: str | IPv4Network) -> IPv4Network:
    """A subnet in CIDR form with room for a gateway and at least one container (/30 or larger)."""
    try:
        net = subnet if isinstance(subnet, IPv4Network) else IPv4Network(subnet, strict=False)
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise InvalidParameter(f"invalid subnet {subnet!r}: {exc}") from None
    if net.prefixlen > 30:
        raise InvalidParameter(f"subnet {net} is too small: use a /30 or larger")
    return net


def _host_address(pool: Pool, value: str | IPv4Address, what: str) -> IPv4Address:
    try:
        addr = IPv4Address(value.split("/")[0] if isinstance(value, str) else value)
    except (AddressValueError, ValueError):
        raise InvalidParameter(f"invalid IPv4 address {value!r} for the {what}") from None
    if not pool.first <= int(addr) <= pool.last:
        raise InvalidParameter(
            f"Invalid address {addr}: It does not belong to any of this network's subnets ({pool.subnet})"
        )
    return addr


class IPAM:
    """Pools and leases in ``db_path``; safe to share between threads (calls are serialised)."""

    def __init__(self, db_path: str | Path) -> None:
        self._path = Path(db_path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataLoss(f"IPAM database {self._path} is unreadable: {exc}") from exc

    def close(self) -> None:
        """Idempotent; leases stay in the file."""
        with self._lock:
            self._closed = True
            self._db.close()

    def __enter__(self) -> IPAM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise Internal(f"IPAM database {self._path} was used after close()")
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise Unavailable(f"IPAM database {self._path} is busy: {exc}") from exc
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise Internal(f"IPAM database {self._path}: commit failed: {exc}") from exc

    @staticmethod
    def _pool(db: sqlite3.Connection, network_id: str) -> Pool:
        row = db.execute("SELECT subnet, gateway FROM pools WHERE network_id = ?", (network_id,)).fetchone()
        if row is None:
            raise NotFound(f"network {network_id} has no address pool")
        subnet = IPv4Network(row[0])
        return Pool(network_id, subnet, IPv4Interface(f"{IPv4Address(row[1])}/{subnet.prefixlen}"))

    # pools

    def add_pool(self, network_id: str, subnet: str | IPv4Network, gateway: str | IPv4Address | None = None) -> Pool:
        """Create the pool of ``network_id`` (idempotent); ``gateway`` defaults to the first host address.

        Changing the subnet or gateway of a pool is refused while containers hold leases in it.
        """
        net = parse_subnet(subnet)
        probe = Pool(network_id, net, IPv4Interface(f"{net.network_address + 1}/{net.prefixlen}"))
        gw = _host_address(probe, gateway, "gateway") if gateway is not None else net.network_address + 1
        pool = Pool(network_id, net, IPv4Interface(f"{gw}/{net.prefixlen}"))
        with self._tx() as db:
            try:
                old = self._pool(db, network_id)
            except NotFound:
                old = None
            if old == pool:
                return pool
            if old is not None:
                (n,) = db.execute(
                    "SELECT count(*) FROM leases WHERE network_id = ? AND container_id != ?", (network_id, _GATEWAY)
                ).fetchone()
                if n:
                    raise Conflict(
                        f"network {network_id} has {n} address(es) in use in {old.subnet} (gateway {old.gateway.ip}); "
                        f"stop its containers before changing it to {net} (gateway {gw})"
                    )
                db.execute("DELETE FROM pools WHERE network_id = ?", (network_id,))
            db.execute(
                "INSERT INTO pools (network_id, subnet, gateway, hint) VALUES (?, ?, ?, ?)",
                (network_id, str(net), int(gw), pool.first),
            )
            db.execute(
                "INSERT INTO leases (network_id, address, container_id) VALUES (?, ?, ?)",
                (network_id, int(gw), _GATEWAY),
            )
        return pool

    def pool(self, network_id: str) -> Pool:
        with self._tx() as db:
            return self._pool(db, network_id)

    def pools(self) -> list[Pool]:
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT network_id FROM pools ORDER BY network_id")]
            return [self._pool(db, i) for i in ids]

    def gateway(self, network_id: str) -> IPv4Interface:
        return self.pool(network_id).gateway

    def remove_pool(self, network_id: str, *, force: bool = False) -> None:
        """Delete a pool; refused while containers hold leases unless ``force``. Idempotent."""
        with self._tx() as db:
            if not force:
                (n,) = db.execute(
                    "SELECT count(*) FROM leases WHERE network_id = ? AND container_id != ?", (network_id, _GATEWAY)
                ).fetchone()
                if n:
                    raise Conflict(f"network {network_id} has {n} address(es) in use; disconnect its containers first")
            db.execute("DELETE FROM leases WHERE network_id = ?", (network_id,))
            db.execute("DELETE FROM pools WHERE network_id = ?", (network_id,))

    # leases

    def allocate(self, network_id: str, container_id: str, preferred: str | None = None) -> IPv4Interface:
        """The container's address on the network, with the pool's prefix length.

        Idempotent: a container that already has a lease gets it again (a different
        ``preferred`` address is then a Conflict). ``preferred`` must be a free host
        address of the subnet.
        """
        if not container_id:
            raise InvalidParameter("a container id is required to allocate an address")
        with self._tx() as db:
            pool = self._pool(db, network_id)
            want = _host_address(pool, preferred, "container") if preferred else None
            row = db.execute(
                "SELECT address FROM leases WHERE network_id = ? AND container_id = ?", (network_id, container_id)
            ).fetchone()
            if row is not None:
                if want is not None and int(want) != row[0]:
                    raise Conflict(
                        f"container {container_id} already has address {IPv4Address(row[0])} on network {network_id}"
                    )
                return IPv4Interface(f"{IPv4Address(row[0])}/{pool.subnet.prefixlen}")
            if want is not None:
                owner = db.execute(
                    "SELECT container_id FROM leases WHERE network_id = ? AND address = ?", (network_id, int(want))
                ).fetchone()
                if owner is not None:
                    raise Conflict(f"Address already in use: {want} on network {network_id}")
                address = int(want)
            else:
                (hint,) = db.execute("SELECT hint FROM pools WHERE network_id = ?", (network_id,)).fetchone()
                found = self._first_free(db, network_id, max(hint, pool.first))
                if found is None or found > pool.last:
                    # The hint is only an optimisation: look once more from the start.
                    found = self._first_free(db, network_id, pool.first)
                if found is None or found > pool.last:
                    raise Unavailable(
                        f"no available IPv4 addresses on network {network_id} ({pool.subnet}): "
                        "remove containers that are not needed"
                    )
                address = found
                db.execute("UPDATE pools SET hint = ? WHERE network_id = ?", (address + 1, network_id))
            db.execute(
                "INSERT INTO leases (network_id, address, container_id) VALUES (?, ?, ?)",
                (network_id, address, container_id),
            )
            return IPv4Interface(f"{IPv4Address(address)}/{pool.subnet.prefixlen}")

    @staticmethod
    def _first_free(db: sqlite3.Connection, network_id: str, lo: int) -> int | None:
        row = db.execute(_FIRST_FREE, {"n": network_id, "lo": lo}).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def release(self, network_id: str, container_id: str) -> None:
        """Give the container's address back; idempotent (no pool or no lease is not an error)."""
        if not container_id:
            return
        with self._tx() as db:
            row = db.execute(
                "SELECT address FROM leases WHERE network_id = ? AND container_id = ?", (network_id, container_id)
            ).fetchone()
            if row is None:
                return
            db.execute("DELETE FROM leases WHERE network_id = ? AND address = ?", (network_id, row[0]))
            db.execute(
                "UPDATE pools SET hint = min(hint, ?) WHERE network_id = ?", (row[0], network_id)
            )

    def lease(self, network_id: str, container_id: str) -> IPv4Interface | None:
        with self._tx() as db:
            pool = self._pool(db, network_id)
            row = db.execute(
                "SELECT address FROM leases WHERE network_id = ? AND container_id = ?", (network_id, container_id)
            ).fetchone()
            return None if row is None else IPv4Interface(f"{IPv4Address(row[0])}/{pool.subnet.prefixlen}")

    def leases(self, network_id: str) -> dict[str, IPv4Interface]:
        """Container id -> address for every container with a lease (the gateway is not listed)."""
        with self._tx() as db:
            pool = self._pool(db, network_id)
            rows = db.execute(
                "SELECT container_id, address FROM leases WHERE network_id = ? AND container_id != ? ORDER BY address",
                (network_id, _GATEWAY),
            ).fetchall()
            return {c: IPv4Interface(f"{IPv4Address(a)}/{pool.subnet.prefixlen}") for c, a in rows}
