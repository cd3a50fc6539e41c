"""``--init``: run a tiny init (tini, shipped as ``docker-init``) as the container's PID 1.

The init reaps zombies and forwards signals, which a shell or an application
started as PID 1 usually does not. A container may have no init of its own and
no libc, so only a static binary from the host will do: it is bind-mounted
read-only at ``/sbin/docker-init`` and put in front of the command, as dockerd
does (``/sbin/docker-init -- cmd args``).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..errors import InvalidParameter

INIT_PATH = "/sbin/docker-init"
_CANDIDATES = ("/usr/bin/docker-init", "/usr/local/bin/docker-init", "/usr/libexec/docker/docker-init",
               "/usr/sbin/docker-init")
_PATH_NAMES = ("docker-init", "tini-static", "tini")


def find_init(configured: str = "") -> str:
    """The host's init binary (``configured`` first, as dockerd's ``init-path``), fully resolved."""
    found = [configured] if configured else []
    found += [p for p in _CANDIDATES if os.path.exists(p)]
    found += [p for p in (shutil.which(n) for n in _PATH_NAMES) if p]
    for p in found:
        real = os.path.realpath(p)
        if os.path.isfile(real) and os.access(real, os.X_OK):
            return real
    raise InvalidParameter("init binary not found: install tini (docker-init) on the host to use --init")


def with_init(spec: dict[str, Any], init_binary: str = "") -> dict[str, Any]:
    """Bind the init into ``spec`` and make it the process; ``spec`` is changed in place and returned."""
    binary = find_init(init_binary)
    spec.setdefault("mounts", []).append({
        "destination": INIT_PATH, "type": "bind", "source": binary, "options": ["rbind", "ro", "nosuid", "nodev"],
    })
    proc = spec.setdefault("process", {})
    args = list(proc.get("args") or [])
    if args[:1] != [INIT_PATH]:
        proc["args"] = [INIT_PATH, "--", *args]
    return spec
