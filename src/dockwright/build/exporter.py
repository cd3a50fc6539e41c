"""Image configs and history as Docker's legacy builder writes them.

Every step yields a full image config (the parent's plus one history entry and,
for steps with a layer, one diff ID); its digest is the ID the build prints
after the step. Metadata instructions record ``/bin/sh -c #(nop)  ENV A=b``
with ``empty_layer``; RUN records the shell command (prefixed with
``|N K=V`` when build args were in its environment); COPY/ADD record
``COPY file:<sha> in /dst`` or ``dir:``/``multi:``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from dockwright.images.imageconfig import encode, go_arch, now_rfc3339
from dockwright.oci.digest import sha256_bytes

CONTAINER_CONFIG_KEYS = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
                         "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck",
                         "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled",
                         "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell")


def ordered(run: Mapping[str, Any]) -> dict[str, Any]:
    """Docker's field order (Go struct order), so configs read the same as dockerd's."""
    out = {k: run[k] for k in CONTAINER_CONFIG_KEYS if k in run}
    out.update({k: v for k, v in run.items() if k not in out})
    return out


def default_run_config() -> dict[str, Any]:
    return {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
            "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": None,
            "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None}


def scratch_config() -> dict[str, Any]:
    return {"architecture": go_arch(), "config": default_run_config(), "created": now_rfc3339(),
            "history": [], "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}


def base_config(raw: bytes) -> dict[str, Any]:
    cfg: dict[str, Any] = json.loads(raw)
    run = default_run_config()
    run.update({k: v for k, v in (cfg.get("config") or {}).items()})
    if not run.get("Env"):
        run["Env"] = default_run_config()["Env"]
    cfg["config"] = run
    cfg.setdefault("history", [])
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    return cfg


def image_id(cfg: Mapping[str, Any]) -> str:
    return sha256_bytes(encode(dict(cfg)))


def next_config(parent: Mapping[str, Any], parent_id: str, run_config: Mapping[str, Any], created_by: str, *,
                diff_id: str | None, comment_cmd: list[str]) -> dict[str, Any]:
    """The config after one step; ``diff_id`` None means no layer (``empty_layer``)."""
    cfg = copy.deepcopy(dict(parent))
    created = now_rfc3339()
    run = dict(run_config)
    run["Image"] = parent_id
    run = ordered(run)
    cfg["config"] = run
    container = dict(run)
    container["Cmd"] = comment_cmd
    cfg["container_config"] = container
    cfg["created"] = created
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if diff_id is None:
        entry["empty_layer"] = True
    else:
        cfg["rootfs"] = {"type": "layers", "diff_ids": [*cfg.get("rootfs", {}).get("diff_ids", []), diff_id]}
    cfg["history"] = [*cfg.get("history", []), entry]
    cfg.pop("container", None)
    return cfg


def nop(text: str) -> tuple[str, list[str]]:
    """(created_by, the container_config Cmd) of a metadata-only instruction."""
    return f"/bin/sh -c #(nop)  {text}", ["/bin/sh", "-c", "#(nop) ", text]


def nop_one_space(text: str) -> tuple[str, list[str]]:
    """WORKDIR/COPY/ADD write their comment without the second space."""
    return f"/bin/sh -c #(nop) {text}", ["/bin/sh", "-c", f"#(nop) {text}"]


def run_created_by(argv: list[str], args: Mapping[str, str]) -> str:
    text = " ".join(argv)
    if args:
        pairs = " ".join(f"{k}={v}" for k, v in sorted(args.items()))
        return f"|{len(args)} {pairs} {text}"
    return text


def set_env(env: list[str] | None, pairs: list[tuple[str, str]]) -> list[str]:
    """ENV: a name already set keeps its place and takes the new value; new names go last."""
    out = list(env or [])
    for key, value in pairs:
        for i, e in enumerate(out):
            if e.partition("=")[0] == key:
                out[i] = f"{key}={value}"
                break
        else:
            out.append(f"{key}={value}")
    return out


_HEALTH_FIELDS = ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")


def healthcheck(test: list[str], values: Mapping[str, int], parent: Mapping[str, Any] | None) -> dict[str, Any]:
    """HEALTHCHECK's config. An option left unset takes the parent image's value, as dockerd's
    legacy builder does (it merges each step's config with its parent's when it creates the
    step's container, and that merge writes into the healthcheck it then commits)."""
    hc: dict[str, Any] = {"Test": list(test)}
    for k in _HEALTH_FIELDS:
        v = values.get(k) or (parent or {}).get(k)
        if v:
            hc[k] = v
    return hc


def final_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(cfg)
    out.pop("container_config", None)
    return out
