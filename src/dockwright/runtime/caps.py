"""Linux capability names and numbers, and Docker's default set.

Pure data and small helpers: the builtin runtime's init imports this module,
so it must stay cheap to import (no heavy stdlib modules).
"""

from __future__ import annotations

CAPS: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
CAP_NUMBERS: dict[str, int] = {name: i for i, name in enumerate(CAPS)}

# Docker's default set (moby oci/caps/defaults.go), in Docker's order: it shows in
# `docker inspect` and in the bundle, so the order is part of compatibility.
DEFAULT_CAPS: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)


def last_cap() -> int:
    """The highest capability the running kernel knows (privileged containers get all up to it)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return len(CAPS) - 1


def bounding_mask() -> int:
    """This process's bounding set: what any container started from here can get at most."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return (1 << (last_cap() + 1)) - 1


def all_caps() -> list[str]:
    """Every capability the kernel knows and this process may pass on (``--privileged``, ``--cap-add ALL``).

    Like Docker, capabilities missing from the engine's own bounding set (a nested or restricted host)
    are left out rather than making every privileged container fail.
    """
    bnd = bounding_mask()
    return [CAPS[i] for i in range(min(last_cap() + 1, len(CAPS))) if bnd & (1 << i)]


def normalize(name: str) -> str:
    """``chown``, ``CHOWN`` and ``CAP_CHOWN`` all name one capability (docker --cap-add accepts each)."""
    n = name.strip().upper()
    if n == "ALL":
        return n
    return n if n.startswith("CAP_") else "CAP_" + n


def cap_number(name: str) -> int:
    """The kernel's number for a capability; unknown names are a ValueError the caller reports."""
    n = normalize(name)
    if n not in CAP_NUMBERS:
        raise ValueError(f"unknown capability: {name!r}")
    return CAP_NUMBERS[n]


def mask(names: list[str] | tuple[str, ...]) -> int:
    """Bit mask as /proc/self/status prints it (CapEff etc.)."""
    m = 0
    for n in names:
        m |= 1 << cap_number(n)
    return m
