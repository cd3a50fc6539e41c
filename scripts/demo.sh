#!/usr/bin/env bash
# The main job, end to end, offline: start an engine and a registry on temporary roots,
# make an image from Debian's busybox-static, work with it, push it to our registry and back.
# Usage: sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
PY=$PWD/.venv/bin/python
DW="$PWD/.venv/bin/dockwright"
WORK=$(mktemp -d /var/tmp/dockwright-demo.XXXXXX)
SOCK=$WORK/dockwright.sock
export DOCKWRIGHT_HOST=unix://$SOCK DOCKER_HOST=unix://$SOCK
DAEMON_PID="" REGISTRY_PID=""
cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null || true
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
  grep -o "$WORK[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "start the engine (data root $WORK/root)"
"$DW" daemon --data-root "$WORK/root" --exec-root "$WORK/exec" -H "unix://$SOCK" 2>"$WORK/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
run "$DW" version

step "make a base image from /bin/busybox (busybox-static), offline"
"$PY" -c 'import sys; sys.path.insert(0, "."); from tests.support.busybox import rootfs_tar_bytes; sys.stdout.buffer.write(rootfs_tar_bytes())' > "$WORK/busybox.tar"
run "$DW" import -c 'CMD ["sh"]' -m "busybox-static rootfs" "$WORK/busybox.tar" busybox:latest
run "$DW" tag busybox:latest demo/busybox:1
run "$DW" images
run "$DW" history busybox
run "$DW" image inspect --format '{{.Id}} {{json .RootFS.Layers}}' busybox

step "save, remove, load: same image ID"
run "$DW" save -o "$WORK/busybox-save.tar" busybox demo/busybox:1
run "$DW" rmi busybox:latest demo/busybox:1
run "$DW" load -i "$WORK/busybox-save.tar"
run "$DW" images --digests

step "push the saved image to our registry and pull it back (skopeo as the client)"
REG_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$DW" registry serve --addr "127.0.0.1:$REG_PORT" --root "$WORK/registry" 2>"$WORK/registry.log" &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
run skopeo copy --quiet --dest-tls-verify=false "docker-archive:$WORK/busybox-save.tar:demo/busybox:1" "docker://127.0.0.1:$REG_PORT/demo/busybox:1"
run skopeo list-tags --tls-verify=false "docker://127.0.0.1:$REG_PORT/demo/busybox"
run skopeo copy --quiet --src-tls-verify=false "docker://127.0.0.1:$REG_PORT/demo/busybox:1" "docker-archive:$WORK/pulled.tar:demo/busybox:pulled"
run "$DW" load -i "$WORK/pulled.tar"
run "$DW" images

step "what the engine keeps, and a check of its stores"
run "$DW" system df -v
run "$DW" system check

step "clean up"
run "$DW" system prune -af
echo
echo "demo finished: the engine and the registry stop now"
