"""``run``/``create`` flags and the ``POST /containers/create`` body they become.

The body has the shape the docker CLI sends (every HostConfig field present,
zero when unset, ``null`` where Go has a nil slice), so a daemon sees the same
request from either client; unit tests pin it against bodies captured from the
docker CLI. Values are parsed with docker's rules: binary units for memory,
Go durations for health checks, ``CAP_`` prefixes, env files whose bare names
are looked up in the caller's environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

from dockwright.cli.flags import CommandSpec, Flag, UsageError
from dockwright.cli.flagspecs import bool_flag, int_flag, list_flag, platform_flag, string_flag
from dockwright.errors import InvalidParameter

T = TypeVar("T")

# the flags ``exec`` (and ``start``/``attach`` the detach keys) share with ``run``/``create``
DETACH_KEYS = string_flag("detach-keys", "Override the key sequence for detaching a container")
ENV = list_flag("env", "Set environment variables", short="e")
ENV_FILE = list_flag("env-file", "Read in a file of environment variables")
INTERACTIVE = bool_flag("interactive", "Keep STDIN open even if not attached", short="i")
TTY = bool_flag("tty", "Allocate a pseudo-TTY", short="t")
WORKDIR = string_flag("workdir", "Working directory inside the container", short="w")

RUN_ONLY_FLAGS = [
    bool_flag("detach", "Run container in background and print container ID", short="d"),
    DETACH_KEYS,
    bool_flag("rm", "Automatically remove the container and its associated anonymous volumes when it exits"),
    bool_flag("sig-proxy", "Proxy received signals to the process", default=True),
]

CREATE_FLAGS = [
    list_flag("add-host", "Add a custom host-to-IP mapping (host:ip)"),
    list_flag("attach", "Attach to STDIN, STDOUT or STDERR", short="a"),
    int_flag("blkio-weight", "Block IO (relative weight), between 10 and 1000, or 0 to disable", metavar="uint16",
             default=0),
    string_flag("cgroup-parent", "Optional parent cgroup for the container"),
    string_flag("cgroupns", "Cgroup namespace to use (host|private)"),
    string_flag("cidfile", "Write the container ID to the file"),
    int_flag("cpu-period", "Limit CPU CFS (Completely Fair Scheduler) period", default=0),
    int_flag("cpu-quota", "Limit CPU CFS (Completely Fair Scheduler) quota", default=0),
    string_flag("cpuset-mems", "MEMs in which to allow execution (0-3, 0,1)"),
    list_flag("dns", "Set custom DNS servers"),
    list_flag("dns-option", "Set DNS options"),
    list_flag("dns-search", "Set custom DNS search domains"),
    string_flag("domainname", "Container NIS domain name"),
    list_flag("group-add", "Add additional groups to join"),
    string_flag("ipc", "IPC mode to use"),
    string_flag("log-driver", "Logging driver for the container"),
    list_flag("log-opt", "Log driver options"),
    string_flag("memory-reservation", "Memory soft limit", metavar="bytes"),
    int_flag("oom-score-adj", "Tune host's OOM preferences (-1000 to 1000)", default=0),
    string_flag("pid", "PID namespace to use"),
    bool_flag("publish-all", "Publish all exposed ports to random ports", short="P"),
    string_flag("userns", "User namespace to use"),
    string_flag("uts", "UTS namespace to use"),
    list_flag("volumes-from", "Mount volumes from the specified container(s)"),
    list_flag("cap-add", "Add Linux capabilities"),
    list_flag("cap-drop", "Drop Linux capabilities"),
    int_flag("cpu-shares", "CPU shares (relative weight)", short="c", default=0),
    string_flag("cpus", "Number of CPUs", metavar="decimal"),
    string_flag("cpuset-cpus", "CPUs in which to allow execution (0-3, 0,1)"),
    list_flag("device", "Add a host device to the container"),
    string_flag("entrypoint", "Overwrite the default ENTRYPOINT of the image"),
    ENV,
    ENV_FILE,
    list_flag("expose", "Expose a port or a range of ports"),
    string_flag("health-cmd", "Command to run to check health"),
    string_flag("health-interval", "Time between running the check (ms|s|m|h) (default 0s)", metavar="duration"),
    int_flag("health-retries", "Consecutive failures needed to report unhealthy", default=0),
    string_flag("health-start-period", "Start period for the container to initialize before starting "
                "health-retries countdown (ms|s|m|h) (default 0s)", metavar="duration"),
    string_flag("health-timeout", "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", metavar="duration"),
    string_flag("hostname", "Container host name", short="h"),
    bool_flag("init", "Run an init inside the container that forwards signals and reaps processes"),
    INTERACTIVE,
    list_flag("label", "Set meta data on a container", short="l"),
    list_flag("label-file", "Read in a line delimited file of labels"),
    list_flag("link", "Add link to another container"),
    string_flag("mac-address", "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    list_flag("mount", "Attach a filesystem mount to the container", metavar="mount"),
    string_flag("memory", "Memory limit", short="m", metavar="bytes"),
    string_flag("memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", metavar="bytes"),
    string_flag("name", "Assign a name to the container"),
    string_flag("network", "Connect a container to a network", metavar="network"),
    string_flag("net", hidden=True),
    bool_flag("no-healthcheck", "Disable any container-specified HEALTHCHECK"),
    bool_flag("oom-kill-disable", "Disable OOM Killer"),
    int_flag("pids-limit", "Tune container pids limit (set -1 for unlimited)", default=0),
    platform_flag(),
    bool_flag("privileged", "Give extended privileges to this container"),
    list_flag("publish", "Publish a container's port(s) to the host", short="p"),
    string_flag("pull", 'Pull image before running ("always", "missing", "never")', default="missing"),
    bool_flag("quiet", "Suppress the pull output", short="q"),
    bool_flag("read-only", "Mount the container's root filesystem as read only"),
    string_flag("restart", "Restart policy to apply when a container exits", default="no"),
    string_flag("runtime", "Runtime to use for this container"),
    list_flag("security-opt", "Security Options"),
    string_flag("shm-size", "Size of /dev/shm", metavar="bytes"),
    string_flag("stop-signal", "Signal to stop the container"),
    int_flag("stop-timeout", "Timeout (in seconds) to stop a container"),
    list_flag("sysctl", "Sysctl options", metavar="map"),
    list_flag("tmpfs", "Mount a tmpfs directory"),
    TTY,
    list_flag("ulimit", "Ulimit options", metavar="ulimit"),
    string_flag("user", "Username or UID (format: <name|uid>[:<group|gid>])", short="u"),
    list_flag("volume", "Bind mount a volume", short="v"),
    WORKDIR,
]


def run_flags() -> list[Flag]:
    return sorted([*CREATE_FLAGS, *RUN_ONLY_FLAGS], key=lambda f: f.long)


# --------------------------------------------------------------------------- value parsers

_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([a-zA-Z]*)$")
_BINARY = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """go-units ``RAMInBytes``: ``64m`` is 64 MiB; suffixes k/m/g/t/p with optional ``i`` and ``b``."""
    m = _SIZE.match(text.strip())
    if not m:
        raise ValueError(f"invalid size: '{text}'")
    suffix = m.group(2).lower()
    unit = suffix
    if unit.endswith("b"):
        unit = unit[:-1]
    if unit.endswith("i") and len(unit) == 2:
        unit = unit[:-1]
    if unit not in _BINARY:
        raise ValueError(f"invalid suffix: '{m.group(2)}'")
    return int(float(m.group(1)) * _BINARY[unit])


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_NANOS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
          "h": 3_600_000_000_000}


def go_duration_ns(text: str) -> int:
    """Go's ``time.ParseDuration`` in nanoseconds (``1m30s``, ``500ms``, ``-2s``)."""
    s = text.strip()
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    pos = 0
    total = 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _NANOS[m.group(2)]
        pos = m.end()
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * int(round(total))


def lookup_env(item: str, env: Mapping[str, str]) -> str:
    """``-e NAME`` takes NAME's value from the caller's environment when it has one."""
    if "=" in item:
        return item
    return f"{item}={env[item]}" if item in env else item


def read_kv_file(path: str, what: str, env: Mapping[str, str] | None) -> list[str]:
    """Lines of an ``--env-file``/``--label-file``: comments and blanks skipped, bare env names looked up."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise InvalidParameter(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    out: list[str] = []
    for n, raw in enumerate(lines, 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, eq, _ = line.partition("=")
        if not key:
            raise InvalidParameter(f"no variable name on line '{line}'")
        if any(c.isspace() for c in key):
            raise InvalidParameter(f"{what} '{key}' contains whitespaces")
        if not eq and env is not None:
            line = lookup_env(line, env)
        out.append(line)
        del n
    return out


def normalize_cap(cap: str) -> str:
    c = cap.strip().upper()
    if c == "ALL" or c.startswith("CAP_"):
        return c
    return "CAP_" + c


def _parse_device(spec: str) -> dict[str, str]:
    parts = spec.split(":")
    src = parts[0]
    dst = src
    perms = "rwm"
    if len(parts) == 2:
        if parts[1] and all(c in "rwm" for c in parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    elif len(parts) == 3:
        dst, perms = parts[1], parts[2]
        if not perms or any(c not in "rwm" for c in perms):
            raise ValueError(f"invalid device mode: {perms}")
    elif len(parts) > 3:
        raise ValueError(f"invalid device specification: {spec}")
    if not dst.startswith("/"):
        raise ValueError(f"invalid device specification: {spec}")
    return {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}


def _parse_ulimit(spec: str) -> dict[str, Any]:
    name, eq, limits = spec.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {spec}")
    soft_s, colon, hard_s = limits.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if colon else soft
    except ValueError:
        raise ValueError(f"invalid ulimit argument: {spec}") from None
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def _restart_policy(text: str) -> dict[str, Any]:
    name, colon, count = text.partition(":")
    if not name:
        raise InvalidParameter("invalid restart policy format: no policy provided before colon")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidParameter(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                               "'on-failure', or 'unless-stopped'")
    n = 0
    if colon:
        try:
            n = int(count)
        except ValueError:
            raise InvalidParameter(f"invalid restart policy format: maximum retry count must be an integer: "
                                   f"{count}") from None
        if name != "on-failure":
            raise InvalidParameter("invalid restart policy: maximum retry count can only be used with "
                                   "'on-failure'")
    return {"Name": name, "MaximumRetryCount": n}


def parse_mount(spec: str) -> dict[str, Any]:
    """``--mount type=bind,source=/a,target=/b,readonly`` (docker's csv) to a HostConfig.Mounts entry."""
    import csv

    fields = next(csv.reader([spec]), [])
    m: dict[str, Any] = {"Type": "volume"}
    for f in fields:
        key, sep, value = f.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro") and not sep:
            m["ReadOnly"] = True
            continue
        if not sep:
            raise ValueError(f"invalid field '{f}' must be a key=value pair")
        if key == "type":
            m["Type"] = value
        elif key in ("source", "src"):
            m["Source"] = value
        elif key in ("target", "destination", "dst"):
            m["Target"] = value
        elif key in ("readonly", "ro"):
            if value.lower() not in ("1", "true", "0", "false"):
                raise ValueError(f"invalid value for {key}: {value}")
            m["ReadOnly"] = value.lower() in ("1", "true")
        elif key == "bind-propagation":
            m.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "tmpfs-size":
            m.setdefault("TmpfsOptions", {})["SizeBytes"] = ram_in_bytes(value)
        elif key == "tmpfs-mode":
            m.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        elif key == "volume-nocopy":
            m.setdefault("VolumeOptions", {})["NoCopy"] = value.lower() in ("", "1", "true")
        elif key == "consistency":
            m["Consistency"] = value
        else:
            raise ValueError(f"unexpected key '{key}' in '{f}'")
    if not m.get("Target"):
        raise ValueError("target is required")
    return m


def _split_volume(spec: str) -> list[str]:
    return spec.split(":")


def _ports(publish: list[str], expose: list[str]) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in publish:
        rest, _, proto = spec.partition("/")
        proto = proto or "tcp"
        parts = rest.rsplit(":", 2)
        if len(parts) == 1:
            ip, host, cport = "", "", parts[0]
        elif len(parts) == 2:
            ip, host, cport = "", parts[0], parts[1]
        else:
            ip, host, cport = parts[0].strip("[]"), parts[1], parts[2]
        if not cport:
            raise InvalidParameter(f"no port specified: {spec}<empty>")
        cports = _port_range(cport, spec)
        hports = _port_range(host, spec) if host else []
        if hports and len(hports) != len(cports):
            if len(hports) == 1 and "-" not in host:
                hports = hports * len(cports)
            else:
                raise InvalidParameter(f"invalid ranges specified for container and host Ports: {cport} and "
                                       f"{host}")
        for i, p in enumerate(cports):
            key = f"{p}/{proto}"
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": str(hports[i]) if hports else ""})
    for spec in expose:
        rest, _, proto = spec.partition("/")
        for p in _port_range(rest, spec):
            exposed[f"{p}/{proto or 'tcp'}"] = {}
    return exposed, bindings


def _port_range(text: str, spec: str) -> list[int]:
    lo, dash, hi = text.partition("-")
    try:
        a = int(lo)
        b = int(hi) if dash else a
    except ValueError:
        raise InvalidParameter(f"invalid containerPort: {text}" if text else f"invalid port: {spec}") from None
    if not (0 <= a <= 65535 and 0 <= b <= 65535 and a <= b):
        raise InvalidParameter(f"invalid range specified for port: {text}")
    return list(range(a, b + 1))


# --------------------------------------------------------------------------- the body

_EP_ZERO: dict[str, Any] = {
    "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None, "GwPriority": 0,
    "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
    "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
}


def _flag_error(spec: CommandSpec | None, flag: str, value: str, why: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {why}', spec)


def _flag_value(spec: CommandSpec | None, flag: str, value: str, parse: Callable[[str], T]) -> T:
    """``parse(value)``, its ``ValueError`` shown as docker shows a flag's invalid argument."""
    try:
        return parse(value)
    except ValueError as exc:
        raise _flag_error(spec, flag, value, str(exc)) from None


def _size_flag(spec: CommandSpec | None, flag: str, value: str | None) -> int:
    return _flag_value(spec, flag, value, ram_in_bytes) if value else 0


def _duration_flag(spec: CommandSpec | None, flag: str, value: str | None) -> int:
    return _flag_value(spec, flag, value, go_duration_ns) if value else 0


def _list_item_flag(spec: CommandSpec | None, flag: str, values: list[str], parse: Callable[[str], T]) -> list[T]:
    return [_flag_value(spec, flag, v, parse) for v in values]


def _healthcheck(ns: SimpleNamespace, spec: CommandSpec | None) -> dict[str, Any] | None:
    interval = _duration_flag(spec, "--health-interval", ns.health_interval)
    timeout = _duration_flag(spec, "--health-timeout", ns.health_timeout)
    start = _duration_flag(spec, "--health-start-period", ns.health_start_period)
    retries = int(ns.health_retries or 0)
    have_opts = bool(ns.health_cmd) or interval != 0 or timeout != 0 or start != 0 or retries != 0
    if ns.no_healthcheck:
        if have_opts:
            raise InvalidParameter("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have_opts:
        return None
    for name, v in (("--health-interval", interval), ("--health-timeout", timeout),
                    ("--health-start-period", start)):
        if v < 0:
            raise InvalidParameter(f"{name} cannot be negative")
    if retries < 0:
        raise InvalidParameter("--health-retries cannot be negative")
    hc: dict[str, Any] = {"Test": ["CMD-SHELL", ns.health_cmd]} if ns.health_cmd else {}
    for key, v in (("Interval", interval), ("Timeout", timeout), ("StartPeriod", start), ("Retries", retries)):
        if v:
            hc[key] = v
    return hc


def _key_values(items: list[str], flag: str, spec: CommandSpec | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq and flag == "--sysctl":
            raise _flag_error(spec, flag, item, f"invalid sysctl value: {item}")
        out[k] = v
    return out


def build_create_body(ns: SimpleNamespace, *, env: Mapping[str, str], spec: CommandSpec | None = None,
                      console_size: tuple[int, int] = (0, 0)) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(query params, JSON body)`` of ``POST /containers/create`` for parsed ``run``/``create`` flags."""
    image, *cmd = ns.args
    attach = []
    for a in ns.attach:
        low = a.lower()
        if low not in ("stdin", "stdout", "stderr"):
            raise _flag_error(spec, "-a, --attach", a, "valid streams are STDIN, STDOUT and STDERR")
        attach.append(low)
    attach_stdin = "stdin" in attach or ns.interactive
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach

    envs = [item for f in ns.env_file for item in read_kv_file(f, "variable", env)]
    envs += [lookup_env(e, env) for e in ns.env]
    label_items = [item for f in ns.label_file for item in read_kv_file(f, "label", None)]
    labels = _key_values(label_items + list(ns.label), "--label", spec)

    memory = _size_flag(spec, "-m, --memory", ns.memory)
    if ns.memory_swap == "-1":
        swap = -1
    else:
        swap = _size_flag(spec, "--memory-swap", ns.memory_swap)
    shm = _size_flag(spec, "--shm-size", ns.shm_size)
    nano_cpus = 0
    if ns.cpus:
        try:
            nano_cpus = int(round(float(ns.cpus) * 1e9))
        except ValueError:
            raise _flag_error(spec, "--cpus", ns.cpus, f"failed to parse {ns.cpus} as a rational number") from None

    binds: list[str] = []
    volumes: dict[str, Any] = {}
    for v in ns.volume:
        parts = _split_volume(v)
        if len(parts) == 1:
            volumes[parts[0]] = {}
        elif len(parts) in (2, 3) and parts[0] and parts[1]:
            binds.append(v)
        else:
            raise InvalidParameter(f"invalid spec: {v}")
    tmpfs: dict[str, str] = {}
    for t in ns.tmpfs:
        path, _, opts = t.partition(":")
        tmpfs[path] = opts
    exposed, bindings = _ports(ns.publish, ns.expose)

    restart = _restart_policy(ns.restart or "no")
    if getattr(ns, "rm", False) and restart["Name"] != "no":
        raise InvalidParameter("conflicting options: cannot specify both --restart and --rm")

    entrypoint: list[str] | None = None
    if ns.entrypoint is not None:
        entrypoint = [ns.entrypoint]
    network = ns.network or ns.net or ""

    config: dict[str, Any] = {
        "Hostname": ns.hostname or "",
        "Domainname": ns.domainname or "",
        "User": ns.user or "",
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    config.update({
        "Tty": bool(ns.tty),
        "OpenStdin": bool(ns.interactive),
        "StdinOnce": bool(ns.interactive and attach_stdin),
        "Env": envs or None,
        "Cmd": cmd or None,
    })
    health = _healthcheck(ns, spec)
    if health is not None:
        config["Healthcheck"] = health
    config.update({
        "Image": image,
        "Volumes": volumes,
        "WorkingDir": ns.workdir or "",
        "Entrypoint": entrypoint,
        "OnBuild": None,
        "Labels": labels,
    })
    if ns.stop_signal:
        config["StopSignal"] = ns.stop_signal
    if ns.stop_timeout is not None:
        config["StopTimeout"] = ns.stop_timeout

    host: dict[str, Any] = {
        "Binds": binds or None,
        "ContainerIDFile": ns.cidfile or "",
        "LogConfig": {"Type": ns.log_driver or "", "Config": _key_values(ns.log_opt, "--log-opt", spec)},
        "NetworkMode": network or "default",
        "PortBindings": bindings,
        "RestartPolicy": restart,
        "AutoRemove": bool(getattr(ns, "rm", False)),
        "VolumeDriver": "",
        "VolumesFrom": list(ns.volumes_from) or None,
        "ConsoleSize": [console_size[0], console_size[1]],
        "CapAdd": [normalize_cap(c) for c in ns.cap_add] or None,
        "CapDrop": [normalize_cap(c) for c in ns.cap_drop] or None,
        "CgroupnsMode": ns.cgroupns or "",
        "Dns": list(ns.dns),
        "DnsOptions": list(ns.dns_option),
        "DnsSearch": list(ns.dns_search),
        "ExtraHosts": list(ns.add_host) or None,
        "GroupAdd": list(ns.group_add) or None,
        "IpcMode": ns.ipc or "",
        "Cgroup": "",
        "Links": list(ns.link) or None,
        "OomScoreAdj": int(ns.oom_score_adj or 0),
        "PidMode": ns.pid or "",
        "Privileged": bool(ns.privileged),
        "PublishAllPorts": bool(ns.publish_all),
        "ReadonlyRootfs": bool(ns.read_only),
        "SecurityOpt": list(ns.security_opt) or None,
    }
    if tmpfs:
        host["Tmpfs"] = tmpfs
    if ns.mount:
        host["Mounts"] = _list_item_flag(spec, "--mount", list(ns.mount), parse_mount)
    host.update({"UTSMode": ns.uts or "", "UsernsMode": ns.userns or "", "ShmSize": shm})
    if ns.sysctl:
        host["Sysctls"] = _key_values(ns.sysctl, "--sysctl", spec)
    if ns.runtime:
        host["Runtime"] = ns.runtime
    host.update({
        "Isolation": "",
        "CpuShares": int(ns.cpu_shares or 0),
        "Memory": memory,
        "NanoCpus": nano_cpus,
        "CgroupParent": ns.cgroup_parent or "",
        "BlkioWeight": int(ns.blkio_weight or 0),
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": int(ns.cpu_period or 0),
        "CpuQuota": int(ns.cpu_quota or 0),
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": ns.cpuset_cpus or "",
        "CpusetMems": ns.cpuset_mems or "",
        "Devices": _list_item_flag(spec, "--device", ns.device, _parse_device),
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "MemoryReservation": _size_flag(spec, "--memory-reservation", ns.memory_reservation),
        "MemorySwap": swap,
        "MemorySwappiness": -1,
        "OomKillDisable": bool(ns.oom_kill_disable),
        "PidsLimit": int(ns.pids_limit or 0),
        "Ulimits": sorted(_list_item_flag(spec, "--ulimit", ns.ulimit, _parse_ulimit), key=lambda u: u["Name"]),
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": None,
        "ReadonlyPaths": None,
    })
    if ns.init:
        host["Init"] = True
    config["HostConfig"] = host
    config["NetworkingConfig"] = {"EndpointsConfig": {} if network else {"default": dict(_EP_ZERO)}}
    if ns.mac_address:  # per endpoint, as docker's CLI sends it since API 1.44
        config["NetworkingConfig"]["EndpointsConfig"][network or "default"] = dict(_EP_ZERO, MacAddress=ns.mac_address)

    params: dict[str, Any] = {}
    if ns.name:
        params["name"] = ns.name
    if ns.platform:
        params["platform"] = ns.platform
    return params, config
