"""The build corpus (tests/golden/build_corpus): what the recorder and the test share.

A case is a directory with a Dockerfile and its context. Besides the context it
may hold ``buildargs`` (``KEY=VALUE`` lines passed as ``--build-arg``),
``modes`` (``0700 path`` lines applied to the context before the build, since
git keeps no modes but the executable bit; ``0755 dir/`` creates an empty dir),
``HANDWRITTEN`` (why dockerd 20.10 cannot record it: the expectation is written
by hand), ``xfail`` (why we still differ) and ``serve/`` (files served over HTTP
on 127.0.0.1 during the build, for ADD from a URL). ``expected.json`` is the result.

The context sent is a normalised copy: files 0644 (0755 when executable),
directories 0755, symlinks as they are, so the result does not depend on the
umask of a checkout.
"""

from __future__ import annotations

import contextlib
import difflib
import http.server
import json
import os
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support import fslisting
from tests.support.busybox import rootfs_tar_bytes

CORPUS = Path(__file__).resolve().parents[1] / "golden" / "build_corpus"
BASE_TAG = "dwcorpus-busybox:1"
META = frozenset({"expected.json", "buildargs", "modes", "HANDWRITTEN", "xfail", "serve"})


def cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if (p / "Dockerfile").is_file())


def handwritten(case: str) -> str:
    p = CORPUS / case / "HANDWRITTEN"
    return p.read_text().strip() if p.is_file() else ""


def xfail_reason(case: str) -> str:
    p = CORPUS / case / "xfail"
    return p.read_text().strip() if p.is_file() else ""


def build_args(case: str, serve_url: str = "") -> list[str]:
    p = CORPUS / case / "buildargs"
    if not p.is_file():
        return []
    out = []
    for line in p.read_text().splitlines():
        if line.strip():
            out += ["--build-arg", line.strip().replace("@SERVE_URL@", serve_url)]
    return out


@contextlib.contextmanager
def serving(case: str) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 for the case's ``serve/`` dir (for ADD from a URL); yields its URL,
    which replaces ``@SERVE_URL@`` in ``buildargs``. "" when the case serves nothing."""
    root = CORPUS / case / "serve"
    if not root.is_dir():
        yield ""
        return

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def prepare(case: str, dest: Path) -> Path:
    """A copy of the case's context with normalised modes, ready for ``docker build``."""
    src = CORPUS / case
    dest.mkdir(parents=True)
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        out = dest / rel if rel != "." else dest
        if rel == ".":
            dirnames[:] = [n for n in dirnames if n not in META]
        for name in sorted(dirnames):
            s, d = Path(dirpath) / name, out / name
            if s.is_symlink():
                os.symlink(os.readlink(s), d)
                continue
            d.mkdir(mode=0o755)
            os.chmod(d, 0o755)
        dirnames[:] = [n for n in dirnames if not (Path(dirpath) / n).is_symlink()]
        for name in sorted(filenames):
            if rel == "." and name in META:
                continue
            s, d = Path(dirpath) / name, out / name
            if s.is_symlink():
                os.symlink(os.readlink(s), d)
                continue
            shutil.copyfile(s, d)
            os.chmod(d, 0o755 if os.stat(s).st_mode & stat.S_IXUSR else 0o644)
    modes = src / "modes"
    if modes.is_file():
        for line in modes.read_text().splitlines():
            if not line.strip():
                continue
            mode, rel = line.split(None, 1)
            p = dest / rel.rstrip("/")
            if rel.endswith("/"):
                p.mkdir(parents=True, exist_ok=True)
            os.chmod(p, int(mode, 8))
    return dest


_BASE: dict[str, dict[str, Any]] | None = None


def base_listing() -> dict[str, dict[str, Any]]:
    """The busybox rootfs as a listing: what every non-scratch case is compared against."""
    global _BASE
    if _BASE is None:
        import io

        tree = fslisting.Tree()
        tree.apply(io.BytesIO(rootfs_tar_bytes()), 0)
        _BASE = tree.listing()
    return _BASE


def result(saved: bytes) -> dict[str, Any]:
    """What a case records: the config fields and the filesystem changes over busybox (or scratch)."""
    config, listing = fslisting.read_save(saved)
    base = base_listing()
    on_busybox = listing.get("/bin/busybox") == base["/bin/busybox"]
    changes = fslisting.diff(base if on_busybox else {}, listing)
    return {"base": BASE_TAG if on_busybox else "scratch", "config": fslisting.config_fields(config),
            "changed": changes["changed"], "deleted": changes["deleted"]}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def read_expected(case: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((CORPUS / case / "expected.json").read_text())
    return doc


def compare(expected: dict[str, Any], got: dict[str, Any]) -> str:
    """A unified diff of the two results ("" when equal), ignoring the ``source`` note."""
    a = render({k: v for k, v in expected.items() if k != "source"}).splitlines()
    b = render({k: v for k, v in got.items() if k != "source"}).splitlines()
    if a == b:
        return ""
    return "\n".join(difflib.unified_diff(a, b, "expected (dockerd)", "dockwright", lineterm="", n=2))
