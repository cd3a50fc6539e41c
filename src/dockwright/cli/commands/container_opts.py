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
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from dockwright.cli.flags import CommandSpec, Flag, UsageError
from dockwright.errors import InvalidParameter

RUN_ONLY_FLAGS = [
    Flag("detach", "d", help="Run container in background and print container ID"),
    Flag("detach-keys", "", "string", help="Override the key sequence for detaching a container",
         metavar="string"),
    Flag("rm", "", help="Automatically remove the container and its associated anonymous volumes when it exits"),
    Flag("sig-proxy", "", default=True, help="Proxy received signals to the process"),
]

CREATE_FLAGS = [
    Flag("add-host", "", "list", help="Add a custom host-to-IP mapping (host:ip)", metavar="list"),
    Flag("attach", "a", "list", help="Attach to STDIN, STDOUT or STDERR", metavar="list"),
    Flag("blkio-weight", "", "int", default=0, help="Block IO (relative weight), between 10 and 1000, or 0 to "
         "disable", metavar="uint16"),
    Flag("cgroup-parent", "", "string", help="Optional parent cgroup for the container", metavar="string"),
    Flag("cgroupns", "", "string", help="Cgroup namespace to use (host|private)", metavar="string"),
    Flag("cidfile", "", "string", help="Write the container ID to the file", metavar="string"),
    Flag("cpu-period", "", "int", default=0, help="Limit CPU CFS (Completely Fair Scheduler) period",
         metavar="int"),
    Flag("cpu-quota", "", "int", default=0, help="Limit CPU CFS (Completely Fair Scheduler) quota", metavar="int"),
    Flag("cpuset-mems", "", "string", help="MEMs in which to allow execution (0-3, 0,1)", metavar="string"),
    Flag("dns", "", "list", help="Set custom DNS servers", metavar="list"),
    Flag("dns-option", "", "list", help="Set DNS options", metavar="list"),
    Flag("dns-search", "", "list", help="Set custom DNS search domains", metavar="list"),
    Flag("domainname", "", "string", help="Container NIS domain name", metavar="string"),
    Flag("group-add", "", "list", help="Add additional groups to join", metavar="list"),
    Flag("ipc", "", "string", help="IPC mode to use", metavar="string"),
    Flag("log-driver", "", "string", help="Logging driver for the container", metavar="string"),
    Flag("log-opt", "", "list", help="Log driver options", metavar="list"),
    Flag("memory-reservation", "", "string", help="Memory soft limit", metavar="bytes"),
    Flag("oom-score-adj", "", "int", default=0, help="Tune host's OOM preferences (-1000 to 1000)", metavar="int"),
    Flag("pid", "", "string", help="PID namespace to use", metavar="string"),
    Flag("publish-all", "P", help="Publish all exposed ports to random ports"),
    Flag("userns", "", "string", help="User namespace to use", metavar="string"),
    Flag("uts", "", "string", help="UTS namespace to use", metavar="string"),
    Flag("volumes-from", "", "list", help="Mount volumes from the specified container(s)", metavar="list"),
    Flag("cap-add", "", "list", help="Add Linux capabilities", metavar="list"),
    Flag("cap-drop", "", "list", help="Drop Linux capabilities", metavar="list"),
    Flag("cpu-shares", "c", "int", default=0, help="CPU shares (relative weight)", metavar="int"),
    Flag("cpus", "", "string", help="Number of CPUs", metavar="decimal"),
    Flag("cpuset-cpus", "", "string", help="CPUs in which to allow execution (0-3, 0,1)", metavar="string"),
    Flag("device", "", "list", help="Add a host device to the container", metavar="list"),
    Flag("entrypoint", "", "string", help="Overwrite the default ENTRYPOINT of the image", metavar="string"),
    Flag("env", "e", "list", help="Set environment variables", metavar="list"),
    Flag("env-file", "", "list", help="Read in a file of environment variables", metavar="list"),
    Flag("expose", "", "list", help="Expose a port or a range of ports", metavar="list"),
    Flag("health-cmd", "", "string", help="Command to run to check health", metavar="string"),
    Flag("health-interval", "", "string", help="Time between running the check (ms|s|m|h) (default 0s)",
         metavar="duration"),
    Flag("health-retries", "", "int", default=0, help="Consecutive failures needed to report unhealthy",
         metavar="int"),
    Flag("health-start-period", "", "string",
         help="Start period for the container to initialize before starting health-retries countdown "
              "(ms|s|m|h) (default 0s)", metavar="duration"),
    Flag("health-timeout", "", "string", help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)",
         metavar="duration"),
    Flag("hostname", "h", "string", help="Container host name", metavar="string"),
    Flag("init", "", help="Run an init inside the container that forwards signals and reaps processes"),
    Flag("interactive", "i", help="Keep STDIN open even if not attached"),
    Flag("label", "l", "list", help="Set meta data on a container", metavar="list"),
    Flag("label-file", "", "list", help="Read in a line delimited file of labels", metavar="list"),
    Flag("memory", "m", "string", help="Memory limit", metavar="bytes"),
    Flag("memory-swap", "", "string",
         help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap", metavar="bytes"),
    Flag("name", "", "string", help="Assign a name to the container", metavar="string"),
    Flag("network", "", "string", help="Connect a container to a network", metavar="network"),
    Flag("net", "", "string", hidden=True),
    Flag("no-healthcheck", "", help="Disable any container-specified HEALTHCHECK"),
    Flag("oom-kill-disable", "", help="Disable OOM Killer"),
    Flag("pids-limit", "", "int", default=0, help="Tune container pids limit (set -1 for unlimited)",
         metavar="int"),
    Flag("platform", "", "string", help="Set platform if server is multi-platform capable", metavar="string"),
    Flag("privileged", "", help="Give extended privileges to this container"),
    Flag("publish", "p", "list", help="Publish a container's port(s) to the host", metavar="list"),
    Flag("pull", "", "string", default="missing",
         help='Pull image before running ("always", "missing", "never")', metavar="string"),
    Flag("quiet", "q", help="Suppress the pull output"),
    Flag("read-only", "", help="Mount the container's root filesystem as read only"),
    Flag("restart", "", "string", default="no", help="Restart policy to apply when a container exits",
         metavar="string"),
    Flag("runtime", "", "string", help="Runtime to use for this container", metavar="string"),
    Flag("security-opt", "", "list", help="Security Options", metavar="list"),
    Flag("shm-size", "", "string", help="Size of /dev/shm", metavar="bytes"),
    Flag("stop-signal", "", "string", help="Signal to stop the container", metavar="string"),
    Flag("stop-timeout", "", "int", help="Timeout (in seconds) to stop a container", metavar="int"),
    Flag("sysctl", "", "list", help="Sysctl options", metavar="map"),
    Flag("tmpfs", "", "list", help="Mount a tmpfs directory", metavar="list"),
    Flag("tty", "t", help="Allocate a pseudo-TTY"),
    Flag("ulimit", "", "list", help="Ulimit options", metavar="ulimit"),
    Flag("user", "u", "string", help="Username or UID (format: <name|uid>[:<group|gid>])", metavar="string"),
    Flag("volume", "v", "list", help="Bind mount a volume", metavar="list"),
    Flag("workdir", "w", "string", help="Working directory inside the container", metavar="string"),
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


def _size_flag(spec: CommandSpec | None, flag: str, value: str | None) -> int:
    if not value:
        return 0
    try:
        return ram_in_bytes(value)
    except ValueError as exc:
        raise _flag_error(spec, flag, value, str(exc)) from None


def _duration_flag(spec: CommandSpec | None, flag: str, value: str | None) -> int:
    if not value:
        return 0
    try:
        return go_duration_ns(value)
    except ValueError as exc:
        raise _flag_error(spec, flag, value, str(exc)) from None


def _list_item_flag(spec: CommandSpec | None, flag: str, values: list[str], fn: Any) -> list[Any]:
    out = []
    for v in values:
        try:
            out.append(fn(v))
        except ValueError as exc:
            raise _flag_error(spec, flag, v, str(exc)) from None
    return out


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
        "Links": None,
        "OomScoreAdj": int(ns.oom_score_adj or 0),
        "PidMode": ns.pid or "",
        "Privileged": bool(ns.privileged),
        "PublishAllPorts": bool(ns.publish_all),
        "ReadonlyRootfs": bool(ns.read_only),
        "SecurityOpt": list(ns.security_opt) or None,
    }
    if tmpfs:
        host["Tmpfs"] = tmpfs
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

    params: dict[str, Any] = {}
    if ns.name:
        params["name"] = ns.name
    if ns.platform:
        params["platform"] = ns.platform
    return params, config
