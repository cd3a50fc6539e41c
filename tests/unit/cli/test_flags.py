"""docker's flag grammar, usage errors and exit codes."""

from __future__ import annotations

import pytest

from dockwright.cli.flags import CommandSpec, Flag, UsageError, parse
from dockwright.cli.main import main, parse_globals

SPEC = CommandSpec(
    name="image ls", usage="[OPTIONS] [REPOSITORY[:TAG]]", short="List images", run=lambda cli, ns: 0,
    max_args=1,
    flags=[Flag("all", "a"), Flag("quiet", "q"), Flag("filter", "f", "list"), Flag("format", "", "string"),
           Flag("tail", "n", "int", default=0), Flag("human", "H", default=True)],
)


def test_parse_interspersed_and_clustered() -> None:
    ns = parse(SPEC, ["busybox", "-aq", "--filter", "a=1", "-fb=2", "--format={{.ID}}", "-n", "5"], "images")
    assert ns.args == ["busybox"] and ns.all and ns.quiet
    assert ns.filter == ["a=1", "b=2"] and ns.format == "{{.ID}}" and ns.tail == 5
    ns = parse(SPEC, ["-H=false", "--all=false", "--quiet=true", "-f", "x=y"], "images")
    assert ns.human is False and ns.all is False and ns.quiet is True and ns.filter == ["x=y"]
    ns = parse(SPEC, ["--", "-notaflag"], "images")
    assert ns.args == ["-notaflag"]


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["--foo"], "unknown flag: --foo", 125),
        (["-z"], "unknown shorthand flag: 'z' in -z", 125),
        (["--format"], "flag needs an argument: --format", 125),
        (["-f"], "flag needs an argument: 'f' in -f", 125),
        (["-n", "x"], 'invalid argument "x" for "-n, --tail" flag', 125),
        (["--all=maybe"], 'invalid argument "maybe" for "-a, --all" flag', 125),
        (["a", "b"], "'dockwright images' requires at most 1 argument", 1),
    ],
)
def test_parse_errors(argv: list[str], message: str, code: int) -> None:
    with pytest.raises(UsageError) as ei:
        parse(SPEC, argv, "images")
    assert message in ei.value.message
    assert ei.value.exit_code == code


def test_globals() -> None:
    g, rest = parse_globals(["-H", "unix:///x", "--tlsverify", "-D", "images", "-a"])
    assert g.host == "unix:///x" and g.tlsverify and g.debug and rest == ["images", "-a"]
    g, rest = parse_globals(["--host=tcp://h:1", "--tlscacert", "/ca", "version"])
    assert g.host == "tcp://h:1" and g.tlscacert == "/ca" and rest == ["version"]
    with pytest.raises(UsageError, match="only one -H"):
        parse_globals(["-H", "a", "-H", "b", "images"])


def test_main_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", "--foo"]) == 125
    err = capsys.readouterr().err
    assert err == ("unknown flag: --foo\n\nUsage:  dockwright images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
                   "Run 'dockwright images --help' for more information\n")
    assert main(["tag"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dockwright: 'dockwright tag' requires 2 arguments\n\n"
                          "Usage:  dockwright tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n")
    assert main(["image", "ls", "--bogus"]) == 125
    assert "Run 'dockwright image ls --help'" in capsys.readouterr().err
    assert main(["nosuch"]) == 1
    assert "dockwright: unknown command: dockwright nosuch" in capsys.readouterr().err
    assert main(["image", "nosuch"]) == 1
    assert "unknown command: dockwright image nosuch" in capsys.readouterr().err


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage:  dockwright [OPTIONS] COMMAND" in out and "images" in out and "system" in out
    assert main(["images", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage:  dockwright images [OPTIONS] [REPOSITORY[:TAG]]" in out
    assert "dockwright image list, dockwright image ls, dockwright images" in out
    assert "  -a, --all " in out and "      --digests " in out
    assert main(["image"]) == 0
    out = capsys.readouterr().out
    assert "Usage:  dockwright image COMMAND" in out and "  prune " in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("dockwright version ")



def test_flag_constructors_spell_docker_help() -> None:
    from dockwright.cli.flagspecs import bool_flag, filter_flag, int_flag, list_flag, string_flag

    spec = CommandSpec("x", "[OPTIONS]", "X", lambda cli, ns: 0, flags=[
        bool_flag("all", "Show all", short="a"),
        list_flag("env", "Set env", short="e"),
        filter_flag(),
        int_flag("last", "Last n", short="n", default=-1),
        string_flag("memory", "Memory limit", short="m", metavar="bytes"),
        string_flag("name", "Name"),
        bool_flag("secret", "Not shown", hidden=True),
    ])
    assert spec.help_text("x").split("Options:\n")[1] == (
        "  -a, --all             Show all\n"
        "  -e, --env list        Set env\n"
        '  -f, --filter filter   Provide filter values (e.g. "dangling=true")\n'
        "  -n, --last int        Last n (default -1)\n"
        "  -m, --memory bytes    Memory limit\n"
        "      --name string     Name\n\n"
    )
    ns = parse(spec, ["-ae", "A=1", "--last=3", "--name", "n"], "x")
    assert (ns.all, ns.env, ns.filter, ns.last, ns.memory, ns.name, ns.secret) == (True, ["A=1"], [], 3, None, "n",
                                                                                      False)
