"""Typed instructions: what the engine reads from a Dockerfile."""

from __future__ import annotations

import pytest

from dockwright.build.dockerfile import DockerfileError, parse, parse_dockerfile
from dockwright.build.dockerfile.duration import parse_duration
from dockwright.build.dockerfile.instructions import (
    AddCommand,
    ArgCommand,
    CmdCommand,
    CopyCommand,
    EntrypointCommand,
    EnvCommand,
    ExposeCommand,
    HealthCheckCommand,
    KeyValuePair,
    KeyValuePairOptional,
    LabelCommand,
    MaintainerCommand,
    OnbuildCommand,
    RunCommand,
    ShellCommand,
    StopSignalCommand,
    UserCommand,
    VolumeCommand,
    WorkdirCommand,
    add_source_kind,
)
from dockwright.build.dockerfile.mounts import Mount, MountError, parse_mount
from dockwright.errors import InvalidParameter


def one(text: str) -> object:
    stages, _ = parse_dockerfile("FROM scratch\n" + text)
    (cmd,) = stages[0].commands
    return cmd


def test_from_variants() -> None:
    stages, meta = parse_dockerfile(
        "ARG B=busybox\nFROM --platform=linux/arm64 $B AS Build\nFROM build\nFROM scratch as last\n",
        filename="app.Dockerfile",
    )
    assert [a.args for a in meta] == [(KeyValuePairOptional("B", "busybox"),)]
    assert [(s.name, s.base_name, s.platform, s.index) for s in stages] == [
        ("build", "$B", "linux/arm64", 0),
        ("", "build", "", 1),
        ("last", "scratch", "", 2),
    ]
    assert stages[0].location == ("app.Dockerfile", 2, 2)
    assert stages[0].original == "FROM --platform=linux/arm64 $B AS Build"


def test_location_and_original_span_continuations() -> None:
    cmd = one("RUN echo a \\\n  && echo b\n")
    assert isinstance(cmd, RunCommand)
    assert cmd.location == ("Dockerfile", 2, 3)
    assert cmd.cmd == ("echo a   && echo b",)
    assert cmd.prepend_shell


def test_run_cmd_entrypoint_forms() -> None:
    run = one('RUN ["echo", "x"]')
    assert isinstance(run, RunCommand) and run.cmd == ("echo", "x") and not run.prepend_shell
    cmd = one("CMD [\"a\", 'b']")
    assert isinstance(cmd, CmdCommand) and cmd.cmd == ("[\"a\", 'b']",) and cmd.prepend_shell
    ep = one("ENTRYPOINT []")
    assert isinstance(ep, EntrypointCommand) and ep.cmd == () and not ep.prepend_shell
    empty = one("CMD")
    assert isinstance(empty, CmdCommand) and empty.cmd == ()


def test_env_and_label() -> None:
    env = one('ENV a=1 "b c"=d\\ e')
    assert isinstance(env, EnvCommand)
    assert env.env == (KeyValuePair("a", "1"), KeyValuePair('"b c"', "d\\ e"))
    old = one("ENV key value with spaces")
    assert isinstance(old, EnvCommand) and old.env == (KeyValuePair("key", "value with spaces"),)
    label = one('LABEL "x"="y"')
    assert isinstance(label, LabelCommand) and label.labels == (KeyValuePair('"x"', '"y"'),)


def test_simple_instructions() -> None:
    assert one("USER a b") == UserCommand("USER", ("Dockerfile", 2, 2), "USER a b", user="a b")
    assert isinstance(one("WORKDIR /x y"), WorkdirCommand)
    assert one("STOPSIGNAL SIGINT") == StopSignalCommand("STOPSIGNAL", ("Dockerfile", 2, 2), "STOPSIGNAL SIGINT",
                                                         signal="SIGINT")
    m = one("MAINTAINER me <me@x>")
    assert isinstance(m, MaintainerCommand) and m.maintainer == "me <me@x>"
    e = one("EXPOSE 80 443/udp")
    assert isinstance(e, ExposeCommand) and e.ports == ("80", "443/udp")
    v = one('VOLUME ["/a", "/b"]')
    assert isinstance(v, VolumeCommand) and v.volumes == ("/a", "/b")
    s = one('SHELL ["pwsh", "-c"]')
    assert isinstance(s, ShellCommand) and s.shell == ("pwsh", "-c")


def test_arg() -> None:
    arg = one('ARG a b=2 c="x y" d=')
    assert isinstance(arg, ArgCommand)
    assert arg.args == (
        KeyValuePairOptional("a"),
        KeyValuePairOptional("b", "2"),
        KeyValuePairOptional("c", '"x y"'),
        KeyValuePairOptional("d", ""),
    )


def test_onbuild_keeps_expression() -> None:
    cmd = one("onbuild   RUN echo $HOME")
    assert isinstance(cmd, OnbuildCommand) and cmd.expression == "RUN echo $HOME"


def test_healthcheck() -> None:
    hc = one("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s --retries=4 "
             "CMD curl -f http://x/")
    assert isinstance(hc, HealthCheckCommand)
    h = hc.health
    assert h.test == ("CMD-SHELL", "curl -f http://x/")
    assert (h.interval, h.timeout, h.start_period, h.start_interval, h.retries) == (
        90_000_000_000, 500_000_000, 2_000_000_000, 1_000_000_000, 4)
    js = one('HEALTHCHECK CMD ["/ok"]')
    assert isinstance(js, HealthCheckCommand) and js.health.test == ("CMD", "/ok")
    none = one("HEALTHCHECK --interval=5s NONE")  # Docker ignores flags on NONE
    assert isinstance(none, HealthCheckCommand) and none.health.test == ("NONE",)


def test_copy_and_add_flags() -> None:
    c = one("COPY --from=build --chown=1:2 --chmod=0755 --link --parents --exclude=*.md --exclude=x a* b /d/")
    assert isinstance(c, CopyCommand)
    assert (c.from_, c.chown, c.chmod, c.link, c.parents, c.exclude) == ("build", "1:2", "0755", True, True,
                                                                         ("*.md", "x"))
    assert c.paths.sources == ("a*", "b") and c.paths.dest == "/d/"
    a = one("ADD --keep-git-dir --link=false --checksum=sha256:" + "a" * 64 + " https://x/y.tgz /")
    assert isinstance(a, AddCommand)
    assert a.keep_git_dir and not a.link and a.checksum == "sha256:" + "a" * 64
    assert a.unpack is None


def test_heredoc_sources_and_run_files() -> None:
    c = one("COPY <<-EOF <<'RAW' plain /dst/\n\t\tindented\n\tEOF\n$x\nRAW\n")
    assert isinstance(c, CopyCommand)
    assert c.paths.sources == ("plain",)
    assert [(s.path, s.data, s.expand) for s in c.paths.contents] == [("EOF", "indented\n", True),
                                                                      ("RAW", "$x\n", False)]
    r = one("RUN <<EOF\necho hi\nEOF\n")
    assert isinstance(r, RunCommand)
    assert r.cmd == ("<<EOF",) and [f.data for f in r.files] == ["echo hi\n"]


def test_run_flags_and_mounts() -> None:
    r = one("RUN --mount=type=cache,target=/c --mount=type=secret,id=tok,required --network=host "
            "--security=insecure make")
    assert isinstance(r, RunCommand)
    assert r.network == "host" and r.security == "insecure"
    cache, secret = r.mounts
    assert cache == Mount(type="cache", target="/c", id="/c", sharing="shared", readonly=False, mode=0o755, uid=0,
                          gid=0)
    assert (secret.id, secret.target, secret.required, secret.readonly, secret.mode) == (
        "tok", "/run/secrets/tok", True, True, 0o400)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("target=/src", Mount(type="bind", target="/src", readonly=True)),
        ("type=bind,src=a,dst=/b,from=stage,rw", Mount(type="bind", target="/b", source="a", from_="stage",
                                                       readonly=False)),
        ("type=cache,target=/x,id=pip,sharing=locked,mode=0700,uid=1000,gid=1001,ro",
         Mount(type="cache", target="/x", id="pip", sharing="locked", mode=0o700, uid=1000, gid=1001,
               readonly=True)),
        ("type=cache,target=/x,from=base,source=/cache", Mount(type="cache", target="/x", id="/x", from_="base",
                                                              source="/cache", sharing="shared", mode=0o755,
                                                              uid=0, gid=0, readonly=False)),
        ("type=tmpfs,target=/t,size=1k", Mount(type="tmpfs", target="/t", size=1024, readonly=False)),
        ("type=secret,target=/etc/key", Mount(type="secret", target="/etc/key", id="key", mode=0o400, uid=0,
                                              gid=0, readonly=True)),
        ("type=ssh", Mount(type="ssh", id="default", mode=0o600, uid=0, gid=0, readonly=True)),
        ("type=cache,target=/x,readonly=false", Mount(type="cache", target="/x", id="/x", sharing="shared",
                                                      mode=0o755, uid=0, gid=0, readonly=False)),
    ],
)
def test_parse_mount(spec: str, expected: Mount) -> None:
    assert parse_mount(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["type=bind", "type=cache,target=/x,sharing=x", "type=x,target=/y", "type=bind,target=/x,mode=0755",
     "type=cache,target=/x,mode=9", "type=secret,from=x,id=y", "type=secret,id=a,source=b", "bogus",
     "type=bind,target=/x,required", "type=cache,target=/x,size=1"],
)
def test_parse_mount_errors(spec: str) -> None:
    with pytest.raises(MountError):
        parse_mount(spec)


def test_mount_values_expanded() -> None:
    m = parse_mount("type=cache,target=$T,id=${ID}", lambda s: s.replace("$T", "/t").replace("${ID}", "i"))
    assert (m.target, m.id) == ("/t", "i")


def test_meta_args_only_before_first_from() -> None:
    stages, meta = parse_dockerfile("ARG A\nARG B=1\nFROM scratch\nARG C\n")
    assert [a.args[0].key for a in meta] == ["A", "B"]
    assert isinstance(stages[0].commands[0], ArgCommand)


def test_errors_are_invalid_parameter_with_location() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_dockerfile("FROM scratch\nRUN true\nCOPY --nope a b\n", filename="build/Dockerfile.dev")
    err = info.value
    assert isinstance(err, DockerfileError)
    assert (err.filename, err.start_line, err.instruction) == ("build/Dockerfile.dev", 3, "COPY")
    assert str(err) == "build/Dockerfile.dev:3: unknown flag: --nope"


def test_empty_continuation_warning() -> None:
    res = parse("FROM scratch\nRUN a \\\n\n  b\n")
    assert [(w.start_line, w.end_line) for w in res.warnings] == [(2, 4)]
    assert res.docker_warning_lines() == [
        "[WARNING]: Empty continuation line found in:\n    RUN a   b",
        "[WARNING]: Empty continuation lines will become errors in a future release.",
    ]
    assert res.ast.children[1].dump() == 'run "a   b"'


def test_directives_and_escape() -> None:
    res = parse("# syntax=docker/dockerfile:1\n# Escape = `\nFROM scratch\nRUN a `\n b\n")
    assert res.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert res.escape == "`"
    assert res.ast.children[1].original == "RUN a  b"


@pytest.mark.parametrize(
    ("text", "ns"),
    [("0", 0), ("1s", 10**9), ("1.5h", 5_400 * 10**9), ("2m3s", 123 * 10**9), ("10us", 10_000), ("1µs", 1000),
     ("-1s", -(10**9)), ("3ns", 3)],
)
def test_parse_duration(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(("text", "message"), [("", 'time: invalid duration ""'), ("1", 'time: missing unit in '
                         'duration "1"'), ("1x", 'time: unknown unit "x" in duration "1x"'),
                         (".s", 'time: invalid duration ".s"')])
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("src", "kind"),
    [("https://example.com/a.tar.gz", "url"), ("http://x/y", "url"), ("https://github.com/moby/buildkit.git#v0.10.1",
     "git"), ("git@github.com:moby/buildkit.git", "git"), ("git://host/repo", "git"), ("ssh://h/r.git", "git"),
     ("app.tar.gz", "local"), ("./dir/", "local")],
)
def test_add_source_kind(src: str, kind: str) -> None:
    assert add_source_kind(src) == kind


def test_parse_onbuild_triggers() -> None:
    from dockwright.build.dockerfile.instructions import parse_onbuild_triggers

    cmds = parse_onbuild_triggers(["ADD . /app", 'RUN ["make"]'], "base:1")
    assert [type(c).__name__ for c in cmds] == ["AddCommand", "RunCommand"]
    with pytest.raises(DockerfileError) as info:
        parse_onbuild_triggers(["FROM x"], "base:1")
    assert str(info.value) == "ONBUILD trigger of base:1:1: FROM isn't allowed as an ONBUILD trigger"
