"""Docker seccomp profiles (``profiles/seccomp`` format) → the OCI ``linux.seccomp`` form.

Docker's profile is conditional: rules name the capabilities, architectures and
minimum kernel they apply to. The engine resolves those conditions once, when
it writes the bundle, for the container's bounding set and the host's
architecture and kernel, so every runtime (builtin, runc, crun) loads the same
unconditional filter. ``seccomp_default.json`` beside this module is Docker's
default profile (Apache-2.0, moby/profiles), kept unchanged as data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dockwright.errors import InvalidParameter

DEFAULT_PROFILE_PATH = Path(__file__).with_name("seccomp_default.json")

# uname machine → (Go arch name used by profile "arches", libseccomp native arch)
_ARCHES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "arm64": ("arm64", "SCMP_ARCH_AARCH64"),
    "i686": ("386", "SCMP_ARCH_X86"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
}

_DEFAULT_CACHE: dict[str, Any] = {}


def default_profile() -> dict[str, Any]:
    """Docker's default profile as parsed JSON (read once; callers must not mutate it)."""
    if "p" not in _DEFAULT_CACHE:
        _DEFAULT_CACHE["p"] = json.loads(DEFAULT_PROFILE_PATH.read_text())
    prof: dict[str, Any] = _DEFAULT_CACHE["p"]
    return prof


def parse_profile(text: str | bytes) -> dict[str, Any]:
    """Parse a user profile (``--security-opt seccomp=file``) with a message that names the problem."""
    try:
        prof = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"decoding seccomp profile failed: {exc}") from exc
    if not isinstance(prof, dict):
        raise InvalidParameter("decoding seccomp profile failed: the profile must be a JSON object")
    if "archMap" in prof and "architectures" in prof:
        raise InvalidParameter("'architectures' and 'archMap' were specified in the seccomp profile, use either "
                               "'architectures' or 'archMap'")
    for i, rule in enumerate(prof.get("syscalls") or []):
        if not isinstance(rule, dict):
            raise InvalidParameter(f"seccomp profile: syscalls[{i}] must be an object")
        if rule.get("name") and rule.get("names"):
            raise InvalidParameter("'name' and 'names' were specified in the seccomp profile, use either "
                                   "'name' or 'names'")
    return prof


def host_kernel() -> tuple[int, int]:
    release = os.uname().release
    parts = release.split("-", 1)[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return 0, 0


def _kernel_tuple(v: str) -> tuple[int, int]:
    p = v.split(".")
    try:
        return int(p[0]), int(p[1]) if len(p) > 1 else 0
    except ValueError as exc:
        raise InvalidParameter(f"seccomp profile: invalid minKernel {v!r}: use MAJOR.MINOR") from exc


def _has_all(needed: Iterable[str], have: set[str]) -> bool:
    return all(c in have for c in needed)


def translate(
    profile: Mapping[str, Any],
    capabilities: Sequence[str],
    *,
    machine: str | None = None,
    kernel: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Resolve the profile's conditions for these capabilities (the bounding set), arch and kernel."""
    machine = machine or os.uname().machine
    go_arch, native = _ARCHES.get(machine, (machine, ""))
    kernel = kernel or host_kernel()
    caps = set(capabilities)
    out: dict[str, Any] = {"defaultAction": profile.get("defaultAction") or "SCMP_ACT_ERRNO"}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
    arches: list[str] = []
    if profile.get("architectures"):
        arches = list(profile["architectures"])
    else:
        for entry in profile.get("archMap") or []:
            if entry.get("architecture") == native:
                arches = [native, *(entry.get("subArchitectures") or [])]
                break
    if arches:
        out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    syscalls: list[dict[str, Any]] = []
    for rule in profile.get("syscalls") or []:
        inc = rule.get("includes") or {}
        exc = rule.get("excludes") or {}
        if exc.get("arches") and go_arch in exc["arches"]:
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        if exc.get("minKernel") and kernel >= _kernel_tuple(exc["minKernel"]):
            continue
        if inc.get("arches") and go_arch not in inc["arches"]:
            continue
        if inc.get("caps") and not _has_all(inc["caps"], caps):
            continue
        if inc.get("minKernel") and kernel < _kernel_tuple(inc["minKernel"]):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        if not names:
            continue
        sc: dict[str, Any] = {"names": names, "action": rule.get("action") or "SCMP_ACT_ALLOW"}
        if rule.get("errnoRet") is not None:
            sc["errnoRet"] = int(rule["errnoRet"])
        if rule.get("args"):
            sc["args"] = [
                {k: a[k] for k in ("index", "value", "valueTwo", "op") if k in a and a[k] is not None}
                for a in rule["args"]
            ]
        syscalls.append(sc)
    out["syscalls"] = syscalls
    return out
