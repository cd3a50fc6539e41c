"""``dockwright`` commands end to end against a real daemon (ours, or the one in DOCKWRIGHT_TEST_AGAINST)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import AGAINST, DOCKER, DW


def dw(d: Any, *args: str, input: bytes | None = None, check: bool = True,
       timeout: float = 60) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([*DW, *args], input=input, capture_output=True, env=d.env, timeout=timeout)
    out = subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(errors="replace"),
                                      r.stderr.decode(errors="replace"))
    if check and r.returncode != 0:
        raise AssertionError(f"dockwright {' '.join(args)} failed ({r.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def uniq(prefix: str = "dwcli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def import_image(d: Any, tar: Path, name: str, *changes: str, message: str = "") -> str:
    args = ["import"]
    for c in changes:
        args += ["-c", c]
    if message:
        args += ["-m", message]
    out = dw(d, *args, str(tar), *([name] if name else [])).stdout.strip()
    assert out.startswith("sha256:") and len(out) == 71, out
    return out


def test_version_and_info(dw_daemon: Any) -> None:
    out = dw(dw_daemon, "version").stdout
    assert out.startswith("Client:\n Version:")
    assert "\nServer:" in out and " Engine:\n  Version:" in out
    v = dw(dw_daemon, "version", "--format", "{{json .}}").stdout
    assert json.loads(v)["Server"]["ApiVersion"]
    info = dw(dw_daemon, "info")
    assert "\nServer:\n Containers: " in info.stdout and "\n Images: " in info.stdout
    assert info.stdout.endswith(" Live Restore Enabled: false\n\n") or info.stdout.endswith(
        " Live Restore Enabled: true\n\n")
    assert json.loads(dw(dw_daemon, "system", "info", "--format", "{{json .}}").stdout)["NCPU"] >= 1


def test_no_daemon_message() -> None:
    env = dict(os.environ, DOCKWRIGHT_HOST="unix:///nonexistent/dw.sock")
    r = subprocess.run([*DW, "images"], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    assert r.stderr == ("Cannot connect to the dockwright daemon at unix:///nonexistent/dw.sock. "
                        "Is the daemon running? Start it with: dockwright daemon\n")


def test_import_images_history_inspect_tag_rmi(dw_daemon: Any, busybox_tar: Path,
                                               cleanup_images: list[str]) -> None:
    repo = uniq()
    cleanup_images += [f"{repo}:1", f"{repo}:two"]
    iid = import_image(dw_daemon, busybox_tar, f"{repo}:1", "ENV A=b", 'CMD ["sh"]', message="hello msg")
    dw(dw_daemon, "tag", f"{repo}:1", f"{repo}:two")
    lines = dw(dw_daemon, "images", repo).stdout.splitlines()
    assert lines[0].startswith("REPOSITORY" + " " * (len(repo) + 3 - 10) + "TAG       IMAGE ID       CREATED")
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = sorted(line.split() for line in lines[1:])
    assert [r[:3] for r in rows] == [[repo, "1", iid[7:19]], [repo, "two", iid[7:19]]]
    assert all(r[-1] == "1.98MB" for r in rows)
    assert dw(dw_daemon, "images", "-q", repo).stdout.split() == [iid[7:19]] * 2
    assert dw(dw_daemon, "images", "--no-trunc", "-q", f"{repo}:two").stdout.strip() == iid
    fmt = dw(dw_daemon, "images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout.split()
    assert sorted(fmt) == [f"{repo}:1", f"{repo}:two"]
    js = [json.loads(x) for x in dw(dw_daemon, "images", "--format", "json", repo).stdout.splitlines()]
    assert {j["Tag"] for j in js} == {"1", "two"} and js[0]["Size"] == "1.98MB"

    hist = dw(dw_daemon, "history", f"{repo}:1").stdout.splitlines()
    assert hist[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert hist[1].startswith(iid[7:19]) and hist[1].endswith("1.98MB    hello msg")
    assert dw(dw_daemon, "image", "history", "-q", "--no-trunc", f"{repo}:1").stdout.strip() == iid
    raw = dw(dw_daemon, "history", "-H=false", "--format", "{{.Size}}|{{.Comment}}", f"{repo}:1").stdout
    assert raw.strip().startswith("19") and raw.strip().endswith("|hello msg")

    info = json.loads(dw(dw_daemon, "image", "inspect", f"{repo}:two").stdout)
    assert len(info) == 1 and info[0]["Id"] == iid
    assert sorted(info[0]["RepoTags"]) == [f"{repo}:1", f"{repo}:two"]
    assert info[0]["Config"]["Env"] == ["A=b"] and info[0]["Comment"] == "hello msg"
    assert dw(dw_daemon, "inspect", "--format", "{{.Id}} {{index .Config.Cmd 0}} {{len .RepoTags}}",
              f"{repo}:1").stdout == f"{iid} sh 2\n"

    out = dw(dw_daemon, "rmi", f"{repo}:two").stdout
    assert out == f"Untagged: {repo}:two\n"
    out = dw(dw_daemon, "image", "rm", f"{repo}:1").stdout
    assert out.startswith(f"Untagged: {repo}:1\nDeleted: {iid}\n")
    r = dw(dw_daemon, "image", "inspect", f"{repo}:1", check=False)
    assert r.returncode == 1 and r.stdout == "[]\n"
    assert r.stderr.startswith("Error response from daemon: ") and "No such image" in r.stderr


def test_errors_like_docker(dw_daemon: Any) -> None:
    ghost = uniq("ghost")
    r = dw(dw_daemon, "inspect", ghost, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (1, "[]\n", f"Error: No such object: {ghost}\n")
    r = dw(dw_daemon, "rmi", ghost, check=False)
    assert r.returncode == 1 and r.stderr == f"Error response from daemon: No such image: {ghost}:latest\n"
    r = dw(dw_daemon, "history", ghost, check=False)
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: No such image")
    r = dw(dw_daemon, "images", "--filter", "bogus=1", check=False)
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: ")
    r = dw(dw_daemon, "images", "--foo", check=False)
    assert r.returncode == 125 and r.stderr.startswith("unknown flag: --foo\n")


def test_filters(dw_daemon: Any, busybox_tar: Path, cleanup_images: list[str]) -> None:
    repo = uniq()
    label = uniq("lbl")
    cleanup_images += [f"{repo}:a", f"{repo}:b"]
    ida = import_image(dw_daemon, busybox_tar, f"{repo}:a", f"LABEL dwcli={label}")
    idb = import_image(dw_daemon, busybox_tar, f"{repo}:b", "ENV X=1")
    assert ida != idb
    by_label = dw(dw_daemon, "images", "-q", "--filter", f"label=dwcli={label}").stdout.split()
    assert by_label == [ida[7:19]]
    by_ref = dw(dw_daemon, "images", "--format", "{{.Tag}}", "--filter", f"reference={repo}:b").stdout.split()
    assert by_ref == ["b"]
    assert dw(dw_daemon, "images", "--format", "{{.Tag}}", f"{repo}:a").stdout.split() == ["a"]
    both = dw(dw_daemon, "images", "--format", "{{.Tag}}", "--filter", f"reference={repo}:*").stdout.split()
    assert sorted(both) == ["a", "b"]
    dangling = dw(dw_daemon, "images", "-q", "--filter", "dangling=true").stdout.split()
    assert ida[7:19] not in dangling


def test_import_from_stdin_and_prune(dw_daemon: Any, busybox_tar: Path, cleanup_images: list[str]) -> None:
    label = uniq("prune")
    out = dw(dw_daemon, "import", "-c", f"LABEL dwcli={label}", "-", input=busybox_tar.read_bytes()).stdout
    iid = out.strip()
    assert iid.startswith("sha256:")
    cleanup_images.append(iid)
    dangling = dw(dw_daemon, "images", "-q", "--no-trunc", "--filter", "dangling=true",
                  "--filter", f"label=dwcli={label}").stdout.split()
    assert dangling == [iid]
    # answering no changes nothing
    r = dw(dw_daemon, "image", "prune", "--filter", f"label=dwcli={label}", input=b"n\n")
    assert r.stdout == "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    assert dw(dw_daemon, "image", "inspect", "-f", "{{.Id}}", iid).stdout.strip() == iid
    r = dw(dw_daemon, "image", "prune", "-f", "--filter", f"label=dwcli={label}")
    assert r.stdout.startswith("Deleted Images:\n") and f"deleted: {iid}\n" in r.stdout
    assert "\n\nTotal reclaimed space: " in r.stdout
    assert dw(dw_daemon, "image", "inspect", iid, check=False).returncode == 1


def test_save_load_roundtrip(dw_daemon: Any, busybox_tar: Path, cleanup_images: list[str],
                             tmp_path: Path) -> None:
    repo = uniq()
    cleanup_images += [f"{repo}:1", f"{repo}:2"]
    iid = import_image(dw_daemon, busybox_tar, f"{repo}:1")
    dw(dw_daemon, "tag", f"{repo}:1", f"{repo}:2")
    out = tmp_path / "img.tar"
    dw(dw_daemon, "save", "-o", str(out), f"{repo}:1", f"{repo}:2")
    with tarfile.open(out) as tf:
        names = tf.getnames()
    assert "manifest.json" in names
    piped = subprocess.run([*DW, "save", f"{repo}:1"], capture_output=True, env=dw_daemon.env, timeout=60)
    assert piped.returncode == 0 and piped.stdout[:512] and len(piped.stdout) > 1_000_000
    dw(dw_daemon, "rmi", f"{repo}:1", f"{repo}:2")
    r = dw(dw_daemon, "load", "-i", str(out))
    assert f"Loaded image: {repo}:1\n" in r.stdout and f"Loaded image: {repo}:2\n" in r.stdout
    dw(dw_daemon, "rmi", f"{repo}:2")
    r = dw(dw_daemon, "load", "-q", input=out.read_bytes())
    assert f"Loaded image: {repo}:2" in r.stdout
    assert dw(dw_daemon, "images", "-q", "--no-trunc", f"{repo}:2").stdout.strip() == iid
    bad = dw(dw_daemon, "load", input=b"this is not a tarball" * 100, check=False)
    assert bad.returncode == 1 and bad.stderr.strip()


def test_save_refuses_a_terminal(dw_daemon: Any, busybox_image: str) -> None:
    master, slave = pty.openpty()
    try:
        r = subprocess.run([*DW, "save", busybox_image], stdout=slave, stderr=subprocess.PIPE, env=dw_daemon.env,
                           timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 1
    assert r.stderr.decode() == "cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


def test_system_df(dw_daemon: Any, busybox_image: str) -> None:
    out = dw(dw_daemon, "system", "df").stdout.splitlines()
    assert out[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [line.split()[0] for line in out[1:]] == ["Images", "Containers", "Local", "Build"]
    verbose = dw(dw_daemon, "system", "df", "-v").stdout
    assert verbose.startswith("Images space usage:\n\nREPOSITORY ")
    assert "SHARED SIZE   UNIQUE SIZE   CONTAINERS\n" in verbose
    assert "\nContainers space usage:\n\nCONTAINER ID " in verbose
    assert "\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n" in verbose
    assert "\nBuild cache usage: " in verbose
    repo, tag = busybox_image.rsplit(":", 1)
    assert any(line.split()[:2] == [repo, tag] for line in verbose.splitlines())
    js = json.loads(dw(dw_daemon, "system", "df", "--format", "json").stdout.splitlines()[0])
    assert js["Type"] == "Images" and int(js["TotalCount"]) >= 1


def test_events(dw_daemon: Any, busybox_image: str, cleanup_images: list[str]) -> None:
    start = time.time()
    target = f"{uniq()}:ev"
    cleanup_images.append(target)
    dw(dw_daemon, "tag", busybox_image, target)
    time.sleep(0.05)
    until = f"{time.time() + 0.5:.3f}"
    out = dw(dw_daemon, "events", "--since", f"{int(start) - 1}", "--until", until,
             "--filter", "type=image").stdout
    mine = [line for line in out.splitlines() if f"name={target}" in line]
    assert mine and " image tag sha256:" in mine[0]
    assert mine[0][:30].endswith("Z") or "+" in mine[0][:36]
    fmt = dw(dw_daemon, "system", "events", "--since", "2m", "--until", until, "--filter", f"image={target}",
             "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}").stdout
    assert f"image tag {target}" in fmt.splitlines()


def test_system_prune_cancelled(dw_daemon: Any) -> None:
    r = dw(dw_daemon, "system", "prune", "-a", "--volumes", input=b"n\n")
    assert r.stdout.startswith("WARNING! This will remove:\n  - all stopped containers\n")
    assert r.stdout.endswith("\nAre you sure you want to continue? [y/N] ")


@pytest.mark.skipif(bool(AGAINST), reason="dockwright's own daemon only (an extension endpoint)")
def test_system_check_and_prune(dw_daemon: Any, busybox_image: str) -> None:
    # never remove here: the daemon is shared with other tests that may want to see their orphans
    r = dw(dw_daemon, "system", "check", input=b"n\n", check=False)
    assert r.stdout.startswith("Checked ") and r.returncode == 0, r.stdout + r.stderr
    assert "No errors found.\n" in r.stdout
    r = dw(dw_daemon, "system", "prune", "-f", "--filter", f"label=dwcli={uniq()}")
    assert r.stdout.endswith("Total reclaimed space: 0B\n")


@pytest.mark.skipif(not os.path.exists(DOCKER), reason="needs the docker CLI")
def test_same_output_as_the_docker_cli(dw_daemon: Any, busybox_tar: Path, cleanup_images: list[str]) -> None:
    """Both CLIs against the same daemon print the same thing (formats without relative times)."""
    repo = uniq()
    cleanup_images += [f"{repo}:1", f"{repo}:2"]
    import_image(dw_daemon, busybox_tar, f"{repo}:1", "ENV A=b", message="same")
    dw(dw_daemon, "tag", f"{repo}:1", f"{repo}:2")
    cases = [
        ["images", "--format", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}\t{{.Digest}}", repo],
        ["images", "--digests", "--format", "{{json .Repository}} {{.Tag}} {{.Digest}} {{.CreatedAt}}", repo],
        ["images", "-q", repo],
        ["history", "-H=false", f"{repo}:1"],
        ["history", "--no-trunc", "--format", "table {{.ID}}\t{{.CreatedAt}}\t{{.Size}}\t{{.Comment}}",
         f"{repo}:1"],
        ["image", "inspect", f"{repo}:1"],
        ["inspect", "--format", "{{.Id}} {{.Config.Env}} {{json .RepoTags}} {{.Size}}", f"{repo}:2"],
        ["image", "inspect", "--format", "{{range .RepoTags}}{{.}},{{end}} {{len .RootFS.Layers}}", f"{repo}:2"],
        ["image", "inspect", "--format", "{{.Config.Entrypoint}} {{.Config.OnBuild}} {{.Config.Healthcheck}} "
         "{{.Config.Volumes}} {{index .Config.Labels \"x\"}}|{{.Config.Cmd}}", f"{repo}:1"],
    ]
    env = dict(dw_daemon.env)
    for args in cases:
        ours = dw(dw_daemon, *args).stdout
        theirs = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=60)
        assert theirs.returncode == 0, theirs.stderr
        assert ours == theirs.stdout, f"dockwright {' '.join(args)}"


def test_load_on_a_terminal_shows_progress(dw_daemon: Any, busybox_tar: Path, cleanup_images: list[str],
                                           tmp_path: Path) -> None:
    import threading

    repo = uniq()
    cleanup_images.append(f"{repo}:1")
    import_image(dw_daemon, busybox_tar, f"{repo}:1")
    archive = tmp_path / "img.tar"
    dw(dw_daemon, "save", "-o", str(archive), f"{repo}:1")
    dw(dw_daemon, "rmi", f"{repo}:1")
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = dict(dw_daemon.env, COLUMNS="120", TERM="xterm")
    try:
        r = subprocess.run([*DW, "load", "-i", str(archive)], stdout=slave, stderr=subprocess.PIPE, env=env,
                           timeout=60)
    finally:
        os.close(slave)
        reader.join(5)
        os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    assert r.returncode == 0, r.stderr
    assert f"Loaded image: {repo}:1" in text
