"""``HostConfig.NetworkMode`` as Docker reads it on Linux."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidParameter, NotFound

Kind = Literal["bridge", "host", "none", "container"]


@dataclass(frozen=True)
class NetworkMode:
    kind: Kind
    container: str = ""  # the name or id after ``container:``

    def __str__(self) -> str:
        return f"container:{self.container}" if self.kind == "container" else self.kind

    @property
    def private_namespace(self) -> bool:
        """Whether the container gets a network namespace of its own (bridge, none)."""
        return self.kind in ("bridge", "none")


def parse_network_mode(value: str | None) -> NetworkMode:
    """``""``/``default``/``bridge``, ``host``, ``none``, ``container:<name|id>``; user networks come later."""
    mode = value or "default"
    if mode in ("default", "bridge"):
        return NetworkMode("bridge")
    if mode == "host":
        return NetworkMode("host")
    if mode == "none":
        return NetworkMode("none")
    if mode.startswith("container:"):
        target = mode[len("container:"):]
        if not target:
            raise InvalidParameter("invalid container format container:<name|id>")
        return NetworkMode("container", target)
    raise NotFound(f"network {mode} not found")
