"""``create``, ``start`` and ``run``: the container's init and its start-up handshake.

    create (this process)                      init (forked child, pid 1 of the new pid ns)
    ─────────────────────                      ───────────────────────────────────────────
    state dir, exec.fifo, cgroup + limits
    unshare(NEWPID) (or setns), fork  ───────►  join cgroup, unshare/setns the other namespaces
                                                mounts, devices, pivot_root, masks, hostname,
                                                console, rlimits, seccomp, caps, uid/gid
    wait for "R" on the sync pipe   ◄───────   write "R" (or "E<message>" and exit)
    write state.json + pid file, exit          block opening exec.fifo for writing
    start: open exec.fifo, read "0"  ───────►  write "0", execve(process.args)

With a user namespace the child first unshares it, waits for ``create`` to
write its uid/gid maps ("U" … "G"), becomes the namespace's root, unshares the
pid namespace (so that the new user namespace owns it) and forks again; that
grandchild is the init, its pid is reported as "P<pid>", and ``create`` (a
subreaper) adopts it.

The init is a forked copy of this Python process, so nothing is re-imported:
the cost of a container start is this module's imports plus the system calls.
"""

from __future__ import annotations

import os
import time

from dockwright.runtime.builtin import fastjson
from dockwright.runtime.builtin import libc as L
from dockwright.runtime.builtin import mounts as M
from dockwright.runtime.builtin import process as P
from dockwright.runtime.builtin.state import CommandError, Container, container_dir, proc_start_time
from dockwright.runtime.cgroups import Cgroup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


def _now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e9):09d}Z"


def _connect_console(path: str) -> int:
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise CommandError(f"failed to connect to console socket {path}: {e.strerror}") from e
    return s.detach()


def create(root: str, cid: str, bundle: str, pid_file: str | None, console_socket: str | None,
           preserve_fds: int = 0) -> Container:
    cdir = container_dir(root, cid)
    bundle = os.path.abspath(bundle)
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            raw = f.read()
    except OSError as e:
        raise CommandError(f"JSON specification file config.json not found in bundle {bundle}: "
                            f"{e.strerror}") from e
    try:
        cfg: dict[str, Any] = fastjson.loads(raw)
    except ValueError as e:
        raise CommandError(f"invalid config.json: {e}") from e
    process = cfg.get("process") or {}
    linux = cfg.get("linux") or {}
    if not process.get("args"):
        raise CommandError("args must not be empty")
    if process.get("terminal") and not console_socket:
        raise CommandError("cannot allocate tty if runc will detach without setting console socket")
    if not process.get("terminal") and console_socket:
        raise CommandError("cannot use console socket if runc will not detach or allocate tty")
    nss = linux.get("namespaces") or []
    types = [n["type"] for n in nss]
    userns = next((n for n in nss if n["type"] == "user"), None)
    if userns is not None:
        if userns.get("path") or any(n.get("path") for n in nss if n["type"] == "pid"):
            raise CommandError("joining an existing user or pid namespace with a user namespace is not supported "
                               "by the builtin runtime: use runc or crun")
        if not linux.get("uidMappings") or not linux.get("gidMappings"):
            raise CommandError("user namespaces enabled, but no user mappings found")
    if "mount" not in types:
        raise CommandError("the builtin runtime needs a mount namespace (linux.namespaces type mount)")
    hooks = cfg.get("hooks") or {}
    from dockwright.runtime.builtin.hooks import UNSUPPORTED

    for kind in UNSUPPORTED:
        if hooks.get(kind):
            raise CommandError(f"{kind} hooks are not supported by the builtin runtime")
    rootfs = (cfg.get("root") or {}).get("path") or "rootfs"
    rootfs = os.path.realpath(os.path.join(bundle, rootfs))
    if not os.path.isdir(rootfs):
        raise CommandError(f"rootfs ({rootfs}) does not exist")

    os.makedirs(root, mode=0o711, exist_ok=True)
    try:
        os.mkdir(cdir, 0o711)
    except FileExistsError:
        raise CommandError(f"container with id exists: {cid}") from None
    cg: Cgroup | None = None
    fds: list[int] = []
    try:
        with open(os.path.join(cdir, "config.json"), "wb") as f:
            f.write(raw)
        fifo = os.path.join(cdir, "exec.fifo")
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # past the umask: the init may be a mapped, unprivileged uid
        fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        fds.append(fifo_fd)
        try:
            cg = Cgroup.for_path(linux.get("cgroupsPath") or f"/dockwright-runtime/{cid}")
            cg.create(linux.get("resources") or {})
        except (OSError, ValueError) as e:
            raise CommandError(f"unable to apply cgroup configuration: {e}") from e
        console_fd = _connect_console(console_socket) if console_socket else -1
        if console_fd >= 0:
            fds.append(console_fd)
        r, w = os.pipe()
        fds.append(r)
        P.preload(process)
        try:
            bpf = P.seccomp_bpf(linux.get("seccomp"), root)
        except (OSError, ValueError, KeyError) as e:
            raise CommandError(f"unable to compile the seccomp profile: {e}") from e
        pidns = next((n for n in nss if n["type"] == "pid"), None)
        # our own pid namespace, to return to after the fork: hooks must not start inside the container's
        own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        fds.append(own_pidns)
        maps: tuple[int, int] | None = None
        if userns is not None:
            # the pid namespace must belong to the user namespace: the child creates both, and its
            # child is the init, which we adopt as subreaper (`run` waits for it)
            maps = os.pipe()
            fds.extend(maps)
            L.prctl(L.PR_SET_CHILD_SUBREAPER, 1)
            pidns = None
        if pidns is not None:
            if pidns.get("path"):
                nsfd = os.open(pidns["path"], os.O_RDONLY | os.O_CLOEXEC)
                try:
                    L.setns(nsfd, L.CLONE_NEWPID)
                finally:
                    os.close(nsfd)
            else:
                L.unshare(L.CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            _init(cfg, bundle, rootfs, cg, fifo_fd, w, console_fd, bpf, cid, preserve_fds, maps)
        os.close(w)
        if pidns is not None:
            L.setns(own_pidns, L.CLONE_NEWPID)
        msg = b""
        if maps is not None:
            msg = _map_user_namespace(pid, linux, r, maps[1])
            if msg.startswith(b"P"):
                intermediate, pid = pid, int(msg[1:])
                os.waitpid(intermediate, 0)
                msg = b""
        while not msg.startswith(b"E"):
            chunk = os.read(r, 65536)
            if not chunk:
                break
            msg += chunk
            if msg == b"R":
                break
        if msg != b"R":
            _reap(pid)
            text = msg[1:].decode(errors="replace") if msg.startswith(b"E") else "container init exited early"
            raise CommandError(text)
        st = _start_time(pid)
        c = Container(root, cid, {
            "id": cid, "pid": pid, "start_time": st, "bundle": bundle, "rootfs": rootfs,
            "created": _now_rfc3339(), "cgroup": cg.to_json(), "annotations": cfg.get("annotations") or {},
            "hooks": {k: hooks[k] for k in ("poststart", "poststop") if hooks.get(k)},
        })
        pre = [*(hooks.get("prestart") or []), *(hooks.get("createRuntime") or [])]
        if pre:
            from dockwright.runtime.builtin import hooks as H

            try:
                H.run(pre, dict(c.oci_state(), status="creating"), "createRuntime")
            except H.HookError as e:
                _reap(pid)
                raise CommandError(str(e)) from e
        c.save()
        if pid_file:
            _write_pid_file(pid_file, pid)
        return c
    except BaseException:
        if cg is not None:
            try:
                cg.destroy(timeout=1.0)
            except OSError:
                pass
        _rmtree(cdir)
        raise
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass


def _loopback_up() -> None:
    """A new network namespace starts with ``lo`` down; bring it up as runc does (ping 127.0.0.1 works)."""
    fd = L.socket_inet_dgram()
    try:
        req = bytearray(b"lo".ljust(16, b"\0") + bytes(24))
        L.ioctl(fd, 0x8913, req)  # SIOCGIFFLAGS
        flags = int.from_bytes(req[16:18], "little") | 0x1 | 0x40  # IFF_UP | IFF_RUNNING
        req[16:18] = flags.to_bytes(2, "little")
        L.ioctl(fd, 0x8914, req)  # SIOCSIFFLAGS
    finally:
        os.close(fd)


def _read_msg(r: int) -> bytes:
    """One handshake message: a tag byte, then up to a newline ("P123\n") or the end ("E...")."""
    data = b""
    while True:
        b = os.read(r, 1)
        if not b:
            return data
        data += b
        if data.startswith((b"U", b"R")) or (data.startswith(b"P") and b == b"\n"):
            return data.strip()
        if data.startswith(b"E"):
            rest = b""
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    return data + rest
                rest += chunk


def _map_user_namespace(child: int, linux: dict[str, Any], r: int, go: int) -> bytes:
    """Write the child's uid/gid maps once it made its user namespace; returns the next message."""
    msg = _read_msg(r)
    if msg != b"U":
        return msg
    for kind, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
        text = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in linux.get(key) or [])
        try:
            with open(f"/proc/{child}/{kind}", "w") as f:
                f.write(text)
        except OSError as e:
            return b"E" + f"unable to write {kind} for the user namespace: {e.strerror}".encode()
    os.write(go, b"G")
    return _read_msg(r)


def _start_time(pid: int) -> int:
    st = proc_start_time(pid)
    return st[0] if st else 0


def _reap(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _write_pid_file(path: str, pid: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def _rmtree(d: str) -> None:
    try:
        for name in os.listdir(d):
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass
        os.rmdir(d)
    except OSError:
        pass


def _enter_user_namespace(sync_w: int, maps: tuple[int, int], want_pidns: bool) -> None:
    """unshare(NEWUSER), let `create` write the maps, become the namespace's root; then the pid
    namespace (owned by the new user namespace, so /proc can be mounted) and fork: the child goes
    on as the init, this process reports its pid and exits."""
    os.close(maps[1])
    L.unshare(L.CLONE_NEWUSER)
    os.write(sync_w, b"U")
    if os.read(maps[0], 1) != b"G":
        os._exit(1)
    os.close(maps[0])
    os.setresgid(0, 0, 0)
    os.setgroups([])
    os.setresuid(0, 0, 0)
    if want_pidns:
        L.unshare(L.CLONE_NEWPID)
    pid = os.fork()
    if pid != 0:
        os.write(sync_w, f"P{pid}\n".encode())
        os._exit(0)
    L.prctl(L.PR_SET_DUMPABLE, 0)


def _init(cfg: dict[str, Any], bundle: str, rootfs: str, cg: Cgroup | None, fifo_fd: int, sync_w: int,
          console_fd: int, bpf: bytes | None, cid: str, preserve_fds: int,
          maps: tuple[int, int] | None = None) -> NoReturn:
    """The container's init: never returns; reports errors on the sync pipe until it is ready."""
    ready = False
    try:
        os.umask(0)
        L.prctl(L.PR_SET_DUMPABLE, 0)
        # die with `create` if it dies before the handshake; cleared before "R" is sent
        L.prctl(L.PR_SET_PDEATHSIG, 9)
        process: dict[str, Any] = cfg.get("process") or {}
        linux: dict[str, Any] = cfg.get("linux") or {}
        if cg is not None:
            cg.join(0)
        if process.get("oomScoreAdj") is not None:  # while still host root: the file is root's
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(process["oomScoreAdj"]))
        types = {n["type"] for n in linux.get("namespaces") or []}
        if maps is not None:
            _enter_user_namespace(sync_w, maps, "pid" in types)
        flags = 0
        for ns in linux.get("namespaces") or []:
            t = ns["type"]
            if t in ("pid", "user"):
                continue
            if ns.get("path"):
                nsfd = os.open(ns["path"], os.O_RDONLY | os.O_CLOEXEC)
                try:
                    L.setns(nsfd, L.NS_FLAGS[t])
                finally:
                    os.close(nsfd)
            else:
                flags |= L.NS_FLAGS[t]
        if flags:
            L.unshare(flags)
        if flags & L.CLONE_NEWNET:
            _loopback_up()
        L.join_session_keyring(f"_ses.{cid}")
        mounts = list(cfg.get("mounts") or [])
        M.prepare_root(rootfs, linux.get("rootfsPropagation"))
        # cgroup v1 cannot be mounted from a user namespace: the container's own dirs are bound instead
        M.mount_all(rootfs, bundle, mounts, cg, "cgroup" in types and maps is None)
        dev_tmpfs = any(m.get("destination") == "/dev" and m.get("type") == "tmpfs" for m in mounts)
        M.create_devices(rootfs, list(linux.get("devices") or []), dev_tmpfs)
        M.pivot(rootfs)
        if linux.get("sysctl"):
            M.write_sysctls(linux["sysctl"])
        M.mask_paths(list(linux.get("maskedPaths") or []))
        M.readonly_paths(list(linux.get("readonlyPaths") or []))
        if (cfg.get("root") or {}).get("readonly"):
            M.readonly_root()
        if "uts" in types:
            if cfg.get("hostname"):
                L.sethostname(cfg["hostname"])
            if cfg.get("domainname"):
                L.setdomainname(cfg["domainname"])
        P.enter_session(process, console_fd, mount_console=True)
        path = P.finalize(process, bpf)
        P.cloexec_all(preserve_fds)
        L.prctl(L.PR_SET_PDEATHSIG, 0)
        os.write(sync_w, b"R")
        os.close(sync_w)
        ready = True
        fd = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(fd, b"0")
        os.close(fd)
        P.load_late_seccomp(process, bpf)
        P.execve(path, process)
    except BaseException as e:  # noqa: BLE001 - the init must report everything and exit
        msg = str(e) if isinstance(e, (P.ExecError, OSError)) else f"{type(e).__name__}: {e}"
        if isinstance(e, OSError) and not isinstance(e, P.ExecError) and e.strerror and e.filename is None:
            msg = e.strerror
        if not ready:
            try:
                os.write(sync_w, b"E" + f"unable to start container process: {msg}".encode())
            except OSError:
                pass
        else:
            try:
                os.write(2, f"{msg}\n".encode())
            except OSError:
                pass
    os._exit(255 if ready else 1)


def start(c: Container) -> None:
    status = c.status()
    if status == "stopped":
        raise CommandError("cannot start a container that has stopped")
    if status != "created":
        raise CommandError("cannot start an already running container")
    try:
        fd = os.open(c.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CommandError("cannot start an already running container") from None
    try:
        deadline = time.monotonic() + 10.0
        while True:
            data = _read_byte(fd)
            if data:
                break
            if not c.alive():
                # it may have opened the fifo, written its byte and run to its end (`true`) since our
                # read: the byte is still in the fifo, and then the start did happen
                if _read_byte(fd):
                    break
                raise CommandError("cannot start a container that has stopped")
            if time.monotonic() > deadline:
                raise CommandError("timed out waiting for the container's init")
            time.sleep(0.0002 if data is None else 0.0005)
    finally:
        os.close(fd)
    try:
        os.unlink(c.fifo)
    except FileNotFoundError:
        pass
    post = (c.data.get("hooks") or {}).get("poststart")
    if post:
        from dockwright.runtime.builtin import hooks as H

        try:
            H.run(post, c.oci_state(), "poststart")
        except H.HookError as e:
            raise CommandError(str(e)) from e


def _read_byte(fd: int) -> bytes | None:
    """One byte from the non-blocking exec fifo; None while the init holds it open without having
    written (its byte is near), b"" while it has not opened it yet."""
    try:
        return os.read(fd, 1)
    except BlockingIOError:
        return None
