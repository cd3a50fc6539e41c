"""The real docker CLI against our daemon: the image workflow of the foundation issue."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

from tests.integration.conftest import docker
from tests.support.daemon import DaemonProc

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "docker-save-tiny.tar"


def test_import_tag_images_history_inspect(dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    out = docker(dw_daemon, "import", "-c", "ENV A=b", "-c", 'CMD ["sh"]', "-m", "hello msg",
                 str(busybox_tar), "cli-import:1").stdout.strip()
    assert out.startswith("sha256:") and len(out) == 71
    docker(dw_daemon, "tag", "cli-import:1", "cli-import:two")
    lines = docker(dw_daemon, "images", "cli-import").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = [line.split() for line in lines[1:]]
    assert {r[1] for r in rows} == {"1", "two"}
    assert all(r[2] == out[7:19] for r in rows)
    assert rows[0][-1] == "1.98MB"
    hist = docker(dw_daemon, "history", "cli-import:1").stdout.splitlines()
    assert hist[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert out[7:19] in hist[1] and "hello msg" in hist[1] and "1.98MB" in hist[1]
    info = json.loads(docker(dw_daemon, "image", "inspect", "cli-import:two").stdout)[0]
    assert info["Id"] == out
    assert sorted(info["RepoTags"]) == ["cli-import:1", "cli-import:two"]
    assert info["Config"]["Env"] == ["A=b"] and info["Config"]["Cmd"] == ["sh"]
    assert info["Comment"] == "hello msg"
    assert info["RootFS"]["Type"] == "layers" and len(info["RootFS"]["Layers"]) == 1
    assert info["Size"] == 1982496 or info["Size"] > 1_000_000
    assert info["GraphDriver"]["Name"] == "overlay2"
    assert info["Metadata"]["LastTagTime"].endswith("Z")
    fmt = docker(dw_daemon, "images", "--format", "{{.Repository}}:{{.Tag}}", "cli-import").stdout.split()
    assert sorted(fmt) == ["cli-import:1", "cli-import:two"]
    docker(dw_daemon, "rmi", "cli-import:1", "cli-import:two")


def test_save_rmi_load_roundtrip(dw_daemon: DaemonProc, busybox_tar: Path, tmp_path: Path) -> None:
    image_id = docker(dw_daemon, "import", str(busybox_tar), "roundtrip:a").stdout.strip()
    docker(dw_daemon, "tag", "roundtrip:a", "roundtrip:b")
    docker(dw_daemon, "tag", "roundtrip:a", "other-repo/roundtrip:c")
    archive = tmp_path / "save.tar"
    docker(dw_daemon, "save", "-o", str(archive), "roundtrip", "other-repo/roundtrip:c")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert "index.json" in names and "oci-layout" in names
    assert sorted(manifest[0]["RepoTags"]) == ["other-repo/roundtrip:c", "roundtrip:a", "roundtrip:b"]
    rmi = docker(dw_daemon, "rmi", "roundtrip:a", "roundtrip:b", "other-repo/roundtrip:c").stdout
    assert "Untagged: roundtrip:a" in rmi and f"Deleted: {image_id}" in rmi
    assert "roundtrip" not in docker(dw_daemon, "images").stdout
    loaded = docker(dw_daemon, "load", "-i", str(archive)).stdout
    for tag in ("roundtrip:a", "roundtrip:b", "other-repo/roundtrip:c"):
        assert f"Loaded image: {tag}" in loaded
    ids = docker(dw_daemon, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout
    for tag in ("roundtrip:a", "roundtrip:b", "other-repo/roundtrip:c"):
        assert f"{image_id} {tag}" in ids
    docker(dw_daemon, "rmi", "-f", image_id)


def test_load_fixture_from_real_docker_save(dw_daemon: DaemonProc) -> None:
    out = docker(dw_daemon, "load", "-i", str(GOLDEN)).stdout
    assert "Loaded image: fixture/tiny:1" in out and "Loaded image: fixture/other:2" in out
    ids = docker(dw_daemon, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}",
                 "fixture/*").stdout.splitlines()
    # the IDs dockerd gave these images when it saved them
    assert "fixture/tiny:1 sha256:157855503c76adbe9b49457516f11d591cf063c343b89f426a69eb7516bb399f" in ids
    assert "fixture/tiny:latest sha256:157855503c76adbe9b49457516f11d591cf063c343b89f426a69eb7516bb399f" in ids
    assert "fixture/other:2 sha256:a7b54c9d32b45c7314d7ee86a4db2ac4270343f152f9ffb6128195dc07e1595f" in ids
    info = json.loads(docker(dw_daemon, "inspect", "fixture/tiny:1").stdout)[0]
    assert info["Config"]["Labels"] == {"org.test": "tiny"}
    assert info["Size"] == 8
    docker(dw_daemon, "rmi", "fixture/tiny:1", "fixture/tiny:latest", "fixture/other:2")


def test_rmi_rules(dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    image_id = docker(dw_daemon, "import", str(busybox_tar), "rmi-a:1").stdout.strip()
    docker(dw_daemon, "tag", "rmi-a:1", "rmi-b:1")
    r = docker(dw_daemon, "rmi", image_id[7:19], check=False)
    assert r.returncode == 1
    assert "image is referenced in multiple repositories" in r.stderr and "(must be forced)" in r.stderr
    out = docker(dw_daemon, "rmi", "rmi-a:1").stdout
    assert out.strip() == "Untagged: rmi-a:1"  # still tagged as rmi-b:1: only the tag goes
    out = docker(dw_daemon, "rmi", "-f", image_id[7:19]).stdout
    assert "Untagged: rmi-b:1" in out and f"Deleted: {image_id}" in out
    r = docker(dw_daemon, "rmi", "rmi-a:1", check=False)
    assert r.returncode == 1 and "No such image: rmi-a:1" in r.stderr


def test_images_filters(dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    a = docker(dw_daemon, "import", "-c", "LABEL tier=one", str(busybox_tar), "filt-a:1").stdout.strip()
    b = docker(dw_daemon, "import", "-c", "LABEL tier=two", str(busybox_tar), "filt-b:1").stdout.strip()
    q = docker(dw_daemon, "images", "-q", "--no-trunc", "--filter", "label=tier=one").stdout.split()
    assert q == [a]
    q = docker(dw_daemon, "images", "-q", "--no-trunc", "--filter", "reference=filt-*").stdout.split()
    assert set(q) == {a, b}
    q = docker(dw_daemon, "images", "-q", "--no-trunc", "--filter", "since=filt-a:1", "--filter",
               "reference=filt-*").stdout.split()
    assert q == [b] or set(q) <= {b}
    q = docker(dw_daemon, "images", "-q", "--no-trunc", "--filter", "before=filt-b:1", "--filter",
               "reference=filt-*").stdout.split()
    assert set(q) <= {a}
    dig = docker(dw_daemon, "images", "--digests", "filt-a").stdout.splitlines()[0].split()
    assert dig[:3] == ["REPOSITORY", "TAG", "DIGEST"]
    r = docker(dw_daemon, "images", "--filter", "bogus=1", check=False)
    assert r.returncode != 0 and "invalid filter 'bogus'" in r.stderr
    docker(dw_daemon, "rmi", "filt-a:1", "filt-b:1")


def test_system_df_info_and_prunes(dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    docker(dw_daemon, "import", str(busybox_tar), "df-img:1")
    dangling = docker(dw_daemon, "import", "-c", "ENV DANGLING=1", str(busybox_tar)).stdout.strip()
    df = docker(dw_daemon, "system", "df").stdout.splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert df[1].startswith("Images")
    dfv = docker(dw_daemon, "system", "df", "-v").stdout
    assert "SHARED SIZE" in dfv and "UNIQUE SIZE" in dfv and "df-img" in dfv
    info = docker(dw_daemon, "info").stdout
    for needle in ("Storage Driver: overlay2", "Docker Root Dir: " + str(dw_daemon.data_root),
                   "Cgroup Driver: cgroupfs", "Default Runtime:", "Kernel Version:", "CPUs:",
                   "Total Memory:", "Insecure Registries:", "127.0.0.0/8"):
        assert needle in info, needle
    out = docker(dw_daemon, "image", "prune", "-f").stdout
    assert f"deleted: {dangling}" in out and "Total reclaimed space:" in out
    assert "df-img" in docker(dw_daemon, "images").stdout  # tagged images stay without -a
    out = docker(dw_daemon, "image", "prune", "-af", "--filter", "until=1h").stdout
    assert "df-img" not in out  # created now: not older than an hour
    out = docker(dw_daemon, "system", "prune", "-af").stdout
    assert "untagged: df-img:1" in out and "Total reclaimed space:" in out
    assert docker(dw_daemon, "images", "-aq").stdout.strip() == ""


def test_events_stream(dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    docker(dw_daemon, "import", str(busybox_tar), "events-img:1")
    docker(dw_daemon, "tag", "events-img:1", "events-img:2")
    docker(dw_daemon, "rmi", "events-img:2")
    time.sleep(1.1)  # the CLI sends --until in whole seconds, as docker does
    out = docker(dw_daemon, "events", "--since", "5m", "--until", "0s", "--filter", "type=image",
                 "--format", "{{.Action}} {{.Actor.Attributes.name}}").stdout.splitlines()
    assert "tag events-img:2" in out and "untag events-img:2" in out, out[-10:]
    out = docker(dw_daemon, "events", "--since", "5m", "--until", "0s", "--filter", "event=untag").stdout
    assert "untag" in out and " tag " not in out
    docker(dw_daemon, "rmi", "events-img:1")


def test_rmi_image_in_use_by_a_container(dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    image_id = docker(dw_daemon, "import", "-c", 'CMD ["true"]', str(busybox_tar), "in-use:1").stdout.strip()
    cid = docker(dw_daemon, "create", "in-use:1").stdout.strip()
    r = docker(dw_daemon, "rmi", "in-use:1", check=False)
    assert r.returncode == 1
    assert f'unable to remove repository reference "in-use:1" (must force) - container {cid[:12]}' in r.stderr
    r = docker(dw_daemon, "rmi", image_id[7:19], check=False)
    assert r.returncode == 1 and "(must be forced) - image is being used by stopped container" in r.stderr
    out = docker(dw_daemon, "rmi", "-f", "in-use:1").stdout
    assert out.strip() == "Untagged: in-use:1"  # the image stays while a container uses it
    assert json.loads(docker(dw_daemon, "inspect", cid).stdout)[0]["Image"] == image_id
    graph = json.loads(docker(dw_daemon, "image", "inspect", image_id).stdout)[0]["GraphDriver"]
    assert graph["Name"] == "overlay2" and graph["Data"]["UpperDir"].startswith(str(dw_daemon.data_root))
    docker(dw_daemon, "rm", cid)
    docker(dw_daemon, "rmi", image_id)
