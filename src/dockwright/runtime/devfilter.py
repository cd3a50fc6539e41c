"""The device cgroup on cgroup v2: OCI device rules compiled to an eBPF program and attached.

cgroup v2 has no devices.allow/deny files; the kernel asks a
``BPF_PROG_TYPE_CGROUP_DEVICE`` program attached to the cgroup instead. The
program checks the rules last to first and the first match decides, which is
v1's "the last rule written wins"; no match denies. Docker's rules thus still
allow ``mknod`` of anything and opening only the standard nodes.

The context the kernel passes (``struct bpf_cgroup_dev_ctx``)::

    u32 access_type   (access << 16) | type    type: 1 block, 2 char; access: 1 mknod, 2 read, 4 write
    u32 major
    u32 minor
"""

from __future__ import annotations

import ctypes
import os
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SYS_BPF = {"x86_64": 321, "aarch64": 280}
_BPF_PROG_LOAD = 5
_BPF_PROG_ATTACH = 8
_BPF_PROG_TYPE_CGROUP_DEVICE = 15
_BPF_CGROUP_DEVICE = 6
_BPF_F_ALLOW_MULTI = 2

_TYPES = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


_LDX_W = 0x61  # r_dst = *(u32 *)(r_src + off)
_AND32_K = 0x54
_RSH32_K = 0x74
_MOV64_K = 0xB7
_MOV64_X = 0xBF
_JNE_K = 0x55
_EXIT = 0x95


def compile_rules(rules: list[dict[str, Any]]) -> bytes:
    """BPF instructions for OCI ``linux.resources.devices`` (8 bytes each)."""
    prog = [
        _insn(_LDX_W, 2, 1, 0),  # r2 = access_type
        _insn(_AND32_K, 2, imm=0xFFFF),  # r2 = type
        _insn(_LDX_W, 3, 1, 0),
        _insn(_RSH32_K, 3, imm=16),  # r3 = access
        _insn(_LDX_W, 4, 1, 4),  # r4 = major
        _insn(_LDX_W, 5, 1, 8),  # r5 = minor
    ]
    for rule in reversed(rules):
        block: list[bytes] = []
        kind = rule.get("type") or "a"
        if kind in _TYPES:
            block.append(_insn(_JNE_K, 2, imm=_TYPES[kind]))
        elif kind != "a":
            continue
        acc = 0
        for ch in rule.get("access") or "rwm":
            acc |= _ACCESS.get(ch, 0)
        if acc != 7:
            block.append(_insn(_MOV64_X, 6, 3))
            block.append(_insn(_AND32_K, 6, imm=~acc & 0xFFFF))  # bits asked for beyond the rule's
            block.append(_insn(_JNE_K, 6, imm=0))
        if rule.get("major") is not None and rule["major"] >= 0:
            block.append(_insn(_JNE_K, 4, imm=int(rule["major"])))
        if rule.get("minor") is not None and rule["minor"] >= 0:
            block.append(_insn(_JNE_K, 5, imm=int(rule["minor"])))
        verdict = [_insn(_MOV64_K, 0, imm=1 if rule.get("allow") else 0), _insn(_EXIT)]
        # every conditional jump skips the rest of this block on a mismatch
        n = len(block)
        fixed = []
        for i, ins in enumerate(block):
            code, regs, off, imm = struct.unpack("<BBhi", ins)
            if code == _JNE_K:
                off = (n - i - 1) + len(verdict)
            fixed.append(struct.pack("<BBhi", code, regs, off, imm))
        prog += fixed + verdict
        if not block:
            # an unconditional rule decides everything left; the verifier rejects unreachable code
            return b"".join(prog)
    prog += [_insn(_MOV64_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(prog)


def _bpf(cmd: int, attr: bytes) -> int:
    nr = _SYS_BPF.get(os.uname().machine)
    if nr is None:
        raise OSError(38, "bpf: unsupported architecture")
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ret: int = libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), buf, ctypes.c_uint(len(attr)))
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"bpf({cmd}): {os.strerror(e)}")
    return ret


def attach(cgroup_dir: str, rules: list[dict[str, Any]]) -> None:
    """Load the program for ``rules`` and attach it to the v2 cgroup directory."""
    code = compile_rules(rules)
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"Apache")
    log = ctypes.create_string_buffer(65536)
    attr = struct.pack(
        "<IIQQIIQII",
        _BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8, ctypes.addressof(insns), ctypes.addressof(lic),
        1, len(log), ctypes.addressof(log), 0, 0,
    ).ljust(128, b"\0")
    try:
        prog_fd = _bpf(_BPF_PROG_LOAD, attr)
    except OSError as e:
        detail = log.value.decode(errors="replace").strip().splitlines()
        raise OSError(e.errno, f"loading the device filter: {e.strerror}"
                      + (f": {' / '.join(detail[-4:])}" if detail else "")) from e
    try:
        cg_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _bpf(_BPF_PROG_ATTACH, struct.pack("<IIII", cg_fd, prog_fd, _BPF_CGROUP_DEVICE,
                                               _BPF_F_ALLOW_MULTI).ljust(128, b"\0"))
        finally:
            os.close(cg_fd)
    finally:
        os.close(prog_fd)
