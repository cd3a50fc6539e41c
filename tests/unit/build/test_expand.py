"""Expansion and ARG/ENV scoping of a stage.

``data/docker_verified.json`` holds Dockerfiles built with dockerd 20.10's
builder (``DOCKER_BUILDKIT=0``) and the image config it produced; the first
test replays them through ``expand_stage`` and compares.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import pytest

from dockwright.build.dockerfile import DockerfileError, parse, parse_dockerfile, parse_instructions
from dockwright.build.dockerfile.expand import (
    expand_stage,
    exposed_ports,
    resolve_meta_args,
    unused_build_args,
    unused_build_args_warning,
)
from dockwright.build.dockerfile.instructions import (
    ArgCommand,
    CmdCommand,
    CopyCommand,
    EntrypointCommand,
    EnvCommand,
    ExposeCommand,
    LabelCommand,
    RunCommand,
    StopSignalCommand,
    UserCommand,
    VolumeCommand,
    WorkdirCommand,
)

VERIFIED = json.loads((Path(__file__).parent / "data" / "docker_verified.json").read_text(encoding="utf-8"))


def _config(text: str, build_args: dict[str, str]) -> dict[str, Any]:
    res = parse(text)
    stages, meta = parse_instructions(res)
    expanded = expand_stage(stages[-1], build_args, meta, escape=res.escape)
    cfg: dict[str, Any] = {"Env": {}, "Labels": {}, "Volumes": [], "ExposedPorts": []}
    shell = ["/bin/sh", "-c"]
    for ec in expanded.commands:
        c = ec.command
        if isinstance(c, EnvCommand):
            cfg["Env"].update({kv.key: kv.value for kv in c.env})
        elif isinstance(c, LabelCommand):
            cfg["Labels"].update({kv.key: kv.value for kv in c.labels})
        elif isinstance(c, (CmdCommand, EntrypointCommand)):
            key = "Cmd" if isinstance(c, CmdCommand) else "Entrypoint"
            cfg[key] = shell + list(c.cmd) if c.prepend_shell else list(c.cmd)
        elif isinstance(c, WorkdirCommand):
            cfg["WorkingDir"] = posixpath.normpath(posixpath.join(cfg.get("WorkingDir", "/"), c.path))
        elif isinstance(c, UserCommand):
            cfg["User"] = c.user
        elif isinstance(c, VolumeCommand):
            cfg["Volumes"] += c.volumes
        elif isinstance(c, ExposeCommand):
            cfg["ExposedPorts"] += exposed_ports(c.ports)
        elif isinstance(c, StopSignalCommand):
            cfg["StopSignal"] = c.signal
        elif type(c).__name__ == "ShellCommand":
            shell = list(c.shell)  # type: ignore[attr-defined]
            cfg["Shell"] = shell
        elif type(c).__name__ == "HealthCheckCommand":
            h = c.health  # type: ignore[attr-defined]
            cfg["Healthcheck"] = {"Test": list(h.test), "Interval": h.interval, "Retries": h.retries}
    cfg["Volumes"] = sorted(cfg["Volumes"])
    cfg["ExposedPorts"] = sorted(cfg["ExposedPorts"])
    return {k: v for k, v in cfg.items() if v not in (None, "", [], {})}


@pytest.mark.parametrize("name", sorted(VERIFIED["cases"]))
def test_matches_docker(name: str) -> None:
    case = VERIFIED["cases"][name]
    assert _config(case["dockerfile"], VERIFIED["build_args"]) == case["config"]


def _stage(text: str, build_args: dict[str, str] | None = None, index: int = -1) -> Any:
    stages, meta = parse_dockerfile(text)
    return expand_stage(stages[index], build_args or {}, meta)


def test_arg_scoping_and_env_precedence() -> None:
    st = _stage(
        "ARG G=global\nARG H\nFROM img:$G\nARG G\nARG H\nARG L=local-$G\nENV L=env\nARG L=again\nENV X=$L-$G\n",
        {"H": "from-cli"},
    )
    assert st.stage.base_name == "img:global"
    assert st.args == {"G": "global", "H": "from-cli", "L": "again"}
    assert st.env == {"L": "env", "X": "env-global"}
    assert st.declared_args == {"G", "H", "L"}


def test_global_args_invisible_without_redeclaration() -> None:
    st = _stage("ARG V=1\nFROM scratch\nENV A=x$V\n")
    assert st.env == {"A": "x"}


def test_build_arg_overrides_defaults_everywhere() -> None:
    st = _stage("ARG V=1\nFROM img:$V\nARG V=2\nWORKDIR /$V\n", {"V": "9"})
    assert st.stage.base_name == "img:9"
    assert st.commands[-1].command.path == "/9"


def test_env_line_expands_before_assigning() -> None:
    st = _stage("FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n")
    assert st.env == {"abc": "bye", "def": "hello", "ghi": "bye"}


def test_used_and_cache_args() -> None:
    st = _stage(
        "FROM scratch\nARG A=1\nARG B=2\nARG HTTP_PROXY\nWORKDIR /$A\nRUN make\nENV B=env\nRUN make\nCOPY $B /x\n",
        {"https_proxy": "p", "HTTP_PROXY": "q"},
    )
    workdir, run1, run2, copy = st.commands[3], st.commands[4], st.commands[6], st.commands[7]
    assert workdir.used_args == {"A"} and workdir.cache_args == {"A": "1"}
    assert run1.cache_args == {"A": "1", "B": "2", "HTTP_PROXY": "q"}
    assert run1.visible_args == {"A": "1", "B": "2", "HTTP_PROXY": "q", "https_proxy": "p"}
    assert run2.cache_args == {"A": "1", "HTTP_PROXY": "q"}  # B is now an ENV, part of the config
    assert copy.used_args == frozenset() and copy.command.paths.sources == ("env",)


def test_undeclared_proxy_args_reach_run_not_cache_key() -> None:
    st = _stage("FROM scratch\nRUN curl x\n", {"HTTP_PROXY": "http://proxy", "no_proxy": "localhost"})
    run = st.commands[0]
    assert run.visible_args == {"HTTP_PROXY": "http://proxy", "no_proxy": "localhost"}
    assert run.cache_args == {}


def test_unused_build_args() -> None:
    text = "ARG META\nFROM scratch\nARG USED\n"
    stages, meta = parse_dockerfile(text)
    build_args = {"USED": "1", "META": "2", "NOPE": "3", "ALSO": "4", "FTP_PROXY": "x"}
    st = expand_stage(stages[0], build_args, meta)
    names = unused_build_args(build_args, meta, [st])
    assert names == ["ALSO", "NOPE"]
    assert unused_build_args_warning(names) == "[Warning] One or more build-args [ALSO NOPE] were not consumed"


def test_which_instructions_expand() -> None:
    stages, meta = parse_dockerfile(
        "FROM scratch\nENV V=val P=80 M=644\nRUN echo $V\nCMD echo $V\nENTRYPOINT [\"$V\"]\nLABEL $V=$V\n"
        "USER $V\nONBUILD RUN $V\nVOLUME /$V\nEXPOSE $P\nHEALTHCHECK CMD $V\nSHELL [\"$V\"]\n"
        "COPY --chown=$V --chmod=$M --from=$V --exclude=$V $V /$V/\nADD --checksum=$V $V /$V\n"
    )
    st = expand_stage(stages[0], {}, meta)
    got: list[Any] = [ec.command for ec in st.commands]
    assert got[1].cmd == ("echo $V",)  # RUN
    assert got[2].cmd == ("echo $V",)  # CMD
    assert got[3].cmd == ("$V",)  # ENTRYPOINT
    assert (got[4].labels[0].key, got[4].labels[0].value) == ("val", "val")
    assert got[5].user == "val"
    assert got[6].expression == "RUN $V"  # ONBUILD
    assert got[7].volumes == ("/val",)
    assert got[8].ports == ("80",)
    assert got[9].health.test == ("CMD-SHELL", "$V")
    assert got[10].shell == ("$V",)
    copy = got[11]
    assert (copy.chown, copy.chmod, copy.from_, copy.exclude, copy.paths.sources, copy.paths.dest) == (
        "val", "644", "val", ("val",), ("val",), "/val/")
    assert got[12].checksum == "val"


def test_heredoc_expansion_keeps_quotes() -> None:
    st = _stage("FROM scratch\nENV N=world\nCOPY <<EOF <<'RAW' /d/\nhello \"$N\" '$N'\nEOF\n$N\nRAW\n")
    copy = st.commands[1].command
    assert isinstance(copy, CopyCommand)
    assert [c.data for c in copy.paths.contents] == ["hello \"world\" 'world'\n", "$N\n"]


def test_run_mounts_expanded() -> None:
    st = _stage("FROM scratch\nARG CACHE=/root/.cache\nRUN --mount=type=cache,target=$CACHE,id=c-${CACHE} x\n")
    run = st.commands[1].command
    assert isinstance(run, RunCommand)
    assert (run.mounts[0].target, run.mounts[0].id) == ("/root/.cache", "c-/root/.cache")
    assert st.commands[1].used_args == {"CACHE"}


def test_expose_splits_words() -> None:
    st = _stage("FROM scratch\nENV PORTS=\"80 443/udp\"\nEXPOSE $PORTS 22\n")
    assert st.commands[1].command.ports == ("80", "443/udp", "22")
    assert exposed_ports(["80/UDP", "90-91"]) == ["80/udp", "90/tcp", "91/tcp"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM scratch\nENV A=\"${NOPE:?need NOPE}\"\n", 'Dockerfile:2: failed to process "\\"${NOPE:?need NOPE}'
         '\\"": NOPE: need NOPE'),
        ("FROM scratch\nCOPY ${X:?} /\n", 'Dockerfile:2: failed to process "${X:?}": X: is not allowed to be unset'),
        ("FROM scratch\nEXPOSE 80/xyz\n", "Dockerfile:2: Invalid proto: xyz"),
        ("FROM scratch\nEXPOSE abc\n", "Dockerfile:2: Invalid containerPort: abc"),
        ("FROM scratch\nSTOPSIGNAL $NOPE\n", "Dockerfile:2: Invalid signal: "),
        ("FROM scratch\nSTOPSIGNAL SIGFOO\n", "Dockerfile:2: Invalid signal: SIGFOO"),
        ("FROM scratch\nARG M=99\nCOPY --chmod=$M a /\n", "Dockerfile:3: invalid chmod parameter: 99. it should be "
         "octal string and between 0 and 07777"),
        ("FROM scratch\nENV V=\nVOLUME $V\n", "Dockerfile:3: VOLUME specified can not be an empty string"),
        ("FROM ${BASE:?set-BASE}\n", 'Dockerfile:1: failed to process "${BASE:?set-BASE}": BASE: set-BASE'),
        ("FROM scratch\nARG S=bogus\nRUN --mount=type=cache,target=/x,sharing=$S true\n",
         "Dockerfile:3: unsupported sharing value 'bogus'"),
    ],
)
def test_expansion_errors(text: str, message: str) -> None:
    stages, meta = parse_dockerfile(text)
    with pytest.raises(DockerfileError) as info:
        expand_stage(stages[-1], {}, meta)
    assert str(info.value) == message


def test_signals_accepted() -> None:
    for sig in ("9", "SIGKILL", "term", "SIGRTMIN+3", "RTMAX-1"):
        _stage(f"FROM scratch\nSTOPSIGNAL {sig}\n")


def test_resolve_meta_args_and_predefined() -> None:
    _, meta = parse_dockerfile("ARG A=1\nARG B=$A-$TARGETARCH\nARG C\nFROM scratch\n")
    assert resolve_meta_args(meta, {"C": "c"}, {"TARGETARCH": "amd64"}) == {
        "TARGETARCH": "amd64", "A": "1", "B": "1-amd64", "C": "c"}
    stages, meta = parse_dockerfile("FROM --platform=$BUILDPLATFORM img\nARG TARGETARCH\nENV T=$TARGETARCH\n")
    st = expand_stage(stages[0], {}, meta, predefined_args={"TARGETARCH": "arm64", "BUILDPLATFORM": "linux/amd64"})
    assert st.stage.platform == "linux/amd64" and st.env == {"T": "arm64"}


def test_base_env_and_escape() -> None:
    res = parse("# escape=`\nFROM scratch\nWORKDIR $GOPATH`\\src\n")
    stages, meta = parse_instructions(res)
    st = expand_stage(stages[0], {}, meta, base_env={"GOPATH": "C:\\go"}, escape=res.escape)
    workdir = st.commands[0].command
    assert isinstance(workdir, WorkdirCommand) and workdir.path == "C:\\go\\src"


def test_arg_command_records_resolved_values() -> None:
    st = _stage("FROM scratch\nARG A B=$A-x C\n", {"A": "a"})
    arg = st.commands[0].command
    assert isinstance(arg, ArgCommand)
    assert [(kv.key, kv.value) for kv in arg.args] == [("A", "a"), ("B", "a-x"), ("C", None)]
