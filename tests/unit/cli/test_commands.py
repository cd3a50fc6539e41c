"""Each command against a real HTTP server speaking canned Engine API answers."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dockwright.cli.main import main
from tests.unit.client.fake_engine import FakeEngine, Reply, error_reply, json_reply, stream_reply

ID1 = "sha256:" + "1dd1801ad2d5" + "4" * 52
ID2 = "sha256:" + "24738c216b3e" + "5" * 52
NOW = time.time()


def dw(eng: FakeEngine, *args: str) -> int:
    return main(["-H", eng.host, *args])


def summary(ident: str, tags: list[str], digests: list[str] | None = None, age: float = 120,
            size: int = 1982496) -> dict[str, Any]:
    return {"Id": ident, "ParentId": "", "RepoTags": tags, "RepoDigests": digests or [],
            "Created": int(NOW - age), "Size": size, "SharedSize": -1, "VirtualSize": size, "Labels": {},
            "Containers": -1}


IMAGES = [
    summary(ID1, ["cliref:1", "cliref:2"], ["cliref@sha256:" + "d" * 64], age=120),
    summary(ID2, [], [], age=7200, size=4_260_000),
]


def test_images_table(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/images/json", json_reply(IMAGES))
    assert dw(engine, "images") == 0
    assert capsys.readouterr().out == (
        "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n"
        "cliref       1         1dd1801ad2d5   2 minutes ago   1.98MB\n"
        "cliref       2         1dd1801ad2d5   2 minutes ago   1.98MB\n"
        "<none>       <none>    24738c216b3e   2 hours ago     4.26MB\n"
    )
    assert dw(engine, "image", "ls", "--digests", "-a", "--filter", "dangling=false", "cliref") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert "sha256:" + "d" * 64 in out[1]
    q = engine.last("GET", "/images/json").query
    assert q["all"] == ["1"]
    assert json.loads(q["filters"][0]) == {"dangling": {"false": True}, "reference": {"cliref": True}}


def test_images_quiet_no_trunc_and_formats(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/images/json", json_reply(IMAGES))
    assert dw(engine, "images", "-q") == 0
    assert capsys.readouterr().out == "1dd1801ad2d5\n1dd1801ad2d5\n24738c216b3e\n"
    assert dw(engine, "images", "-q", "--no-trunc") == 0
    assert capsys.readouterr().out.splitlines()[0] == ID1
    assert dw(engine, "images", "--format", "{{.Repository}}:{{.Tag}}") == 0
    assert capsys.readouterr().out == "cliref:1\ncliref:2\n<none>:<none>\n"
    assert dw(engine, "images", "--format", "table {{.ID}}\\t{{.Size}}\\t{{.VirtualSize}}") == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["IMAGE ID       SIZE      SIZE",
                                                        "1dd1801ad2d5   1.98MB    1.982MB"]
    assert dw(engine, "images", "--format", "json") == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["Repository"] == "cliref" and first["Containers"] == "N/A" and first["Digest"] == "<none>"
    assert dw(engine, "images", "--format", "{{.Nope}}") == 1
    assert "template parsing error: template: :1:2: executing" in capsys.readouterr().err


def test_bad_filter_is_a_usage_error(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert dw(engine, "images", "--filter", "dangling") == 125
    assert "bad format of filter (expected name=value)" in capsys.readouterr().err


def test_api_error_and_no_daemon(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/images/json", error_reply(400, "Invalid filter 'bogus'"))
    assert dw(engine, "images", "-f", "bogus=1") == 1
    assert capsys.readouterr().err == "Error response from daemon: Invalid filter 'bogus'\n"
    assert main(["-H", "unix:///nonexistent/dw.sock", "images"]) == 1
    assert capsys.readouterr().err == (
        "Cannot connect to the dockwright daemon at unix:///nonexistent/dw.sock. Is the daemon running? "
        "Start it with: dockwright daemon\n")


def test_host_from_environment(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("GET", "/images/json", json_reply([]))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("DOCKWRIGHT_HOST", engine.host)
    assert main(["images", "-q"]) == 0
    monkeypatch.delenv("DOCKWRIGHT_HOST")
    assert main(["images", "-q"]) == 1
    assert "unix:///nonexistent/docker.sock" in capsys.readouterr().err


HISTORY = [
    {"Id": ID1, "Created": int(NOW - 3 * 86400), "CreatedBy": "/bin/sh -c #(nop)\tCMD [\"sh\"] and a very long tail",
     "Tags": ["cliref:1"], "Size": 0, "Comment": ""},
    {"Id": "<missing>", "Created": int(NOW - 5 * 86400), "CreatedBy": "", "Tags": None, "Size": 1982496,
     "Comment": "my message"},
]


def test_history(engine: FakeEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("GET", "/images/cliref:1/history", json_reply(HISTORY))
    assert dw(engine, "history", "cliref:1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "IMAGE          CREATED      CREATED BY                                      SIZE      COMMENT"
    assert lines[1].startswith("1dd1801ad2d5   3 days ago   /bin/sh -c #(nop) CMD [\"sh\"] and a very long…   0B")
    assert lines[2].startswith("<missing>") and lines[2].endswith("1.98MB    my message")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert dw(engine, "image", "history", "-H=false", "--no-trunc", "cliref:1") == 0
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["IMAGE", "CREATED", "AT"]
    assert lines[1].startswith(ID1) and "and a very long tail" in lines[1]
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(NOW - 5 * 86400))) in lines[2]
    assert "1982496" in lines[2]
    assert dw(engine, "history", "-q", "cliref:1") == 0
    assert capsys.readouterr().out == "1dd1801ad2d5\n<missing>\n"


INSPECT = {"Id": ID1, "RepoTags": ["cliref:1"], "Config": {"Env": ["A=<b>"], "Labels": None}, "Size": 5}


def test_image_inspect(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/images/cliref:1/json", json_reply(INSPECT))
    engine.route("GET", "/images/nope/json", error_reply(404, "No such image: nope:latest"))
    assert dw(engine, "image", "inspect", "cliref:1") == 0
    out = capsys.readouterr().out
    assert out.startswith('[\n    {\n        "Id": "sha256:1dd')
    assert '"A=\\u003cb\\u003e"' in out
    assert json.loads(out) == [INSPECT]
    assert dw(engine, "image", "inspect", "nope", "cliref:1") == 1
    cap = capsys.readouterr()
    assert json.loads(cap.out) == [INSPECT]
    assert cap.err == "Error response from daemon: No such image: nope:latest\n"
    assert dw(engine, "image", "inspect", "nope") == 1
    assert capsys.readouterr().out == "[]\n"
    assert dw(engine, "image", "inspect", "-f", "{{.Id}} {{json .Config}} {{.Config.Env}}", "cliref:1") == 0
    assert capsys.readouterr().out == ID1 + ' {"Env":["A=<b>"],"Labels":null} [A=<b>]\n'
    assert dw(engine, "image", "inspect", "--format", "{{.Nope}}", "cliref:1") == 1
    assert 'map has no entry for key "Nope"' in capsys.readouterr().err


def test_generic_inspect_tries_each_type(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/images/cliref:1/json", json_reply(INSPECT))
    assert dw(engine, "inspect", "--format", "{{.Size}}", "cliref:1", "ghost") == 1
    cap = capsys.readouterr()
    assert cap.out == "5\n" and cap.err == "Error: No such object: ghost\n"
    paths = [r.path for r in engine.requests if "ghost" in r.path]
    assert paths == ["/containers/ghost/json", "/images/ghost/json", "/networks/ghost", "/volumes/ghost"]
    assert dw(engine, "inspect", "--type", "image", "ghost") == 1
    assert capsys.readouterr().err == "Error: No such image: ghost\n"


def test_tag(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("POST", "/images/cliref:1/tag", Reply(201))
    assert dw(engine, "tag", "cliref:1", "localhost:5000/team/app") == 0
    assert engine.last("POST", "/images/cliref:1/tag").query == {"repo": ["localhost:5000/team/app"],
                                                                  "tag": ["latest"]}
    assert dw(engine, "image", "tag", "cliref:1", "docker.io/library/busybox:v2") == 0
    assert engine.last("POST", "/images/cliref:1/tag").query == {"repo": ["busybox"], "tag": ["v2"]}
    assert dw(engine, "tag", "cliref:1", "UPPER") == 1
    assert capsys.readouterr().err.startswith('Error parsing reference: "UPPER" is not a valid repository/tag: '
                                              "invalid reference format")
    assert dw(engine, "tag", "cliref:1", "a@sha256:" + "0" * 64) == 1
    assert "refusing to create a tag with a digest reference" in capsys.readouterr().err


def test_rmi(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("DELETE", "/images/cliref:1", json_reply([{"Untagged": "cliref:1"}, {"Deleted": ID1}]))
    engine.route("DELETE", "/images/nope", error_reply(404, "No such image: nope:latest"))
    assert dw(engine, "rmi", "-f", "--no-prune", "nope", "cliref:1") == 1
    cap = capsys.readouterr()
    assert cap.out == f"Untagged: cliref:1\nDeleted: {ID1}\n"
    assert cap.err == "Error response from daemon: No such image: nope:latest\n"
    assert engine.last("DELETE", "/images/cliref:1").query == {"force": ["1"], "noprune": ["1"]}


def test_image_prune_prompt_and_report(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("POST", "/images/prune", json_reply({"ImagesDeleted": [{"Untagged": "a:1"}, {"Deleted": ID2}],
                                                      "SpaceReclaimed": 4_260_000}))
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert dw(engine, "image", "prune") == 0
    assert capsys.readouterr().out == ("WARNING! This will remove all dangling images.\n"
                                       "Are you sure you want to continue? [y/N] ")
    assert not [r for r in engine.requests if r.path == "/images/prune"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert dw(engine, "image", "prune", "-a", "--filter", "until=24h") == 0
    out = capsys.readouterr().out
    assert out.startswith("WARNING! This will remove all images without at least one container associated")
    assert out.endswith(f"[y/N] Deleted Images:\nuntagged: a:1\ndeleted: {ID2}\n\nTotal reclaimed space: 4.26MB\n")
    assert engine.last("POST", "/images/prune").filters() == {"until": {"24h": True}, "dangling": {"false": True}}
    assert dw(engine, "image", "prune", "-f") == 0
    assert capsys.readouterr().out.startswith("Deleted Images:")
    assert engine.last("POST", "/images/prune").filters() == {"dangling": {"true": True}}


def test_system_prune(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("POST", "/containers/prune", json_reply({"ContainersDeleted": ["c1"], "SpaceReclaimed": 10}))
    engine.route("POST", "/images/prune", json_reply({"ImagesDeleted": None, "SpaceReclaimed": 0}))
    engine.route("POST", "/volumes/prune", json_reply({"VolumesDeleted": ["v1"], "SpaceReclaimed": 1000}))
    engine.route("POST", "/build/prune", json_reply({"CachesDeleted": ["b1"], "SpaceReclaimed": 5}))
    # no /networks/prune route: a daemon without networks yet is skipped, not an error
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert dw(engine, "system", "prune", "--volumes") == 0
    assert capsys.readouterr().out == (
        "WARNING! This will remove:\n  - all stopped containers\n"
        "  - all networks not used by at least one container\n"
        "  - all anonymous volumes not used by at least one container\n"
        "  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] ")
    assert dw(engine, "system", "prune", "-af", "--volumes", "--filter", "label=x") == 0
    assert capsys.readouterr().out == (
        "Deleted Containers:\nc1\n\nDeleted Volumes:\nv1\n\nDeleted build cache objects:\nb1\n\n"
        "Total reclaimed space: 1.015kB\n")
    assert engine.last("POST", "/build/prune").query["all"] == ["1"]
    assert engine.last("POST", "/images/prune").filters() == {"label": {"x": True}, "dangling": {"false": True}}


DF = {
    "LayersSize": 1982496,
    "Images": [dict(summary(ID1, ["cliref:1", "cliref:2"]), SharedSize=0, Containers=1)],
    "Containers": [{"Id": "c" * 64, "Names": ["/web"], "Image": "cliref:1", "ImageID": ID1,
                    "Command": "sh -c 'sleep 1000000000'", "Created": int(NOW - 60), "State": "exited",
                    "Status": "Exited (0) 1 minute ago", "SizeRw": 1200, "SizeRootFs": 1983696,
                    "Mounts": [{"Type": "volume", "Driver": "local"}]}],
    "Volumes": [{"Name": "vol1", "Driver": "local", "UsageData": {"Size": 2000, "RefCount": 0}}],
    "BuildCache": [],
}


def test_system_df(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/system/df", json_reply(DF))
    assert dw(engine, "system", "df") == 0
    assert capsys.readouterr().out == (
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
        "Images          1         1         1.982MB   0B (0%)\n"
        "Containers      1         0         1.2kB     1.2kB (100%)\n"
        "Local Volumes   1         0         2kB       2kB (100%)\n"
        "Build Cache     0         0         0B        0B\n")
    assert dw(engine, "system", "df", "-v") == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Images space usage:\n\n"
        "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS\n"
        "cliref       1         1dd1801ad2d5   2 minutes ago   1.98MB    0B            1.982MB       1\n\n"
        "Containers space usage:\n\n"
        "CONTAINER ID   IMAGE      COMMAND                  LOCAL VOLUMES   SIZE")
    assert '"sh -c \'sleep 100000…"' in out and " 1.2kB " in out and "virtual" not in out
    assert "About a minute ago" in out
    assert out.endswith("Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\nvol1          0         2kB\n\n"
                        "Build cache usage: 0B\n\n"
                        "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n")
    assert dw(engine, "system", "df", "--format", "{{.Type}}={{.Size}}") == 0
    assert capsys.readouterr().out.splitlines()[0] == "Images=1.982MB"


EVENTS = [
    {"status": "tag", "id": ID1, "Type": "image", "Action": "tag",
     "Actor": {"ID": ID1, "Attributes": {"name": "busybox:latest", "a": "1"}}, "scope": "local",
     "time": 1795829217, "timeNano": 1795829217000000123},
    {"Type": "image", "Action": "delete", "Actor": {"ID": ID2, "Attributes": {}}, "time": 1795829218},
]


def test_events(engine: FakeEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("GET", "/events", lambda _r: stream_reply(EVENTS))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert dw(engine, "events", "--since", "1795829000", "--until", "10m", "--filter", "type=image") == 0
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert capsys.readouterr().out == (
        f"2026-11-28T01:26:57.000000123Z image tag {ID1} (a=1, name=busybox:latest)\n"
        f"2026-11-28T01:26:58.000000000Z image delete {ID2}\n")
    q = engine.last("GET", "/events").query
    assert q["since"] == ["1795829000"] and abs(int(q["until"][0]) - (time.time() - 600)) < 5
    assert json.loads(q["filters"][0]) == {"type": {"image": True}}
    assert dw(engine, "system", "events", "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Scope}}") == 0
    assert capsys.readouterr().out == "tag busybox:latest local\ndelete <no value> <no value>\n"
    assert dw(engine, "events", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["Action"] == "tag"
    assert dw(engine, "events", "--since", "2026-11-28T01:00:00Z") == 0
    assert engine.last("GET", "/events").query["since"] == ["1795827600.000000000"]
    assert dw(engine, "events", "--since", "not-a-time") == 1


def test_system_check(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    state = {"Blobs": 12, "Errors": [], "Orphans": ["blob sha256:aa", "snapshot 7"]}

    def check(req: Any) -> Reply:
        if req.method == "POST":
            assert req.query == {"remove": ["1"]}
            state["Orphans"] = []
        return json_reply(state)

    engine.route("GET", "/dockwright/system/check", check)
    engine.route("POST", "/dockwright/system/check", check)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert dw(engine, "system", "check") == 0
    out = capsys.readouterr().out
    assert out.startswith("Checked 12 blobs.\nNo errors found.\n2 orphaned objects")
    assert "  blob sha256:aa\n  snapshot 7\n" in out and out.endswith("Remove 2 orphaned objects? [y/N] ")
    assert dw(engine, "system", "check", "--remove-orphans") == 0
    assert capsys.readouterr().out.endswith("Removed 2 orphaned objects.\n")
    state["Errors"] = ["blob sha256:bb: digest mismatch"]
    assert dw(engine, "system", "check") == 1
    assert "1 error:\n  blob sha256:bb: digest mismatch\n" in capsys.readouterr().out


def test_version(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/version", json_reply({
        "Platform": {"Name": "dockwright"}, "Version": "0.1.0", "ApiVersion": "1.47", "MinAPIVersion": "1.24",
        "Os": "linux", "Arch": "amd64", "KernelVersion": "6",
        "Components": [{"Name": "Engine", "Version": "0.1.0", "Details": {
            "ApiVersion": "1.47", "MinAPIVersion": "1.24", "GitCommit": "abc", "PythonVersion": "3.11.7",
            "BuildTime": "2026-05-07T21:09:36.000000000+00:00", "Os": "linux", "Arch": "amd64",
            "Experimental": "false"}},
            {"Name": "runc", "Version": "1.1", "Details": {"GitCommit": "x"}}]}))
    assert dw(engine, "version") == 0
    out = capsys.readouterr().out
    assert out.startswith("Client:\n Version:           0.1.0\n API version:       1.47\n")
    assert "\nServer: dockwright\n Engine:\n  Version:          0.1.0\n" in out
    assert "  API version:      1.47 (minimum version 1.24)\n" in out
    assert "  Python version:   3.11.7\n" in out and "  Built:            Thu May  7 21:09:36 2026\n" in out
    assert out.endswith(" runc:\n  Version:          1.1\n  GitCommit:        x\n")
    assert dw(engine, "version", "--format", "{{.Server.Version}} {{.Client.APIVersion}}") == 0
    assert capsys.readouterr().out == "0.1.0 1.47\n"


def test_version_without_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-H", "unix:///nonexistent.sock", "version"]) == 1
    cap = capsys.readouterr()
    assert cap.out.startswith("Client:\n Version:") and "Server" not in cap.out
    assert cap.err.startswith("Cannot connect to the dockwright daemon at unix:///nonexistent.sock.")


INFO = {
    "Containers": 1, "ContainersRunning": 1, "ContainersPaused": 0, "ContainersStopped": 0, "Images": 3,
    "ServerVersion": "0.1.0", "Driver": "overlayfs", "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
    "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "2",
    "Plugins": {"Volume": ["local"], "Network": ["bridge", "host"], "Authorization": None, "Log": ["json-file"]},
    "Swarm": {"LocalNodeState": "inactive"}, "Runtimes": {"runc": {}, "builtin": {}}, "DefaultRuntime": "runc",
    "InitBinary": "", "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": "v1"}, "InitCommit": {"ID": ""},
    "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"], "KernelVersion": "6.1",
    "OperatingSystem": "Debian", "OSType": "linux", "Architecture": "x86_64", "NCPU": 2, "MemTotal": 25275731968,
    "Name": "vm", "ID": "abc", "DockerRootDir": "/var/lib/dockwright", "Debug": False, "Labels": [],
    "ExperimentalBuild": False, "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {},
                                                   "Mirrors": []},
    "LiveRestoreEnabled": False, "Warnings": ["WARNING: no swap limit support"],
}


def test_info(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.route("GET", "/info", json_reply(INFO))
    assert dw(engine, "info") == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("Client:\n Version:    ")
    assert "\nServer:\n Containers: 1\n  Running: 1\n  Paused: 0\n  Stopped: 0\n Images: 3\n" in cap.out
    assert " Storage Driver: overlayfs\n  driver-type: io.containerd.snapshotter.v1\n" in cap.out
    assert " Runtimes: builtin runc\n Default Runtime: runc\n" in cap.out
    assert " Security Options:\n  seccomp\n   Profile: builtin\n  cgroupns\n Kernel Version: 6.1\n" in cap.out
    assert " Total Memory: 23.54GiB\n" in cap.out
    assert cap.out.endswith(" Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: false\n\n")
    assert cap.err == "WARNING: no swap limit support\n"
    assert dw(engine, "system", "info", "--format", "{{.NCPU}} {{json .Plugins.Volume}} {{.ClientInfo.Context}}") == 0
    assert capsys.readouterr().out == '2 ["local"] default\n'


def _tar_reader(req: Any) -> Reply:
    return stream_reply([{"status": f"sha256:{len(req.body)}"}])


def test_import(engine: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> None:
    engine.route("POST", "/images/create", _tar_reader)
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(os.urandom(100_000))
    assert dw(engine, "import", "-c", "ENV A=b", "-c", 'CMD ["sh"]', "-m", "hi", str(tar), "app:1") == 0
    assert capsys.readouterr().out == "sha256:100000\n"
    q = engine.last("POST", "/images/create").query
    assert q == {"fromSrc": ["-"], "repo": ["app:1"], "message": ["hi"], "changes": ["ENV A=b", 'CMD ["sh"]']}
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x" * 5000)))
    assert dw(engine, "image", "import", "-") == 0
    assert capsys.readouterr().out == "sha256:5000\n"
    assert dw(engine, "import", "http://127.0.0.1:1/rootfs.tar") == 0
    assert engine.last("POST", "/images/create").query == {"fromSrc": ["http://127.0.0.1:1/rootfs.tar"]}
    capsys.readouterr()
    assert dw(engine, "import", str(tmp_path / "missing.tar")) == 1
    assert capsys.readouterr().err == f"open {tmp_path / 'missing.tar'}: no such file or directory\n"


def test_load(engine: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> None:
    def load(req: Any) -> Reply:
        return stream_reply([{"stream": f"Loaded image: app:{len(req.body)}\n"},
                             {"stream": f"Loaded image ID: {ID1}\n"}])

    engine.route("POST", "/images/load", load)
    tar = tmp_path / "img.tar"
    tar.write_bytes(b"t" * 3000)
    assert dw(engine, "load", "-i", str(tar)) == 0
    assert capsys.readouterr().out == f"Loaded image: app:3000\nLoaded image ID: {ID1}\n"
    req = engine.last("POST", "/images/load")
    assert req.query == {"quiet": ["1"]} and req.headers["Content-Type"] == "application/x-tar"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"t" * 10)))
    assert dw(engine, "image", "load", "-q") == 0
    assert capsys.readouterr().out.startswith("Loaded image: app:10\n")
    engine.route("POST", "/images/load", lambda _r: stream_reply([{"errorDetail": {"message": "bad tar"},
                                                                   "error": "bad tar"}]))
    assert dw(engine, "load", "-i", str(tar)) == 1
    assert capsys.readouterr().err == "bad tar\n"


def test_save(engine: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blob = os.urandom(150_000)
    engine.route("GET", "/images/get", lambda _r: Reply(200, iter([blob[:7], blob[7:]]),
                                                        {"Content-Type": "application/x-tar"}))
    out = tmp_path / "out.tar"
    assert dw(engine, "save", "-o", str(out), "a:1", "b") == 0
    assert out.read_bytes() == blob
    assert engine.last("GET", "/images/get").query == {"names": ["a:1", "b"]}
    assert [p.name for p in tmp_path.iterdir()] == ["out.tar"]
    assert dw(engine, "save", "-o", str(tmp_path / "no" / "x.tar"), "a") == 1
    assert "does not exist" in capsys.readouterr().err
    engine.route("GET", "/images/get", error_reply(404, "No such image: zz:latest"))
    assert dw(engine, "image", "save", "-o", str(tmp_path / "z.tar"), "zz") == 1
    assert capsys.readouterr().err == "Error response from daemon: No such image: zz:latest\n"
    assert not (tmp_path / "z.tar").exists()


def test_tls_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.certs import make_tls

    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path / "nowhere"))
    c = make_tls(tmp_path)
    with FakeEngine(tls=(str(c["server-cert.pem"]), str(c["server-key.pem"]), str(c["ca.pem"]))) as eng:
        eng.route("GET", "/images/json", json_reply([]))
        host = eng.host.replace("127.0.0.1", "localhost")
        assert main(["-H", host, "--tlsverify", "--tlscacert", str(c["ca.pem"]), "--tlscert", str(c["cert.pem"]),
                     "--tlskey", str(c["key.pem"]), "images", "-q"]) == 0
        monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        assert main(["-H", host, "images"]) == 0
        assert capsys.readouterr().out == "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"


def test_load_refuses_a_terminal_stdin(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    master, slave = pty.openpty()
    tty_in = open(slave)  # noqa: SIM115 - closed below
    try:
        monkeypatch.setattr(sys, "stdin", tty_in)
        assert dw(engine, "load") == 1
    finally:
        tty_in.close()
        os.close(master)
    assert capsys.readouterr().err == "requested load from stdin, but stdin is empty\n"
    assert not [r for r in engine.requests if r.path == "/images/load"]
