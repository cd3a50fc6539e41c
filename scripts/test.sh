#!/usr/bin/env bash
# The whole test suite: installs what it needs, then lint, types, import contracts, tests.
# Usage: sudo scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
VENV=.venv/bin
export PYTHONDONTWRITEBYTECODE=1 PYTHONASYNCIODEBUG=${PYTHONASYNCIODEBUG:-0}
echo "== ruff" && $VENV/ruff check src tests benchmarks
echo "== mypy" && $VENV/mypy
echo "== import contracts" && $VENV/lint-imports
echo "== pytest"
set +e
$VENV/pytest -q -n "${DOCKWRIGHT_TEST_WORKERS:-2}" --dist loadfile -p no:cacheprovider "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
if [ $rc -eq 0 ] && [ $# -eq 0 ]; then
  # the container suite again with our own runtime as the daemon's default (runc is the default above)
  echo "== pytest: containers under the builtin runtime"
  set +e
  DOCKWRIGHT_TEST_RUNTIME=dockwright $VENV/pytest -q -n "${DOCKWRIGHT_TEST_WORKERS:-2}" --dist loadfile \
    -p no:cacheprovider tests/integration/containers
  rc=$?
  set -e
  [ $rc -eq 5 ] && rc=1
fi
exit $rc
