from __future__ import annotations

import pytest

from dockwright.errors import InvalidParameter, NotFound
from dockwright.network.mode import NetworkMode, parse_network_mode


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (None, NetworkMode("bridge")),
        ("", NetworkMode("bridge")),
        ("default", NetworkMode("bridge")),
        ("bridge", NetworkMode("bridge")),
        ("host", NetworkMode("host")),
        ("none", NetworkMode("none")),
        ("container:web", NetworkMode("container", "web")),
    ],
)
def test_modes(value: str | None, want: NetworkMode) -> None:
    assert parse_network_mode(value) == want


def test_errors_and_str() -> None:
    with pytest.raises(InvalidParameter, match="container:<name|id>"):
        parse_network_mode("container:")
    with pytest.raises(NotFound, match="network mynet not found"):
        parse_network_mode("mynet")
    assert str(parse_network_mode("container:abc")) == "container:abc"
    assert str(parse_network_mode("default")) == "bridge"
    assert parse_network_mode("none").private_namespace and not parse_network_mode("host").private_namespace
