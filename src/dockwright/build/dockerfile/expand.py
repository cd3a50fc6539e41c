"""Variable expansion of a stage, the way Docker's builder does it, with build-arg accounting.

Scope rules (Docker's, and the reasons behind the bookkeeping):

* Global ARGs (before the first FROM) are only visible to FROM lines. A stage
  sees one by re-declaring it without a value (``ARG VERSION``).
* An ARG's value is, in order: the ``--build-arg`` value, its own default
  (expanded with what is in scope at that line), the global ARG's value.
* ENV always wins over ARG of the same name, whichever came first.
* ``ENV a=1 b=$a`` expands the whole line before setting anything, so ``b``
  sees the previous ``a``.
* The builder expands ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME
  WORKDIR and ARG defaults (plus ``RUN --mount`` values); RUN, CMD,
  ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left to the shell/child build.
* The proxy args (``HTTP_PROXY``... and lower-case forms) reach RUN without being
  declared, but stay out of RUN's cache key unless declared, and are never
  reported as unused. Like Docker's (non-BuildKit) builder, passed proxy args
  also expand in other instructions without being declared.

Each expanded command carries the build args it could see and the ones the
cache key must include, so a changed ``--build-arg`` invalidates exactly the
steps that used it.
"""

from __future__ import annotations

import re
import signal as _signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from dockwright.build.dockerfile.errors import DockerfileError, ExpansionError
from dockwright.build.dockerfile.instructions import (
    AddCommand,
    ArgCommand,
    Command,
    CopyCommand,
    EnvCommand,
    ExposeCommand,
    KeyValuePair,
    KeyValuePairOptional,
    LabelCommand,
    RunCommand,
    SourceContent,
    SourcesAndDest,
    Stage,
    StopSignalCommand,
    UserCommand,
    VolumeCommand,
    WorkdirCommand,
)
from dockwright.build.dockerfile.mounts import MountError, parse_mount
from dockwright.build.dockerfile.shell_lex import ShellLex

PROXY_ARGS = frozenset({
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
})

_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(\w+))?$")


@dataclass(frozen=True)
class ExpandedCommand:
    """One instruction after expansion.

    ``visible_args``: build args the instruction's process would see (RUN's
    environment: declared ARGs with a value plus passed proxy args).
    ``used_args``: ARG names this instruction's expansion actually read.
    ``cache_args``: what the cache key must include: for RUN every declared ARG
    with a value (they are in its environment), otherwise the ``used_args``.
    ``env``: the stage's ENV after this instruction.
    """

    command: Command
    visible_args: Mapping[str, str]
    used_args: frozenset[str]
    cache_args: Mapping[str, str]
    env: Mapping[str, str]


@dataclass(frozen=True)
class ExpandedStage:
    stage: Stage
    commands: tuple[ExpandedCommand, ...]
    env: Mapping[str, str]
    args: Mapping[str, str]
    declared_args: frozenset[str] = field(default_factory=frozenset)


def resolve_meta_args(
    meta_args: Sequence[ArgCommand],
    build_args: Mapping[str, str],
    predefined: Mapping[str, str] | None = None,
    escape: str = "\\",
) -> dict[str, str | None]:
    """Global ARG name → value (None when declared without any value); defaults may use earlier ones."""
    resolved: dict[str, str | None] = dict(predefined or {})
    lex = ShellLex(escape)
    for cmd in meta_args:
        for kv in cmd.args:
            value = kv.value
            if value is not None:
                env = {k: v for k, v in resolved.items() if v is not None}
                value = _word(lex, value, env, cmd, set())
            if kv.key in build_args:
                value = build_args[kv.key]
            resolved[kv.key] = value
    return resolved


def meta_env(resolved: Mapping[str, str | None]) -> dict[str, str]:
    """Only the global ARGs that have a value (what FROM lines can expand)."""
    return {k: v for k, v in resolved.items() if v is not None}


def _word(lex: ShellLex, word: str, env: Mapping[str, str], cmd: Command, used: set[str]) -> str:
    try:
        res = lex.process(word, env)
    except ExpansionError as exc:
        raise _error(cmd, str(exc)) from None
    used.update(res.matched)
    return res.value


def _words(lex: ShellLex, word: str, env: Mapping[str, str], cmd: Command, used: set[str]) -> list[str]:
    try:
        res = lex.process(word, env)
    except ExpansionError as exc:
        raise _error(cmd, str(exc)) from None
    used.update(res.matched)
    return res.words


def _error(cmd: Command, detail: str) -> DockerfileError:
    return DockerfileError(detail, filename=cmd.location[0], start_line=cmd.location[1], end_line=cmd.location[2],
                           instruction=cmd.name)


def check_port(cmd: Command, spec: str) -> None:
    """EXPOSE's ``80``, ``80/udp``, ``8000-8010/tcp``."""
    match = _PORT.match(spec)
    if match is None:
        port = spec.split("/", 1)[0]
        raise _error(cmd, f"Invalid containerPort: {port}" if not port.isdigit() else f"Invalid port: {spec}")
    proto = match.group(3)
    if proto is not None and proto.lower() not in ("tcp", "udp", "sctp"):
        raise _error(cmd, f"Invalid proto: {proto}")
    start, end = int(match.group(1)), int(match.group(2) or match.group(1))
    if not (0 < start <= 65535 and 0 < end <= 65535) or end < start:
        raise _error(cmd, f"Invalid containerPort: {spec.split('/', 1)[0]}")


def exposed_ports(specs: Sequence[str]) -> list[str]:
    """What EXPOSE stores in the image config: ``80/UDP 90-91`` → ``80/udp 90/tcp 91/tcp``."""
    out: list[str] = []
    for spec in specs:
        match = _PORT.match(spec)
        if match is None:
            raise ValueError(f"Invalid containerPort: {spec}")
        start, end = int(match.group(1)), int(match.group(2) or match.group(1))
        proto = (match.group(3) or "tcp").lower()
        for port in range(start, end + 1):
            key = f"{port}/{proto}"
            if key not in out:
                out.append(key)
    return out


def check_signal(cmd: Command, sig: str) -> None:
    """STOPSIGNAL accepts a number, ``SIGTERM``, ``TERM`` or ``SIGRTMIN+3``."""
    if sig.isdigit() and int(sig) > 0:
        return
    name = sig.upper().removeprefix("SIG")
    if name in _signal.Signals.__members__ or f"SIG{name}" in _signal.Signals.__members__:
        return
    if re.fullmatch(r"RT(MIN\+\d+|MAX-\d+|MIN|MAX)", name):
        return
    raise _error(cmd, f"Invalid signal: {sig}")


def check_chmod(cmd: Command, chmod: str) -> None:
    try:
        mode = int(chmod, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise _error(cmd, f"invalid chmod parameter: {chmod}. it should be octal string and between 0 and 07777")


def expand_stage(
    stage: Stage,
    build_args: Mapping[str, str],
    global_args: Sequence[ArgCommand] | Mapping[str, str | None],
    *,
    base_env: Mapping[str, str] | None = None,
    escape: str = "\\",
    predefined_args: Mapping[str, str] | None = None,
) -> ExpandedStage:
    """Expand every instruction of ``stage`` that Docker expands, in order.

    ``global_args`` are the meta ARGs (or their ``resolve_meta_args`` result);
    ``base_env`` is the ENV of the base image or parent stage; ``escape`` is
    the Dockerfile's escape character (``Result.escape``).
    """
    lex = ShellLex(escape)
    heredoc_lex = ShellLex(escape, skip_process_quotes=True)
    if isinstance(global_args, Mapping):
        meta: Mapping[str, str | None] = global_args
    else:
        meta = resolve_meta_args(global_args, build_args, predefined_args, escape)
    from_env = meta_env(meta)
    from_used: set[str] = set()
    base_name = _word(lex, stage.base_name, from_env, _stage_cmd(stage), from_used)
    platform = _word(lex, stage.platform, from_env, _stage_cmd(stage), from_used) if stage.platform else ""
    env: dict[str, str] = dict(base_env or {})
    args: dict[str, str] = {}
    declared: set[str] = set()
    passed_proxies = {k: v for k, v in build_args.items() if k in PROXY_ARGS}
    out: list[ExpandedCommand] = []

    for cmd in stage.commands:
        scope = {**passed_proxies, **args, **env}
        env_before = frozenset(env)
        used: set[str] = set()

        def w(word: str, cmd: Command = cmd, scope: Mapping[str, str] = scope, used: set[str] = used) -> str:
            return _word(lex, word, scope, cmd, used)

        new: Command = cmd
        if isinstance(cmd, ArgCommand):
            pairs = []
            for kv in cmd.args:
                key = w(kv.key)
                value: str | None
                if key in build_args:
                    value = build_args[key]
                elif kv.value is not None:
                    value = _word(lex, kv.value, {**passed_proxies, **args, **env}, cmd, used)
                else:
                    value = meta.get(key)
                declared.add(key)
                if value is not None:
                    args[key] = value
                pairs.append(KeyValuePairOptional(key, value))
            new = replace(cmd, args=tuple(pairs))
        elif isinstance(cmd, EnvCommand):
            pairs_env = [KeyValuePair(w(kv.key), w(kv.value)) for kv in cmd.env]
            for kv_env in pairs_env:
                env[kv_env.key] = kv_env.value
            new = replace(cmd, env=tuple(pairs_env))
        elif isinstance(cmd, LabelCommand):
            new = replace(cmd, labels=tuple(KeyValuePair(w(kv.key), w(kv.value)) for kv in cmd.labels))
        elif isinstance(cmd, (CopyCommand, AddCommand)):
            contents = tuple(
                replace(c, data=_word(heredoc_lex, c.data, scope, cmd, used)) if c.expand else c
                for c in cmd.paths.contents
            )
            paths = SourcesAndDest(tuple(w(s) for s in cmd.paths.sources), w(cmd.paths.dest), contents)
            chmod = w(cmd.chmod)
            if chmod:
                check_chmod(cmd, chmod)
            chown = w(cmd.chown)
            exclude = tuple(w(e) for e in cmd.exclude)
            if isinstance(cmd, CopyCommand):
                new = replace(cmd, paths=paths, chown=chown, chmod=chmod, exclude=exclude, from_=w(cmd.from_))
            else:
                new = replace(cmd, paths=paths, chown=chown, chmod=chmod, exclude=exclude, checksum=w(cmd.checksum))
        elif isinstance(cmd, ExposeCommand):
            ports = [p for port in cmd.ports for p in _words(lex, port, scope, cmd, used)]
            for port in ports:
                check_port(cmd, port)
            new = replace(cmd, ports=tuple(ports))
        elif isinstance(cmd, UserCommand):
            new = replace(cmd, user=w(cmd.user))
        elif isinstance(cmd, WorkdirCommand):
            new = replace(cmd, path=w(cmd.path))
        elif isinstance(cmd, StopSignalCommand):
            sig = w(cmd.signal)
            check_signal(cmd, sig)
            new = replace(cmd, signal=sig)
        elif isinstance(cmd, VolumeCommand):
            volumes = tuple(w(v) for v in cmd.volumes)
            if any(not v.strip() for v in volumes):
                raise _error(cmd, "VOLUME specified can not be an empty string")
            new = replace(cmd, volumes=volumes)
        elif isinstance(cmd, RunCommand) and cmd.mount_specs:
            try:
                mounts = tuple(parse_mount(spec, w) for spec in cmd.mount_specs)
            except MountError as exc:
                raise _error(cmd, str(exc)) from None
            new = replace(cmd, mounts=mounts)

        used_args = frozenset(u for u in used if (u in args or u in passed_proxies) and u not in env_before)
        visible = {**passed_proxies, **{k: v for k, v in args.items() if k not in env}}
        if isinstance(cmd, RunCommand):
            cache_args = {k: v for k, v in sorted(args.items()) if k not in env}
        else:
            cache_args = {k: visible[k] for k in sorted(used_args) if k in visible}
        out.append(ExpandedCommand(new, visible, used_args, cache_args, dict(env)))

    expanded = replace(stage, base_name=base_name, platform=platform,
                       commands=tuple(c.command for c in out))
    return ExpandedStage(expanded, tuple(out), dict(env), dict(args), frozenset(declared))


def _stage_cmd(stage: Stage) -> Command:
    return Command(name="FROM", location=stage.location, original=stage.original)


def unused_build_args(
    build_args: Mapping[str, str], meta_args: Sequence[ArgCommand], stages: Sequence[ExpandedStage]
) -> list[str]:
    """Build args no ARG declared (global or in a built stage), proxies excepted; sorted."""
    declared = {kv.key for cmd in meta_args for kv in cmd.args}
    for st in stages:
        declared |= st.declared_args
    return sorted(k for k in build_args if k not in declared and k not in PROXY_ARGS)


def unused_build_args_warning(names: Sequence[str]) -> str:
    """Docker's wording, which users grep CI logs for."""
    return f"[Warning] One or more build-args [{' '.join(names)}] were not consumed"


__all__ = [
    "PROXY_ARGS", "ExpandedCommand", "ExpandedStage", "SourceContent", "expand_stage", "exposed_ports", "meta_env",
    "resolve_meta_args", "unused_build_args", "unused_build_args_warning",
]
