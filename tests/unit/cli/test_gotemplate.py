"""The Go template subset: expected outputs are what docker (Go's text/template) prints."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from dockwright.cli.formatter import RowContext
from dockwright.cli.gotemplate import StrictMap, Template, TemplateError, go_float, go_sprintf, go_str

IMAGE: dict[str, Any] = {
    "Id": "sha256:1dd1801ad2d54c7c8016addcb3f194e86dd0b79dd0fcd5d42b9953e658b99dba",
    "RepoTags": ["cliref:1", "cliref:2"],
    "RepoDigests": [],
    "Os": "linux",
    "Size": 1982496,
    "Config": {"Env": ["FOO=bar"], "Cmd": ["sh"], "Labels": {"a": "b", "c": "d"}, "Tty": False,
               "Entrypoint": None, "User": ""},
    "RootFS": {"Type": "layers", "Layers": ["sha256:4ce7"]},
}


def run(src: str, data: Any = IMAGE) -> str:
    return Template(src).execute(data)


@pytest.mark.parametrize(
    ("src", "out"),
    [
        ("{{.Config.Env}}", "[FOO=bar]"),
        ("{{.Config.Labels}}", "map[a:b c:d]"),
        ("{{.RepoTags}}", "[cliref:1 cliref:2]"),
        ("{{.RepoDigests}}", "[]"),
        ("{{index .RepoTags 0}}", "cliref:1"),
        ("{{index .RepoTags 1}}", "cliref:2"),
        ("{{range .RepoTags}}{{.}} {{end}}", "cliref:1 cliref:2 "),
        ("{{len .RepoTags}}", "2"),
        ("{{len .Os}}", "5"),
        ("{{upper .Os}}", "LINUX"),
        ("{{lower \"ABC\"}}", "abc"),
        ("{{title .Os}}", "Linux"),
        ('{{join .RepoTags ","}}', "cliref:1,cliref:2"),
        ('{{split .Os "n"}}', "[li ux]"),
        ("{{pad .Os 1 2}}", " linux  "),
        ("{{truncate .Id 10}}", "sha256:1dd"),
        ("{{truncate .Os 10}}", "linux"),
        ("{{.Size}}", "1982496"),
        ("{{.Config.Labels.a}}", "b"),
        ('{{index .Config.Labels "a"}}', "b"),
        ("{{.Config.Labels.zz}}", "<no value>"),
        ('{{index .Config.Labels "zz"}}', ""),  # zero value of map[string]string
        ("{{.Config.Entrypoint}}", "<no value>"),
        ("{{if .RepoTags}}yes{{else}}no{{end}}", "yes"),
        ("{{if .RepoDigests}}yes{{else}}no{{end}}", "no"),
        ("{{if .Config.User}}u{{else if .Config.Tty}}t{{else}}none{{end}}", "none"),
        ("{{.Os | upper}}", "LINUX"),
        ("{{println .Os}}", "linux\n"),
        ("{{println}}", "\n"),
        ('{{printf "%s-%d" .Os .Size}}', "linux-1982496"),
        ("{{.Config.Tty}}", "false"),
        ("{{json .Config.Env}}", '["FOO=bar"]'),
        ("{{json .Config.Labels}}", '{"a":"b","c":"d"}'),
        ("{{json .Config.Entrypoint}}", "null"),
        ("{{json .Os}}", '"linux"'),
        ("{{$x := .Os}}{{$x}}", "linux"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ("{{range $i, $t := .RepoTags}}{{$i}}={{$t}};{{end}}", "0=cliref:1;1=cliref:2;"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}} {{end}}", "a:b c:d "),
        ("{{range .Config.Labels}}{{.}}{{end}}", "bd"),
        ("{{range .RepoDigests}}x{{else}}empty{{end}}", "empty"),
        ("{{range .RepoTags}}{{$.Os}}{{end}}", "linuxlinux"),
        ('{{eq .Os "linux"}}', "true"),
        ('{{ne .Os "linux"}}', "false"),
        ('{{if eq .Os "windows" "linux"}}Y{{end}}', "Y"),
        ("{{not .Config.Tty}}", "true"),
        ("{{and .Os .Size}}", "1982496"),
        ('{{or "" .Os}}', "linux"),
        ("{{and .Config.Tty .Nope}}", "false"),
        ("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 3 2}}", "true true false true"),
        ('{{lt "a" "b"}}', "true"),
        ("{{with .Config}}{{.Env}}{{end}}", "[FOO=bar]"),
        ("{{with .RepoDigests}}x{{else}}none{{end}}", "none"),
        ("{{ .Os -}}   x", "linuxx"),
        ("a   {{- .Os}}", "alinux"),
        ("{{/* a comment */}}z", "z"),
        ("a {{- /* trimmed */ -}} b", "ab"),
        ('{{.Size | printf "%v"}}', "1982496"),
        ('{{1.5}} {{"a\\tb"}} {{`raw\\t`}} {{true}}', "1.5 a\tb raw\\t true"),
        ('{{print 1 2 "a" "b" 3}}', "1 2ab3"),
        ("{{(index .RepoTags 1)}}", "cliref:2"),
        ("{{(.Config).Env}}", "[FOO=bar]"),
        ("{{(index .RootFS.Layers 0)}}", "sha256:4ce7"),
        ("{{slice .Os 1 3}}", "in"),
        ('{{range .RepoTags}}{{if eq . "cliref:2"}}{{break}}{{end}}{{.}}{{end}}', "cliref:1"),
        ('{{range .RepoTags}}{{if eq . "cliref:1"}}{{continue}}{{end}}{{.}}{{end}}', "cliref:2"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ('{{html "<a&b>"}}', "&lt;a&amp;b&gt;"),
        ('{{urlquery "a b&c"}}', "a+b%26c"),
        ("{{'a'}}", "97"),
        ("{{0x1F}} {{-3}} {{1e3}}", "31 -3 1000"),
        ("{{.}}", "map[Config:map[Cmd:[sh] Entrypoint:<nil> Env:[FOO=bar] Labels:map[a:b c:d] Tty:false User:] "
                  "Id:sha256:1dd1801ad2d54c7c8016addcb3f194e86dd0b79dd0fcd5d42b9953e658b99dba Os:linux "
                  "RepoDigests:[] RepoTags:[cliref:1 cliref:2] RootFS:map[Layers:[sha256:4ce7] Type:layers] "
                  "Size:1982496]"),
        ("{{.config.env}}", "[FOO=bar]"),  # Go's JSON decoding into structs is case-insensitive
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_docker_cases(src: str, out: str) -> None:
    assert run(src) == out


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("{{.Repository", "template: :1: unclosed action"),
        ("{{foo .Os}}", 'template: :1: function "foo" not defined'),
        ("{{nil}}", 'template: :1:2: executing "" at <nil>: nil is not a command'),
        ("{{if .Os}}x", "unexpected EOF"),
        ("{{end}}", "unexpected {{end}}"),
        ("{{json.}}", "unexpected <.> in operand"),
        ("{{break}}", "{{break}} outside {{range}}"),
        ("{{index .RepoTags 5}}", "error calling index: index out of range: 5"),
        ("{{$nope}}", "undefined variable: $nope"),
        ("{{len .Size}}", "len of type int"),
        ('{{eq .Size "x"}}', "incompatible types for comparison"),
        ("{{.Os.Foo}}", "can't evaluate field Foo in type string"),
        ("{{.Nope.Foo}}", "nil pointer evaluating interface {}.Foo"),
        ("{{template \"x\"}}", "not supported"),
        ('{{upper .Size}}', "wrong type for value; expected string; got int"),
    ],
)
def test_errors(src: str, message: str) -> None:
    with pytest.raises(TemplateError, match="^template: ") as ei:
        run(src)
    assert message in str(ei.value)


def test_strict_map_is_docker_inspect_missingkey_error() -> None:
    with pytest.raises(TemplateError) as ei:
        run("{{.Nope}}", StrictMap(IMAGE))
    assert str(ei.value) == 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'
    assert run("{{.Config.Labels.zz}}", StrictMap(IMAGE)) == "<no value>"


def test_error_position_on_later_lines() -> None:
    with pytest.raises(TemplateError, match=r"^template: :2:4: executing"):
        run("x\nab{{.Os.Foo}}")


class Row(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {"ID": "IMAGE ID", "Tag": "TAG"}

    def ID(self) -> str:
        return "abc"

    def Tag(self) -> str:
        return "<none>"


def test_field_contexts() -> None:
    assert run("{{.ID}}:{{.Tag}}", Row()) == "abc:<none>"
    assert run("{{json .}}", Row()) == '{"ID":"abc","Tag":"\\u003cnone\\u003e"}'
    with pytest.raises(TemplateError, match="can't evaluate field Nope in type Row"):
        run("{{.Nope}}", Row())


def test_range_scoping_restores_variables() -> None:
    assert run('{{$x := "out"}}{{range .RepoTags}}{{$x := .}}{{end}}{{$x}}') == "out"
    assert run('{{$x := "out"}}{{range .RepoTags}}{{$x = .}}{{end}}{{$x}}') == "cliref:2"


@pytest.mark.parametrize(
    ("value", "out"),
    [(1.5, "1.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (0.0001, "0.0001"), (0.00001, "1e-05"),
     (123456789.0, "123456789"), (-2.5, "-2.5"), (0.0, "0"), (1.0 / 3, "0.3333333333333333")],
)
def test_go_float(value: float, out: str) -> None:
    assert go_float(value) == out


def test_go_str_nested_nil() -> None:
    assert go_str(None) == "<no value>"
    assert go_str([None, 1, True]) == "[<nil> 1 true]"
    assert go_str({"b": None, "a": [1, 2]}) == "map[a:[1 2] b:<nil>]"


@pytest.mark.parametrize(
    ("fmt", "args", "out"),
    [
        ("%s-%d", ("a", 1), "a-1"),
        ("%5.1f|%-6s|%03d", (3.14159, "ab", 7), "  3.1|ab    |007"),
        ("%q", ('x"y',), '"x\\"y"'),
        ("%x %X", (255, "hi"), "ff 6869"),
        ("%t %v %%", (True, [1, 2]), "true [1 2] %"),
        ("%d", ("s",), "%!d(string=s)"),
        ("%s %s", ("a",), "a %!s(MISSING)"),
        ("%s", ("a", 1), "a%!(EXTRA int=1)"),
        ("%*d", (4, 7), "   7"),
    ],
)
def test_printf(fmt: str, args: tuple[Any, ...], out: str) -> None:
    assert go_sprintf(fmt, *args) == out


DOCKERD_IMAGE: dict[str, Any] = {
    "Id": "sha256:1dd1",
    "ContainerConfig": {"Env": None, "Cmd": None, "Labels": None, "Hostname": ""},
    "Config": {"Env": ["FOO=bar"], "Entrypoint": None, "OnBuild": None, "Volumes": None, "Labels": {"a": "b"}},
}


@pytest.mark.parametrize(
    ("src", "out"),
    [
        # what docker prints (typed Go values) for these nulls, checked against dockerd 20.10 + docker CLI 28
        ("{{.Config.Entrypoint}}", "[]"),
        ("{{.ContainerConfig.Env}}", "[]"),
        ("{{.Config.OnBuild}}", "[]"),
        ("{{.ContainerConfig.Labels}}", "map[]"),
        ("{{.Config.Volumes}}", "map[]"),
        ("{{.Config.Healthcheck}}", "<nil>"),
        ("{{json .Config.Volumes}}", "null"),
        ("{{len .ContainerConfig.Cmd}}", "0"),
        ('{{index .ContainerConfig.Labels "x"}}|{{index .Config.Labels "zz"}}|{{.Config.Labels.zz}}',
         "||<no value>"),
        ("{{range .ContainerConfig.Env}}x{{end}}|", "|"),
        ("{{if .ContainerConfig.Env}}y{{else}}n{{end}}", "n"),
        ("{{.ContainerConfig.Labels.foo}}", "<no value>"),
    ],
)
def test_typed_nils_print_like_go_types(src: str, out: str) -> None:
    from dockwright.cli.apitypes import NULL_KINDS

    assert Template(src).execute(StrictMap(DOCKERD_IMAGE), typed_nils=NULL_KINDS) == out
