"""Spec composition: Docker's defaults, each option, and validation against the OCI runtime schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockwright.errors import InvalidParameter
from dockwright.runtime import caps
from dockwright.runtime import spec as S
from tests.unit.runtime.oci_schema import validate

DOCKER_MASK = 0xA80425FB


def test_default_spec_is_dockers() -> None:
    spec = S.default_spec("0123456789abcdef0123")
    validate(spec)
    assert spec["hostname"] == "0123456789ab"
    c = spec["process"]["capabilities"]
    assert c["bounding"] == c["effective"] == c["permitted"] == list(caps.DEFAULT_CAPS)
    assert caps.mask(c["bounding"]) == DOCKER_MASK
    assert "inheritable" not in c and "ambient" not in c
    linux = spec["linux"]
    assert {n["type"] for n in linux["namespaces"]} == {"pid", "network", "ipc", "uts", "mount", "cgroup"}
    assert "/proc/kcore" in linux["maskedPaths"] and "/sys/firmware" in linux["maskedPaths"]
    assert linux["readonlyPaths"] == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert list(mounts) == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    assert "size=67108864" in mounts["/dev/shm"]["options"]
    assert "ro" in mounts["/sys"]["options"] and "ro" in mounts["/sys/fs/cgroup"]["options"]
    devs = linux["resources"]["devices"]
    assert devs[0] == {"allow": False, "access": "rwm"}
    assert {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"} in devs


def test_default_seccomp_resolved_for_default_caps() -> None:
    sec = S.default_spec("x")["linux"]["seccomp"]
    assert sec["defaultAction"] == "SCMP_ACT_ERRNO"
    names = {n for r in sec["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]}
    assert "read" in names and "chroot" in names  # chroot: CAP_SYS_CHROOT is in the default set
    for forbidden in ("mount", "unshare", "setns", "reboot", "init_module", "bpf", "ptrace_not_a_syscall"):
        if forbidden != "ptrace_not_a_syscall":
            assert forbidden not in names
    clone = [r for r in sec["syscalls"] if r["names"] == ["clone"]]
    assert clone and clone[0]["args"] == [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]
    clone3 = [r for r in sec["syscalls"] if r["names"] == ["clone3"]]
    assert clone3 and clone3[0]["errnoRet"] == 38


def test_cap_add_re_resolves_seccomp() -> None:
    spec = S.build_spec("x", S.with_caps(add=["SYS_ADMIN"]))
    validate(spec)
    names = {n for r in spec["linux"]["seccomp"]["syscalls"] for n in r["names"] if "args" not in r}
    assert "mount" in names and "unshare" in names
    assert not [r for r in spec["linux"]["seccomp"]["syscalls"] if r["names"] == ["clone3"]]


def test_caps_add_drop_rules() -> None:
    spec = S.build_spec("x", S.with_caps(add=["net_admin"], drop=["CHOWN", "cap_kill"]))
    b = spec["process"]["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in b and "CAP_CHOWN" not in b and "CAP_KILL" not in b
    spec = S.build_spec("x", S.with_caps(drop=["ALL"], add=["NET_RAW"]))
    assert spec["process"]["capabilities"]["effective"] == ["CAP_NET_RAW"]
    with pytest.raises(InvalidParameter):
        S.with_caps(add=["NOT_A_CAP"])


def test_privileged() -> None:
    spec = S.build_spec("x", S.with_privileged())
    validate(spec)
    assert "seccomp" not in spec["linux"]
    assert spec["linux"]["maskedPaths"] == [] and spec["linux"]["readonlyPaths"] == []
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_seccomp_unconfined_and_custom() -> None:
    assert "seccomp" not in S.build_spec("x", S.with_seccomp(None))["linux"]
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}
    spec = S.build_spec("x", S.with_seccomp(json.dumps(prof)))
    validate(spec)
    assert spec["linux"]["seccomp"]["syscalls"] == [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]
    with pytest.raises(InvalidParameter, match="decoding seccomp profile"):
        S.with_seccomp("{not json")


def test_process_user_env_hostname() -> None:
    spec = S.build_spec(
        "abc", S.with_process(["sh", "-c", "x"], env=["PATH=/bin", "A=1"], cwd="/tmp", user=(1000, 1000, [1000, 10]),
                              terminal=True),
        S.with_hostname("web"))
    validate(spec)
    p = spec["process"]
    assert p["args"] == ["sh", "-c", "x"] and p["cwd"] == "/tmp" and p["terminal"] is True
    assert p["env"] == ["PATH=/bin", "HOSTNAME=web", "A=1"]
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}
    with pytest.raises(InvalidParameter):
        S.with_process(["x"], cwd="relative")
    with pytest.raises(InvalidParameter):
        S.with_process([])


def test_resources() -> None:
    spec = S.build_spec("x", S.with_resources(memory=64 << 20, cpus=1.5, cpu_shares=512, cpuset_cpus="0",
                                              pids_limit=100, oom_kill_disable=True))
    validate(spec)
    r = spec["linux"]["resources"]
    assert r["memory"] == {"limit": 64 << 20, "swap": 128 << 20, "disableOOMKiller": True}
    assert r["cpu"] == {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0"}
    assert r["pids"] == {"limit": 100}
    spec = S.build_spec("x", S.with_resources(memory=64 << 20, memory_swap=-1, pids_limit=-1))
    assert spec["linux"]["resources"]["memory"]["swap"] == -1
    assert spec["linux"]["resources"]["pids"] == {"limit": -1}
    with pytest.raises(InvalidParameter, match="Minimum memory limit"):
        S.with_resources(memory=1024)
    with pytest.raises(InvalidParameter, match="Conflicting options"):
        S.with_resources(cpus=1, cpu_quota=5000)


def test_mounts_tmpfs_shm_and_override() -> None:
    spec = S.build_spec("x", S.with_mounts([S.bind_mount("/srv/data", "/data", readonly=True)]),
                        S.with_tmpfs("/run", "size=1m,exec"), S.with_shm_size(1 << 20),
                        S.with_mounts([{"destination": "/dev/shm", "type": "bind", "source": "/dev/shm",
                                        "options": ["rbind"]}]))
    validate(spec)
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.count("/dev/shm") == 1
    assert dests.index("/dev") < dests.index("/dev/shm")
    m = {x["destination"]: x for x in spec["mounts"]}
    assert m["/data"]["options"] == ["rbind", "rprivate", "ro"]
    assert m["/run"]["options"] == ["nodev", "nosuid", "size=1m"]
    assert m["/dev/shm"]["type"] == "bind"
    spec = S.build_spec("x", S.with_shm_size(1 << 20))
    assert "size=1048576" in {x["destination"]: x for x in spec["mounts"]}["/dev/shm"]["options"]


def test_devices_ulimits_sysctls_namespaces_cgroups() -> None:
    spec = S.build_spec("x", S.with_devices(["/dev/null:/dev/mynull:rw"]),
                        S.with_ulimits([("nofile", 1024, 2048), ("core", -1, -1)]),
                        S.with_sysctls({"net.ipv4.ip_forward": "1"}),
                        S.with_namespace("network", "/proc/1/ns/net"), S.with_host_namespace("ipc"),
                        S.with_cgroups_path("/custom/x"))
    validate(spec)
    linux = spec["linux"]
    assert linux["devices"][0]["path"] == "/dev/mynull" and linux["devices"][0]["major"] == 1
    assert linux["resources"]["devices"][-1] == {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                 "access": "rw"}
    assert spec["process"]["rlimits"][0] == {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}
    assert spec["process"]["rlimits"][1]["soft"] == (1 << 64) - 1
    assert linux["sysctl"] == {**S.NETNS_SYSCTLS, "net.ipv4.ip_forward": "1"}
    ns = {n["type"]: n for n in linux["namespaces"]}
    assert ns["network"] == {"type": "network", "path": "/proc/1/ns/net"} and "ipc" not in ns
    assert linux["cgroupsPath"] == "/custom/x"
    with pytest.raises(InvalidParameter, match="not allowed"):
        S.with_sysctls({"kernel.panic": "1"})
    with pytest.raises(InvalidParameter):
        S.with_devices(["/dev/does-not-exist"])
    with pytest.raises(InvalidParameter):
        S.with_ulimits([("nofile", 10, 5)])


def test_options_do_not_share_state() -> None:
    a = S.default_spec("a")
    b = S.default_spec("b")
    a["mounts"][0]["options"].append("x")
    a["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    assert "x" not in b["mounts"][0]["options"]
    assert "CAP_SYS_ADMIN" not in b["process"]["capabilities"]["bounding"]


def test_host_network_drops_netns_sysctls() -> None:
    assert S.default_spec("x")["linux"]["sysctl"] == S.NETNS_SYSCTLS
    spec = S.build_spec("x", S.with_host_namespace("network"))
    validate(spec)
    assert "sysctl" not in spec["linux"]
    assert "network" not in {n["type"] for n in spec["linux"]["namespaces"]}


def test_seccomp_translation_conditions() -> None:
    from dockwright.runtime import seccomp

    prof = seccomp.default_profile()
    x86 = seccomp.translate(prof, list(caps.DEFAULT_CAPS), machine="x86_64", kernel=(6, 1))
    arm = seccomp.translate(prof, list(caps.DEFAULT_CAPS), machine="aarch64", kernel=(6, 1))
    old = seccomp.translate(prof, list(caps.DEFAULT_CAPS), machine="x86_64", kernel=(4, 4))

    def allowed(t: dict[str, Any]) -> set[str]:
        return {n for r in t["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]}

    assert x86["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "arch_prctl" in allowed(x86) and "arch_prctl" not in allowed(arm)
    assert "breakpoint" in allowed(arm) and "breakpoint" not in allowed(x86)
    assert "ptrace" in allowed(x86) and "ptrace" not in allowed(old)  # minKernel 4.8
    assert x86["defaultErrnoRet"] == 1
    ptrace_caps = seccomp.translate(prof, [*caps.DEFAULT_CAPS, "CAP_SYS_PTRACE"], machine="x86_64", kernel=(6, 1))
    assert "kcmp" in allowed(ptrace_caps) and "kcmp" not in allowed(x86)
