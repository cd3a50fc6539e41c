"""Our CLI: dockwright login / push / pull / logout, credentials in $DOCKER_CONFIG/config.json."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.integration.registry.conftest import RegistryProc
from tests.support.daemon import DaemonProc

from .conftest import unique


def dw(env: dict[str, str], *args: str, input: str | None = None,
       check: bool = True) -> subprocess.CompletedProcess[str]:
    """Our CLI with the environment ``env`` (DOCKER_HOST, DOCKER_CONFIG)."""
    r = subprocess.run([sys.executable, "-m", "dockwright", *args], env=env, input=input, capture_output=True,
                       text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"dockwright {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def test_cli_login_push_pull_logout(dw_daemon: DaemonProc, basic_registry: RegistryProc, busybox_tar: Path,
                                    tmp_path: Path) -> None:
    env = dict(dw_daemon.env, DOCKER_CONFIG=str(tmp_path / "cfg"))
    reg = basic_registry.addr
    name = f"{reg}/{unique('cli')}:v2"
    status, body = dw_daemon.request("POST", f"/v1.47/images/create?fromSrc=-&repo={name.rsplit(':', 1)[0]}"
                                     f"&tag=v2", busybox_tar.read_bytes(), {"Content-Type": "application/x-tar"})
    assert status == 200, body
    bad = dw(env, "login", "-u", "alice", "--password-stdin", reg, input="nope\n", check=False)
    assert bad.returncode == 1 and "401" in bad.stderr, bad.stderr
    ok = dw(env, "login", "-u", "alice", "--password-stdin", reg, input="pw-alice\n")
    assert "Login Succeeded" in ok.stdout
    cfg_path = tmp_path / "cfg" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    assert reg in cfg["auths"] and cfg["auths"][reg]["auth"]
    assert stat.S_IMODE(os.stat(cfg_path).st_mode) == 0o600
    out = dw(env, "push", name).stdout
    assert "The push refers to repository" in out and "v2: digest: sha256:" in out
    dw(env, "rmi", name)
    out = dw(env, "pull", name).stdout
    assert ("Pull complete" in out or "Already exists" in out) and out.strip().endswith(name)
    out = dw(env, "logout", reg).stdout
    assert f"Removing login credentials for {reg}" in out
    assert reg not in json.loads(cfg_path.read_text()).get("auths", {})
    dw(env, "rmi", name)
    r = dw(env, "pull", name, check=False)
    assert r.returncode == 1 and "unauthorized" in r.stderr.lower()


def test_cli_credential_helper(dw_daemon: DaemonProc, basic_registry: RegistryProc, busybox_tar: Path,
                               tmp_path: Path) -> None:
    """A ``credsStore`` helper stores and returns the secret; config.json keeps no password."""
    store = tmp_path / "helper-store.json"
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-dwtest"
    helper.write_text(f"""#!{sys.executable}
import json, sys
p = {str(store)!r}
try:
    db = json.load(open(p))
except Exception:
    db = {{}}
action = sys.argv[1]
data = sys.stdin.read().strip()
if action == "store":
    d = json.loads(data); db[d["ServerURL"]] = d; json.dump(db, open(p, "w"))
elif action == "get":
    if data not in db:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(db[data]))
elif action == "erase":
    db.pop(data, None); json.dump(db, open(p, "w"))
""")
    helper.chmod(0o755)
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    (cfgdir / "config.json").write_text(json.dumps({"credsStore": "dwtest"}))
    env = dict(dw_daemon.env, DOCKER_CONFIG=str(cfgdir), PATH=f"{helper_dir}:{os.environ['PATH']}")
    reg = basic_registry.addr
    dw(env, "login", "-u", "alice", "--password-stdin", reg, input="pw-alice\n")
    assert "pw-alice" not in (cfgdir / "config.json").read_text()
    assert json.loads(store.read_text())[reg]["Secret"] == "pw-alice"
    name = f"{reg}/{unique('helper')}:v1"
    status, _ = dw_daemon.request("POST", f"/v1.47/images/create?fromSrc=-&repo={name.rsplit(':', 1)[0]}&tag=v1",
                                  busybox_tar.read_bytes(), {"Content-Type": "application/x-tar"})
    assert status == 200
    dw(env, "push", name)
    dw(env, "logout", reg)
    assert reg not in json.loads(store.read_text())
    dw(env, "rmi", name)
