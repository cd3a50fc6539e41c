"""Compile an OCI ``linux.seccomp`` filter with libseccomp (ctypes) and install it.

The profile has already been resolved by the engine (see
``dockwright.runtime.seccomp``): every rule is unconditional. Compiling
Docker's profile takes libseccomp about 8 ms, so the runtime compiles it once,
in the parent, and keeps the BPF program in ``<root>/seccomp/<sha256>.bpf``
(keyed by the profile, the architecture, the kernel and libseccomp's version);
the container's init then installs the bytes with one ``prctl``. Installing
without no_new_privs needs CAP_SYS_ADMIN, which the init still has at that
point, so ``NoNewPrivs`` stays what the spec asks (Docker: 0).
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000
SCMP_ACT_TRACE = 0x7FF00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_NOTIFY = 0x7FC00000

_OPS = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}
# libseccomp's SCMP_ARCH_* tokens are the AUDIT_ARCH_* values
_ARCHES = {
    "SCMP_ARCH_X86": 0x40000003,
    "SCMP_ARCH_X86_64": 0xC000003E,
    "SCMP_ARCH_X32": 0x4000003E,
    "SCMP_ARCH_ARM": 0x40000028,
    "SCMP_ARCH_AARCH64": 0xC00000B7,
    "SCMP_ARCH_MIPS": 0x8,
    "SCMP_ARCH_MIPS64": 0x80000008,
    "SCMP_ARCH_MIPS64N32": 0xA0000008,
    "SCMP_ARCH_MIPSEL": 0x40000008,
    "SCMP_ARCH_MIPSEL64": 0xC0000008,
    "SCMP_ARCH_MIPSEL64N32": 0xE0000008,
    "SCMP_ARCH_PPC": 0x14,
    "SCMP_ARCH_PPC64": 0x80000015,
    "SCMP_ARCH_PPC64LE": 0xC0000015,
    "SCMP_ARCH_S390": 0x16,
    "SCMP_ARCH_S390X": 0x80000016,
    "SCMP_ARCH_RISCV64": 0xC00000F3,
}
_SCMP_FLTATR_CTL_NNP = 3
_SCMP_FLTATR_CTL_TSYNC = 4
_NR_SCMP_ERROR = -1


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _action(name: str, errno_ret: int | None, default_errno: int) -> int:
    if name == "SCMP_ACT_ALLOW":
        return SCMP_ACT_ALLOW
    if name == "SCMP_ACT_ERRNO":
        return SCMP_ACT_ERRNO | ((default_errno if errno_ret is None else errno_ret) & 0xFFFF)
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return SCMP_ACT_KILL_THREAD
    if name == "SCMP_ACT_KILL_PROCESS":
        return SCMP_ACT_KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return SCMP_ACT_TRAP
    if name == "SCMP_ACT_TRACE":
        return SCMP_ACT_TRACE | ((default_errno if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_LOG":
        return SCMP_ACT_LOG
    raise ValueError(f"seccomp: unsupported action {name}")


_LIB: list[ctypes.CDLL] = []


def preload() -> ctypes.CDLL:
    """dlopen libseccomp now: after pivot_root or setns the host's library is out of reach."""
    if _LIB:
        return _LIB[0]
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_version.restype = ctypes.c_void_p
    _LIB.append(lib)
    return lib


def _build(profile: dict[str, Any]) -> tuple[ctypes.CDLL, int]:
    lib = preload()
    default_errno = int(profile.get("defaultErrnoRet") or 1)
    default = _action(profile.get("defaultAction") or "SCMP_ACT_ERRNO", None, default_errno)
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise OSError(22, "seccomp_init failed")
    try:
        lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_NNP, 0)
        for arch in profile.get("architectures") or []:
            token = _ARCHES.get(arch)
            if token is None:
                continue
            rc = lib.seccomp_arch_add(ctx, token)
            if rc < 0 and rc != -17:  # EEXIST: the native arch is already in
                raise OSError(-rc, f"seccomp: adding arch {arch}: {os.strerror(-rc)}")
        for rule in profile.get("syscalls") or []:
            action = _action(rule.get("action") or "", rule.get("errnoRet"), default_errno)
            if action == default:
                continue
            args = rule.get("args") or []
            # Conditions on the same argument cannot be ANDed by libseccomp: one rule per condition then.
            same_arg = len({a.get("index", 0) for a in args}) < len(args)
            groups = [[a] for a in args] if same_arg else [args]
            for name in rule.get("names") or []:
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == _NR_SCMP_ERROR:
                    continue
                for group in groups:
                    arr = (_ArgCmp * max(len(group), 1))()
                    for i, a in enumerate(group):
                        arr[i].arg = int(a.get("index", 0))
                        arr[i].op = _OPS[a["op"]]
                        arr[i].datum_a = int(a.get("value", 0))
                        arr[i].datum_b = int(a.get("valueTwo", 0))
                    rc = lib.seccomp_rule_add_array(ctx, action, nr, len(group), arr)
                    if rc < 0:
                        raise OSError(-rc, f"seccomp: adding rule for {name}: {os.strerror(-rc)}")
    except BaseException:
        lib.seccomp_release(ctx)
        raise
    return lib, ctx


def compile_bpf(profile: dict[str, Any]) -> bytes:
    """The filter as the kernel's BPF program (an array of 8-byte sock_filter)."""
    lib, ctx = _build(profile)
    try:
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            rc = lib.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise OSError(-rc, f"seccomp: exporting the filter: {os.strerror(-rc)}")
            size = os.lseek(fd, 0, os.SEEK_END)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)


def _cache_key(profile: dict[str, Any]) -> str:
    import _sha256

    from dockwright.runtime.builtin import fastjson

    class _Ver(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    lib = preload()
    v = _Ver.from_address(lib.seccomp_version())
    u = os.uname()
    head = f"{u.machine}|{u.release}|{v.major}.{v.minor}.{v.micro}|"
    return str(_sha256.sha256((head + fastjson.dumps(profile, sort_keys=True)).encode()).hexdigest())


def bpf_for(profile: dict[str, Any], cache_dir: str | None) -> bytes:
    """The compiled filter, from the cache when possible (written atomically, never trusted if short)."""
    if cache_dir is None:
        return compile_bpf(profile)
    path = os.path.join(cache_dir, _cache_key(profile) + ".bpf")
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data and len(data) % 8 == 0:
            return data
    except OSError:
        pass
    data = compile_bpf(profile)
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    except OSError:
        pass
    return data


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def install(bpf: bytes) -> None:
    """Install a compiled filter on the calling thread (prctl; no libseccomp needed here)."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p).value)
    from dockwright.runtime.builtin.libc import _libc as libc

    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"seccomp: loading the filter: {os.strerror(e)}")
