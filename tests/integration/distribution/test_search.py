"""``search``: our registry's /v1/search, the daemon's GET /images/search, our CLI and docker's,
dockerd against our registry, and CNCF Distribution (which has no search) giving a clear error."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import docker as docker_sdk
import pytest
import requests

from tests.integration.conftest import DOCKER, api_json, docker
from tests.integration.registry.conftest import RegistryProc
from tests.support.cncf import cncf_registry
from tests.support.daemon import DaemonProc, unix_request
from tests.support.schemas import validate_response

from .conftest import unique
from .test_cli import dw

REFERENCE_DOCKERD = "/var/run/docker.sock"
KEYS = {"name", "description", "star_count", "is_official", "is_automated"}


def _push(d: DaemonProc, busybox_tar: Path, repo: str, env: dict[str, str] | None = None) -> None:
    status, body = d.request("POST", f"/v1.47/images/create?fromSrc=-&repo={repo}&tag=v1",
                             busybox_tar.read_bytes(), {"Content-Type": "application/x-tar"})
    assert status == 200, body
    dw(env or d.env, "push", f"{repo}:v1")
    dw(env or d.env, "rmi", f"{repo}:v1")


@pytest.fixture
def populated(dw_daemon: DaemonProc, registry: RegistryProc, busybox_tar: Path) -> Iterator[tuple[str, str]]:
    """(registry address, a word three of its repositories contain)."""
    word = unique("srch")
    for name in (f"{word}/app", f"{word}/web", f"team/{word}-tools", unique("other")):
        _push(dw_daemon, busybox_tar, f"{registry.addr}/{name}")
    yield registry.addr, word


def test_registry_v1_search(populated: tuple[str, str]) -> None:
    addr, word = populated
    r = requests.get(f"http://{addr}/v1/search", params={"q": word.upper(), "n": "2"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()  # matches ignore case
    assert doc["query"] == word.upper() and doc["num_results"] == 3 and doc["num_pages"] == 2 and doc["page_size"] == 2
    assert [x["name"] for x in doc["results"]] == [f"{word}/app", f"{word}/web"]
    assert all(set(x) >= KEYS and x["star_count"] == 0 and x["description"] == "" for x in doc["results"])
    page2 = requests.get(f"http://{addr}/v1/search", params={"q": word, "n": "2", "page": "2"}, timeout=10).json()
    assert [x["name"] for x in page2["results"]] == [f"team/{word}-tools"]
    bad = requests.get(f"http://{addr}/v1/search", params={"q": word, "n": "x"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"


def test_engine_api_search(dw_daemon: DaemonProc, populated: tuple[str, str]) -> None:
    addr, word = populated
    status, body = api_json(dw_daemon, "GET", f"/v1.47/images/search?term={addr}/{word}")
    assert status == 200 and isinstance(body, list), body
    assert sorted(x["name"] for x in body) == sorted([f"{word}/app", f"{word}/web", f"team/{word}-tools"])
    assert all(set(x) == KEYS for x in body), body
    validate_response(body, "/images/search")
    status, body = api_json(dw_daemon, "GET", f"/v1.47/images/search?term={addr}/{word}&limit=1")
    assert status == 200 and isinstance(body, list) and len(body) == 1
    flt = quote(json.dumps({"is-official": ["true"]}))
    status, body = api_json(dw_daemon, "GET", f"/v1.47/images/search?term={addr}/{word}&filters={flt}")
    assert status == 200 and body == []
    flt = quote(json.dumps({"stars": ["0"], "is-automated": ["false"]}))
    status, body = api_json(dw_daemon, "GET", f"/v1.47/images/search?term={addr}/{word}&filters={flt}")
    assert status == 200 and isinstance(body, list) and len(body) == 3
    for query, words in [("limit=101", "outside the range"), ("limit=x", "limit"),
                         (f"filters={quote(json.dumps({'color': ['red']}))}", "invalid filter 'color'"),
                         (f"filters={quote(json.dumps({'stars': ['many']}))}", "stars=many"),
                         ("", "search term is required")]:
        term = "" if words.startswith("search term") else f"term={addr}/{word}&"
        status, body = api_json(dw_daemon, "GET", f"/v1.47/images/search?{term}{query}")
        assert status == 400 and isinstance(body, dict) and words in body["message"], (query, body)
    # the docker SDK's search
    client = docker_sdk.DockerClient(base_url=dw_daemon.host, version="1.47")
    try:
        found = client.images.search(f"{addr}/{word}-tools")
        assert [x["name"] for x in found] == [f"team/{word}-tools"]
    finally:
        client.close()


def test_cli_search_matches_docker(dw_daemon: DaemonProc, populated: tuple[str, str]) -> None:
    addr, word = populated
    for args in ([], ["--limit", "2"], ["--no-trunc"], ["--format", "{{.Name}}: {{.StarCount}}"],
                 ["--filter", "is-official=false"]):
        theirs = docker(dw_daemon, "search", *args, f"{addr}/{word}").stdout
        ours = dw(dw_daemon.env, "search", *args, f"{addr}/{word}").stdout
        assert ours == theirs, (args, ours, theirs)
    lines = theirs.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"] and len(lines) == 4, theirs
    r = dw(dw_daemon.env, "search", "--filter", "stars", f"{addr}/{word}", check=False)
    assert r.returncode != 0 and "bad format of filter" in r.stderr, r.stderr


def _answers(sock: str) -> bool:
    """A socket file can outlive its daemon (CI images keep /var/run/docker.sock without dockerd)."""
    try:
        status, _ = unix_request(sock, "GET", "/_ping", timeout=5)
    except OSError:
        return False
    return status == 200


def test_reference_dockerd_searches_our_registry(populated: tuple[str, str]) -> None:
    """dockerd is a client of our /v1/search as it is of Docker Hub's."""
    if not os.path.exists(DOCKER) or not _answers(REFERENCE_DOCKERD):
        pytest.skip("no reference dockerd answering")
    addr, word = populated
    env = dict(os.environ, DOCKER_HOST=f"unix://{REFERENCE_DOCKERD}")
    env.pop("DOCKER_CONTEXT", None)
    r = subprocess.run([DOCKER, "search", "--format", "{{.Name}}", f"{addr}/{word}"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == sorted([f"{word}/app", f"{word}/web", f"team/{word}-tools"])


def test_search_needs_credentials_where_the_registry_does(dw_daemon: DaemonProc, basic_registry: RegistryProc,
                                                          busybox_tar: Path, tmp_path: Path) -> None:
    env = dict(dw_daemon.env, DOCKER_CONFIG=str(tmp_path / "cfg"))
    addr = basic_registry.addr
    word = unique("priv")
    dw(env, "login", "-u", "alice", "--password-stdin", addr, input="pw-alice\n")
    _push(dw_daemon, busybox_tar, f"{addr}/{word}", env)
    out = dw(env, "search", "--format", "{{.Name}}", f"{addr}/{word}").stdout
    assert out.split() == [word]
    dw(env, "logout", addr)
    r = dw(env, "search", f"{addr}/{word}", check=False)
    assert r.returncode != 0 and "unauthorized" in r.stderr.lower(), r.stderr


def test_cncf_distribution_has_no_search(dw_daemon: DaemonProc, tmp_path: Path) -> None:
    with cncf_registry(tmp_path) as addr:
        r = docker(dw_daemon, "search", f"{addr}/anything", check=False)
        assert r.returncode != 0 and "Unexpected status code 404" in r.stderr, r.stderr
        assert "does not offer search" in r.stderr, r.stderr
        ours = dw(dw_daemon.env, "search", f"{addr}/anything", check=False)
        assert ours.returncode != 0 and ours.stderr == r.stderr, (ours.stderr, r.stderr)
        status, body = api_json(dw_daemon, "GET", f"/v1.47/images/search?term={addr}/anything")
        assert status == 501 and isinstance(body, dict) and "Unexpected status code 404" in body["message"]
