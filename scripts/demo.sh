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

step "run containers from it"
run "$DW" run --rm busybox echo "hello from a container"
run "$DW" run -d --name demo-web busybox sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'
sleep 1
run "$DW" ps
run "$DW" logs --tail 3 demo-web
run "$DW" exec demo-web sh -c 'echo "exec in $(hostname): $(ip -4 addr show eth0 | grep -o "inet [0-9.]*")"'
run "$DW" stop -t 1 demo-web
run "$DW" rm demo-web

step "build an image from a Dockerfile, then rebuild after a one-file change (cache)"
mkdir -p "$WORK/app"
printf 'FROM busybox\nWORKDIR /app\nCOPY deps.txt .\nRUN for d in $(cat deps.txt); do mkdir -p "lib/$d"; echo "$d" > "lib/$d/VERSION"; done\nCOPY . .\nCMD ["sh", "/app/main.sh"]\n' > "$WORK/app/Dockerfile"
printf 'alpha\nbeta\ngamma\n' > "$WORK/app/deps.txt"
printf 'echo "hello from the built app: $(ls /app/lib | tr "\\n" " ")"\n' > "$WORK/app/main.sh"
run "$DW" build -t demo/app:1 "$WORK/app"
run "$DW" run --rm demo/app:1
echo 'echo "changed source"' >> "$WORK/app/main.sh"
run "$DW" build -t demo/app:2 "$WORK/app"
run "$DW" history demo/app:2

step "save, remove, load: same image ID"
run "$DW" save -o "$WORK/busybox-save.tar" busybox demo/busybox:1
run "$DW" rmi busybox:latest demo/busybox:1
run "$DW" load -i "$WORK/busybox-save.tar"
run "$DW" images --digests

step "push to our registry, remove, pull back (through the daemon)"
REG_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$DW" registry serve --addr "127.0.0.1:$REG_PORT" --root "$WORK/registry" 2>"$WORK/registry.log" &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
REG=127.0.0.1:$REG_PORT
run "$DW" tag busybox "$REG/demo/busybox:1"
run "$DW" push "$REG/demo/busybox:1"
run "$DW" rmi "$REG/demo/busybox:1"
run "$DW" pull "$REG/demo/busybox:1"
run "$DW" run --rm "$REG/demo/busybox:1" echo "ran the pulled image"
run "$DW" tag demo/app:2 "$REG/demo/app:2"
run "$DW" push "$REG/demo/app:2"
run skopeo inspect --tls-verify=false "docker://$REG/demo/busybox:1" --format '{{.Digest}} {{.Layers}}'

step "what the engine keeps, and a check of its stores"
run "$DW" system df -v
run "$DW" system check

step "clean up"
run "$DW" system prune -af
echo
echo "demo finished: the engine and the registry stop now"
