"""AST → typed instructions grouped in stages, the API the build engine works from.

One frozen dataclass per instruction, each knowing where it came from
(``location = (filename, start_line, end_line)``) and its source text. Values
are as written (variables not yet expanded: ``expand.expand_stage`` does that,
because expansion depends on build args and on the stage's ENV/ARG history).
Validation that does not depend on variables happens here, so a bad Dockerfile
fails before anything runs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from dockwright.build.dockerfile import flags as bflags
from dockwright.build.dockerfile.duration import parse_duration
from dockwright.build.dockerfile.errors import DockerfileError
from dockwright.build.dockerfile.mounts import NETWORK_MODES, SECURITY_MODES, Mount, MountError, parse_mount
from dockwright.build.dockerfile.parser import Heredoc, Node, Result, chomp_heredoc, parse_heredoc

Location = tuple[str, int, int]

INSTRUCTIONS = ("add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
                "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir")
_VALID_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_ONBUILD_PREFIX = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)
_MIN_HEALTH_DURATION_NS = 1_000_000


@dataclass(frozen=True)
class KeyValuePair:
    key: str
    value: str


@dataclass(frozen=True)
class KeyValuePairOptional:
    """An ARG: ``value is None`` means declared without a default."""

    key: str
    value: str | None = None


@dataclass(frozen=True)
class SourceContent:
    """A heredoc used as a COPY/ADD source or a RUN file; ``data`` is already tab-stripped for ``<<-``."""

    path: str
    data: str
    expand: bool
    file_descriptor: int = 0


@dataclass(frozen=True)
class HealthConfig:
    """Docker's HealthConfig; durations in nanoseconds, 0 = inherit from the base image."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Command:
    """Common to every instruction; ``name`` is upper-case (``COPY``)."""

    name: str
    location: Location
    original: str


@dataclass(frozen=True)
class EnvCommand(Command):
    env: tuple[KeyValuePair, ...]


@dataclass(frozen=True)
class LabelCommand(Command):
    labels: tuple[KeyValuePair, ...]


@dataclass(frozen=True)
class MaintainerCommand(Command):
    maintainer: str


@dataclass(frozen=True)
class ShellDependantCommand(Command):
    """RUN/CMD/ENTRYPOINT: ``prepend_shell`` is True for the shell form (one string in ``cmd``)."""

    cmd: tuple[str, ...]
    prepend_shell: bool


@dataclass(frozen=True)
class RunCommand(ShellDependantCommand):
    """``mounts`` are typed from ``mount_specs``; a spec that is only valid once its variables are
    expanded is left out here and typed by ``expand_stage`` (use the expanded stage to run)."""

    files: tuple[SourceContent, ...] = ()
    mounts: tuple[Mount, ...] = ()
    mount_specs: tuple[str, ...] = ()
    network: str = "default"
    security: str = "sandbox"


@dataclass(frozen=True)
class CmdCommand(ShellDependantCommand):
    pass


@dataclass(frozen=True)
class EntrypointCommand(ShellDependantCommand):
    pass


@dataclass(frozen=True)
class ExposeCommand(Command):
    ports: tuple[str, ...]


@dataclass(frozen=True)
class UserCommand(Command):
    user: str


@dataclass(frozen=True)
class WorkdirCommand(Command):
    path: str


@dataclass(frozen=True)
class VolumeCommand(Command):
    volumes: tuple[str, ...]


@dataclass(frozen=True)
class StopSignalCommand(Command):
    signal: str


@dataclass(frozen=True)
class ArgCommand(Command):
    args: tuple[KeyValuePairOptional, ...]


@dataclass(frozen=True)
class ShellCommand(Command):
    shell: tuple[str, ...]


@dataclass(frozen=True)
class HealthCheckCommand(Command):
    health: HealthConfig


@dataclass(frozen=True)
class OnbuildCommand(Command):
    """The trigger text, stored in the image config and parsed by the child build."""

    expression: str


@dataclass(frozen=True)
class SourcesAndDest:
    """COPY/ADD paths; ``sources`` are context paths, URLs or git refs, ``contents`` are heredocs."""

    sources: tuple[str, ...]
    dest: str
    contents: tuple[SourceContent, ...] = ()


@dataclass(frozen=True)
class AddCommand(Command):
    paths: SourcesAndDest
    chown: str = ""
    chmod: str = ""
    link: bool = False
    keep_git_dir: bool = False
    checksum: str = ""
    exclude: tuple[str, ...] = ()
    unpack: bool | None = None


def add_source_kind(src: str) -> str:
    """``"git"``, ``"url"`` or ``"local"`` for an ADD source, by BuildKit's rules.

    Git: ``git://``, ``git@host:...``, or an ``http(s)://``/``ssh://`` URL whose path
    (before any ``#ref``) ends in ``.git``. Whether a local file is a tar archive
    to auto-extract is decided by its content, by the engine.
    """
    base = src.split("#", 1)[0].rstrip("/")
    if src.startswith(("git://", "git@")) or (src.startswith(("http://", "https://", "ssh://"))
                                              and base.endswith(".git")):
        return "git"
    if src.startswith(("http://", "https://")):
        return "url"
    return "local"


@dataclass(frozen=True)
class CopyCommand(Command):
    """``from_`` is a stage name, a stage index or an image reference ("" = the build context)."""

    paths: SourcesAndDest
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    """``FROM base [AS name]`` and the instructions under it; ``name`` is lower-cased, "" if unnamed."""

    name: str
    base_name: str
    platform: str
    commands: tuple[Command, ...]
    location: Location
    original: str = ""
    index: int = 0
    comment: str = ""


@dataclass
class _Request:
    node: Node
    filename: str
    args: list[str]
    flags: bflags.BFlags
    location: Location = field(init=False)

    def __post_init__(self) -> None:
        self.location = (self.filename, self.node.start_line, self.node.end_line)

    @property
    def name(self) -> str:
        return self.node.value.upper()

    @property
    def original(self) -> str:
        return self.node.original.strip()

    def error(self, detail: str) -> DockerfileError:
        return DockerfileError(detail, filename=self.filename, start_line=self.node.start_line,
                               end_line=self.node.end_line, instruction=self.name)

    def parse_flags(self) -> None:
        try:
            self.flags.parse()
        except bflags.FlagError as exc:
            raise self.error(str(exc)) from None

    def base(self) -> dict[str, Any]:
        return {"name": self.name, "location": self.location, "original": self.original}


def _at_least_one(req: _Request) -> None:
    if not req.args:
        raise req.error(f"{req.name} requires at least one argument")


def _exactly_one(req: _Request) -> None:
    if len(req.args) != 1:
        raise req.error(f"{req.name} requires exactly one argument")


def _kvps(req: _Request) -> tuple[KeyValuePair, ...]:
    _at_least_one(req)
    if len(req.args) % 3:
        raise req.error(f"Bad input to {req.name}, too many arguments")
    out = []
    for i in range(0, len(req.args), 3):
        key, value = req.args[i], req.args[i + 1]
        if not key:
            raise req.error(f"{req.name} names can not be blank")
        out.append(KeyValuePair(key, value))
    return tuple(out)


def _cmdline(req: _Request, args: list[str]) -> tuple[tuple[str, ...], bool]:
    if req.node.is_json:
        return tuple(args), False
    return ((" ".join(args),) if args else ()), True


def _heredoc_contents(req: _Request) -> dict[str, Heredoc]:
    return {doc.name: doc for doc in req.node.heredocs}


def _source_content(doc: Heredoc) -> SourceContent:
    data = chomp_heredoc(doc.content) if doc.chomp else doc.content
    return SourceContent(path=doc.name, data=data, expand=doc.expand, file_descriptor=doc.file_descriptor)


def _sources_and_dest(req: _Request) -> SourcesAndDest:
    if len(req.args) < 2:
        raise req.error(f"{req.name} requires at least two arguments, but only one was provided. "
                        "Destination could not be determined")
    *srcs, dest = req.args
    heredocs = _heredoc_contents(req) if not req.node.is_json else {}
    if heredocs and parse_heredoc(dest) is not None:
        raise req.error(f"{req.name} cannot accept a heredoc as a destination")
    sources: list[str] = []
    contents: list[SourceContent] = []
    for src in srcs:
        doc = parse_heredoc(src) if heredocs else None
        if doc is not None and doc.name in heredocs:
            contents.append(_source_content(heredocs[doc.name]))
        else:
            sources.append(src)
    return SourcesAndDest(tuple(sources), dest, tuple(contents))


def _check_chmod(req: _Request, chmod: str) -> None:
    if chmod and "$" not in chmod:
        try:
            mode = int(chmod, 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            raise req.error(f"invalid chmod parameter: {chmod}. it should be octal string and between 0 and 07777")


def _parse_from(req: _Request) -> Stage:
    args = req.args
    name = ""
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _VALID_STAGE_NAME.match(name):
            raise req.error(f'invalid name for build stage: "{args[2]}", name can\'t start with a number or '
                            "contain symbols")
    elif len(args) != 1:
        raise req.error("FROM requires either one or three arguments")
    req.flags.add_string("platform", "")
    req.parse_flags()
    comment = ""
    if req.node.prev_comment and name:
        first = req.node.prev_comment[0]
        if first.startswith(name + " "):
            comment = first[len(name) + 1:]
    return Stage(name=name, base_name=args[0], platform=req.flags.string("platform") or "", commands=(),
                 location=req.location, original=req.original, comment=comment)


def _parse_run(req: _Request) -> RunCommand:
    req.flags.add_strings("mount")
    req.flags.add_string("network", "default")
    req.flags.add_string("security", "sandbox")
    req.parse_flags()
    network = req.flags.string("network") or "default"
    if network not in NETWORK_MODES and "$" not in network:
        raise req.error(f"unsupported network mode {network!r}")
    security = req.flags.string("security") or "sandbox"
    if security not in SECURITY_MODES and "$" not in security:
        raise req.error(f"unsupported security mode {security!r}")
    specs = req.flags.strings("mount")
    mounts = []
    for spec in specs:
        try:
            mounts.append(parse_mount(spec))
        except MountError as exc:
            if "$" not in spec:
                raise req.error(str(exc)) from None
            # Depends on variables: validated and typed by expand_stage.
    cmd, shell = _cmdline(req, req.args)
    files = tuple(_source_content(d) for d in req.node.heredocs)
    return RunCommand(**req.base(), cmd=cmd, prepend_shell=shell, files=files, mounts=tuple(mounts),
                      mount_specs=tuple(specs), network=network, security=security)


def _parse_add(req: _Request) -> AddCommand:
    for name in ("chown", "chmod", "checksum"):
        req.flags.add_string(name, "")
    req.flags.add_bool("link")
    req.flags.add_bool("keep-git-dir")
    req.flags.add_strings("exclude")
    req.flags.add_bool("unpack")
    req.parse_flags()
    paths = _sources_and_dest(req)
    chmod = req.flags.string("chmod") or ""
    _check_chmod(req, chmod)
    checksum = req.flags.string("checksum") or ""
    if checksum and "$" not in checksum and not re.fullmatch(r"(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|"
                                                             r"sha512:[0-9a-f]{128})", checksum):
        raise req.error(f"invalid checksum digest format: {checksum}")
    if checksum and len(paths.sources) != 1:
        raise req.error("checksum can't be specified for multiple sources")
    return AddCommand(**req.base(), paths=paths, chown=req.flags.string("chown") or "", chmod=chmod,
                      link=req.flags.boolean("link"), keep_git_dir=req.flags.boolean("keep-git-dir"), checksum=checksum,
                      exclude=tuple(req.flags.strings("exclude")),
                      unpack=req.flags.boolean("unpack") if req.flags.was_set("unpack") else None)


def _parse_copy(req: _Request) -> CopyCommand:
    for name in ("chown", "chmod", "from"):
        req.flags.add_string(name, "")
    req.flags.add_bool("link")
    req.flags.add_bool("parents")
    req.flags.add_strings("exclude")
    req.parse_flags()
    paths = _sources_and_dest(req)
    chmod = req.flags.string("chmod") or ""
    _check_chmod(req, chmod)
    return CopyCommand(**req.base(), paths=paths, from_=req.flags.string("from") or "",
                       chown=req.flags.string("chown") or "", chmod=chmod, link=req.flags.boolean("link"),
                       parents=req.flags.boolean("parents"), exclude=tuple(req.flags.strings("exclude")))


def _duration(req: _Request, flag: str) -> int:
    value = req.flags.string(flag) or ""
    if not value:
        return 0
    try:
        ns = parse_duration(value)
    except ValueError as exc:
        raise req.error(str(exc)) from None
    if ns == 0:
        return 0
    if ns < _MIN_HEALTH_DURATION_NS:
        raise req.error(f'Interval "{flag}" cannot be less than 1ms')
    return ns


def _parse_healthcheck(req: _Request) -> HealthCheckCommand:
    _at_least_one(req)
    kind = req.args[0].upper()
    args = req.args[1:]
    if kind == "NONE":
        if args:
            raise req.error("HEALTHCHECK NONE takes no arguments")
        return HealthCheckCommand(**req.base(), health=HealthConfig(test=("NONE",)))
    for name in ("interval", "timeout", "start-period", "start-interval", "retries"):
        req.flags.add_string(name, "")
    req.parse_flags()
    if kind != "CMD":
        raise req.error(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    cmd, shell = _cmdline(req, args)
    if not cmd or cmd == ("",):
        raise req.error("Missing command after HEALTHCHECK CMD")
    retries_text = req.flags.string("retries") or ""
    retries = 0
    if retries_text:
        try:
            retries = int(retries_text, 10)
        except ValueError:
            raise req.error(f'strconv.ParseInt: parsing "{retries_text}": invalid syntax') from None
        if retries < 0:
            raise req.error(f"--retries cannot be negative ({retries})")
    health = HealthConfig(test=("CMD-SHELL" if shell else "CMD", *cmd), interval=_duration(req, "interval"),
                          timeout=_duration(req, "timeout"), start_period=_duration(req, "start-period"),
                          start_interval=_duration(req, "start-interval"), retries=retries)
    return HealthCheckCommand(**req.base(), health=health)


def _parse_arg(req: _Request) -> ArgCommand:
    _at_least_one(req)
    req.parse_flags()
    pairs = []
    for arg in req.args:
        if "=" in arg:
            key, value = arg.split("=", 1)
            if not key:
                raise req.error("ARG names can not be blank")
            pairs.append(KeyValuePairOptional(key, value))
        else:
            pairs.append(KeyValuePairOptional(arg))
    return ArgCommand(**req.base(), args=tuple(pairs))


def _parse_onbuild(req: _Request) -> OnbuildCommand:
    _at_least_one(req)
    req.parse_flags()
    trigger = req.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise req.error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise req.error(f"{trigger} isn't allowed as an ONBUILD trigger")
    return OnbuildCommand(**req.base(), expression=_ONBUILD_PREFIX.sub("", req.node.original, count=1))


def _parse_shell(req: _Request) -> ShellCommand:
    req.parse_flags()
    cmd, _ = _cmdline(req, req.args)
    if not cmd:
        raise req.error("SHELL requires at least one argument")
    if not req.node.is_json:
        raise req.error("SHELL requires the arguments to be in JSON form")
    return ShellCommand(**req.base(), shell=cmd)


def _parse_volume(req: _Request) -> VolumeCommand:
    _at_least_one(req)
    req.parse_flags()
    volumes = tuple(v.strip() for v in req.args)
    if any(not v for v in volumes):
        raise req.error("VOLUME specified can not be an empty string")
    return VolumeCommand(**req.base(), volumes=volumes)


def parse_instruction(node: Node, filename: str = "Dockerfile") -> Command | Stage:
    """One AST child → its typed instruction (a ``Stage`` for FROM)."""
    req = _Request(node, filename, node.args(), bflags.BFlags(list(node.flags)))
    value = node.value
    if value == "from":
        return _parse_from(req)
    if value == "run":
        return _parse_run(req)
    if value in ("cmd", "entrypoint"):
        req.parse_flags()
        cmd, shell = _cmdline(req, req.args)
        cls = CmdCommand if value == "cmd" else EntrypointCommand
        return cls(**req.base(), cmd=cmd, prepend_shell=shell)
    if value == "add":
        return _parse_add(req)
    if value == "copy":
        return _parse_copy(req)
    if value == "healthcheck":
        return _parse_healthcheck(req)
    if value == "arg":
        return _parse_arg(req)
    if value == "onbuild":
        return _parse_onbuild(req)
    if value == "shell":
        return _parse_shell(req)
    if value == "volume":
        return _parse_volume(req)
    if value in ("env", "label"):
        req.parse_flags()
        pairs = _kvps(req)
        return EnvCommand(**req.base(), env=pairs) if value == "env" else LabelCommand(**req.base(), labels=pairs)
    if value == "expose":
        _at_least_one(req)
        req.parse_flags()
        return ExposeCommand(**req.base(), ports=tuple(req.args))
    if value in ("user", "workdir", "stopsignal", "maintainer"):
        _exactly_one(req)
        req.parse_flags()
        arg = req.args[0]
        if value == "user":
            return UserCommand(**req.base(), user=arg)
        if value == "workdir":
            return WorkdirCommand(**req.base(), path=arg)
        if value == "stopsignal":
            return StopSignalCommand(**req.base(), signal=arg)
        return MaintainerCommand(**req.base(), maintainer=arg)
    typed = node.original.strip().split(None, 1)[0] if node.original.strip() else value
    hint = difflib.get_close_matches(value, INSTRUCTIONS, n=1)
    extra = f" (did you mean {hint[0]}?)" if hint else ""
    raise req.error(f"unknown instruction: {typed.upper()}{extra}")


def parse_instructions(result: Result) -> tuple[list[Stage], list[ArgCommand]]:
    """Group instructions into stages; ARGs before the first FROM are the meta (global) args."""
    filename = result.filename
    stages: list[Stage] = []
    commands: list[list[Command]] = []
    meta_args: list[ArgCommand] = []
    for node in result.ast.children:
        cmd = parse_instruction(node, filename)
        if isinstance(cmd, Stage):
            stages.append(cmd)
            commands.append([])
            continue
        if not stages:
            if isinstance(cmd, ArgCommand):
                meta_args.append(cmd)
                continue
            raise DockerfileError("no build stage in current context", filename=filename,
                                  start_line=node.start_line, end_line=node.end_line, instruction=cmd.name)
        commands[-1].append(cmd)
    if not stages:
        raise DockerfileError("dockerfile contains no stages to build (add a FROM instruction)", filename=filename)
    seen: dict[str, Stage] = {}
    out = []
    for index, (stage, cmds) in enumerate(zip(stages, commands, strict=True)):
        if stage.name:
            if stage.name in seen:
                raise DockerfileError(f'duplicate stage name "{stage.name}"', filename=filename,
                                      start_line=stage.location[1], end_line=stage.location[2], instruction="FROM")
            seen[stage.name] = stage
        out.append(Stage(name=stage.name, base_name=stage.base_name, platform=stage.platform,
                         commands=tuple(cmds), location=stage.location, original=stage.original, index=index,
                         comment=stage.comment))
    return out, meta_args


def parse_dockerfile(text: str, filename: str = "Dockerfile") -> tuple[list[Stage], list[ArgCommand]]:
    """``parse`` then ``parse_instructions``: the one call most users need."""
    from dockwright.build.dockerfile.parser import parse

    return parse_instructions(parse(text, filename))


def parse_onbuild_triggers(triggers: list[str], image: str = "base image") -> list[Command]:
    """The ONBUILD triggers stored in a base image's config, as commands to run right after FROM.

    Docker re-checks them because an image config may come from anywhere.
    """
    from dockwright.build.dockerfile.parser import node_from_line

    out: list[Command] = []
    for i, trigger in enumerate(triggers, start=1):
        node = node_from_line(trigger, "\\", f"ONBUILD trigger of {image}", i)
        node.start_line = node.end_line = i
        if node.value in ("onbuild", "from", "maintainer"):
            raise DockerfileError(f"{node.value.upper()} isn't allowed as an ONBUILD trigger",
                                  filename=f"ONBUILD trigger of {image}", start_line=i, instruction=node.value.upper())
        cmd = parse_instruction(node, f"ONBUILD trigger of {image}")
        assert not isinstance(cmd, Stage)
        out.append(cmd)
    return out
