"""Let containers on one bridge talk to each other when the host filters bridged traffic.

With ``br_netfilter`` loaded (Docker loads it, and sets the ``FORWARD`` policy
to ``DROP``), frames between two ports of a Linux bridge traverse iptables'
``FORWARD`` chain, so two containers on our bridge could not reach each other.
Docker answers with ``-A FORWARD -i docker0 -o docker0 -j ACCEPT`` (its
"inter-container communication"); this module adds the same filter rule for our
bridge and removes it with the bridge. It never touches the nat table.

An ACCEPT in a separate nftables base chain would not help (a drop in another
base chain still drops), so the rule has to go into the host's own FORWARD
chain, through the ``iptables`` command the host uses (legacy or nft).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from ..errors import Unavailable

log = logging.getLogger(__name__)

_BR_NETFILTER = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def bridged_traffic_filtered() -> bool:
    """Whether iptables sees frames crossing a bridge (br_netfilter loaded and switched on)."""
    try:
        with open(_BR_NETFILTER, encoding="ascii") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def _iptables() -> str | None:
    return shutil.which("iptables") or next(
        (p for p in ("/usr/sbin/iptables", "/sbin/iptables") if os.access(p, os.X_OK)), None
    )


def _rule(bridge: str) -> list[str]:
    return ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]


def _run(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "-w", "10", *args], capture_output=True, text=True, timeout=30, check=False)


def has_icc_rule(bridge: str) -> bool:
    binary = _iptables()
    return binary is not None and _run(binary, "-C", *_rule(bridge)).returncode == 0


def allow_intra_bridge(bridge: str) -> bool:
    """Accept forwarding between ports of ``bridge`` if the host filters bridged traffic; True if a rule is in place."""
    if not bridged_traffic_filtered():
        return False
    binary = _iptables()
    if binary is None:
        log.warning("br_netfilter is on but iptables is missing: containers on %s may not reach each other", bridge)
        return False
    if _run(binary, "-C", *_rule(bridge)).returncode == 0:
        return True
    res = _run(binary, "-I", *_rule(bridge))
    if res.returncode != 0:
        raise Unavailable(
            f"cannot allow traffic between containers on bridge {bridge}: iptables -I FORWARD failed: "
            f"{res.stderr.strip() or res.stdout.strip()}"
        )
    return True


def remove_intra_bridge(bridge: str) -> None:
    """Delete every copy of the rule for ``bridge``; idempotent."""
    binary = _iptables()
    if binary is None:
        return
    for _ in range(16):
        if _run(binary, "-D", *_rule(bridge)).returncode != 0:
            return
