"""OCI hooks: programs the runtime runs at lifecycle points, given the container's state on stdin.

Supported: ``prestart`` and ``createRuntime`` (run by ``create`` once the
container's namespaces and mounts exist, before its process can start: the
moment to configure its network namespace), ``poststart`` (by ``start``) and
``poststop`` (by ``delete``). ``createContainer`` and ``startContainer``, which
run inside the container, are not supported and are refused at ``create``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SUPPORTED = ("prestart", "createRuntime", "poststart", "poststop")
UNSUPPORTED = ("createContainer", "startContainer")


class HookError(Exception):
    pass


def run(hooks: list[dict[str, Any]], state: dict[str, Any], kind: str) -> None:
    """Run each hook in order; the first failure stops and raises with the hook's stderr."""
    import subprocess

    from dockwright.runtime.builtin import fastjson

    data = fastjson.dumps(state).encode()
    for h in hooks:
        path = h["path"]
        args = list(h.get("args") or [path])
        env = {}
        for e in h.get("env") or []:
            k, _, v = e.partition("=")
            env[k] = v
        timeout = h.get("timeout")
        try:
            r = subprocess.run([path, *args[1:]], executable=path, input=data, env=env, capture_output=True,
                               timeout=timeout if timeout else None)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise HookError(f"error running {kind} hook {path}: {e}") from e
        if r.returncode != 0:
            err = r.stderr.decode(errors="replace").strip()
            raise HookError(f"error running {kind} hook {path}: exit status {r.returncode}"
                            + (f", stderr: {err}" if err else ""))
