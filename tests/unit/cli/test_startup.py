"""``dockwright version`` must start fast: check what it imports, deterministically, instead of timing it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["rich", "aiohttp", "asyncio", "argparse", "dataclasses", "inspect", "decimal",
         "dockwright.daemon", "dockwright.api", "dockwright.images", "dockwright.cli.gotemplate",
         "dockwright.cli.commands.image", "dockwright.client.hijack", "dockwright.oci"]

PROBE = """
import json, sys
from dockwright.main import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded(*argv: str) -> tuple[int, set[str]]:
    r = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60)
    report = json.loads(r.stderr.strip().splitlines()[-1])
    return report["rc"], set(report["modules"])


def test_version_imports_nothing_heavy() -> None:
    rc, mods = loaded("-H", "unix:///nonexistent/dw.sock", "version")
    assert rc == 1  # no daemon: client section printed, then the error
    heavy = sorted(m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_help_imports_no_client() -> None:
    rc, mods = loaded("--help")
    assert rc == 0
    assert "http.client" not in mods and "dockwright.client.api" not in mods
