from __future__ import annotations

from typing import Any

import pytest

from dockwright.errors import InvalidParameter
from dockwright.images.changes import apply_changes


def test_changes_apply_like_docker() -> None:
    cfg: dict[str, Any] = {}
    apply_changes(cfg, [
        'CMD ["sh", "-c", "echo hi"]',
        "ENTRYPOINT /bin/run --flag",
        "ENV A=1 B=two",
        "ENV C three words",
        "ENV A=3",
        "EXPOSE 80 53/udp",
        'LABEL a=b "c d"=e',
        "USER app",
        "WORKDIR /srv",
        "VOLUME /data /logs",
        "STOPSIGNAL SIGINT",
        "ONBUILD RUN echo x",
    ])
    assert cfg["Cmd"] == ["sh", "-c", "echo hi"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/run --flag"]
    assert cfg["Env"] == ["B=two", "C=three words", "A=3"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"a": "b", "c d": "e"}
    assert cfg["User"] == "app" and cfg["WorkingDir"] == "/srv"
    assert cfg["Volumes"] == {"/data": {}, "/logs": {}}
    assert cfg["StopSignal"] == "SIGINT" and cfg["OnBuild"] == ["RUN echo x"]


@pytest.mark.parametrize("change", ["RUN echo x", "FROM busybox", "HEALTHCHECK NONE", "ENV", "LABEL =x"])
def test_bad_changes(change: str) -> None:
    with pytest.raises(InvalidParameter):
        apply_changes({}, [change])
