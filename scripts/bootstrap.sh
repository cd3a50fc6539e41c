#!/usr/bin/env bash
# Installs what dockwright needs on a fresh Debian machine (as root): system packages and a venv.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PKGS="busybox-static skopeo runc crun iproute2 tmux tini iptables curl docker-registry git"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "bootstrap: apt-get install$missing" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
PY=${PYTHON:-python3}
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "bootstrap: creating .venv" >&2
  "$PY" -m venv "$ROOT/.venv"
fi
stamp="$ROOT/.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: pip install -e .[dev]" >&2
  "$ROOT/.venv/bin/pip" install -q --upgrade pip >/dev/null
  "$ROOT/.venv/bin/pip" install -q -e ".[dev]"
  rm -f "$ROOT"/.venv/.installed-*
  touch "$stamp"
fi
# bytecode for our own modules: an editable install leaves none, and where PYTHONDONTWRITEBYTECODE is
# set every daemon, monitor and CLI start would compile them again (about 50 ms per container start)
"$ROOT/.venv/bin/python" -m compileall -q -j 0 "$ROOT/src/dockwright" >/dev/null
# crun (1.8) refuses hybrid cgroup hosts whose unified hierarchy still holds controllers; systemd
# mounts every v1 controller on such hosts, this machine's init left some out: mount them the same way
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -z "$(cat /sys/fs/cgroup/unified/cgroup.subtree_control)" ]; then
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" 2>/dev/null ||
      echo "bootstrap: could not mount the $c cgroup v1 hierarchy (crun will be skipped)" >&2
  done
fi
