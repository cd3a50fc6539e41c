"""BuildService: receives a context, runs a Build under a lease, tags the result, prunes the cache.

The context is unpacked under ``<data-root>/tmp`` (wiped at start-up), and the
whole build holds a lease so GC spares its layers until the cache rows and
the image row that make them reachable are written; a build cut short by a
disconnect or a crash leaves only garbage that GC collects.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from ..build.context.receive import context_matcher, read_dockerfile, receive_context
from ..build.explain import report_json
from ..build.solver import Build, BuildOptions, Emit, Engine
from ..oci.reference import parse_reference
from .streams import BodyReader


class BuildService:
    def __init__(self, daemon: Any) -> None:
        self.d = daemon
        self.engine = Engine(daemon)
        self.recover()

    def recover(self) -> None:
        """A daemon killed mid-build left RUN containers and mounts under ``tmp/build-*``: end them
        before start-up GC wipes ``tmp`` and removes their snapshots."""
        import subprocess

        from ..snapshots.mount import is_mounted, unmount

        tmp = self.d.root / "tmp"
        runtime = self.engine.runtime()
        for state in sorted(tmp.glob("build-*/*/runtime-state")):
            for cdir in state.iterdir() if state.is_dir() else []:
                subprocess.run([*runtime, "--root", str(state), "delete", "--force", cdir.name],
                               capture_output=True, timeout=30, check=False)
        for root in sorted(tmp.glob("build-*/*")):
            if root.is_dir() and is_mounted(root):
                unmount(root, lazy=True)

    async def build(self, read: Callable[[int], Coroutine[Any, Any, bytes]], opts: BuildOptions,
                    start: Callable[[], Coroutine[Any, Any, Emit]]) -> str:
        """Receive, check (errors before ``start`` is called become plain HTTP errors), then build."""
        for t in opts.tags:
            parse_reference(t)
        spool = self.d.root / "tmp" / f"build-context-{uuid.uuid4().hex[:12]}.tar"
        loop = asyncio.get_running_loop()
        reader = BodyReader(read, loop)
        ctx = None
        try:
            ctx = await asyncio.to_thread(receive_context, reader, spool)  # type: ignore[arg-type]
            text, name = await asyncio.to_thread(read_dockerfile, ctx, opts.dockerfile)
            matcher = await asyncio.to_thread(context_matcher, ctx, name)
            with self.d.leases.hold() as lease:
                build = Build(self.engine, ctx, matcher, text, name, opts, lease)
                await asyncio.to_thread(build.precheck)
                emit = await start()
                image_id = await build.run(emit)
                if opts.explain:
                    await emit({"aux": {"dockwright.explain": [e.__dict__ for e in build.explanations]}})
                if not opts.quiet:
                    await emit({"aux": {"ID": image_id}})
                if opts.quiet:
                    await emit({"stream": image_id + "\n"})
                else:
                    await emit({"stream": f"Successfully built {image_id.removeprefix('sha256:')[:12]}\n"})
                    for t in opts.tags:
                        await emit({"stream": f"Successfully tagged {parse_reference(t).familiar()}\n"})
                for t in opts.tags:
                    self.d.events.publish("image", "tag", image_id, {"name": parse_reference(t).familiar()})
                return image_id
        finally:
            if ctx is not None:
                ctx.close()
            await asyncio.to_thread(spool.unlink, True)

    def explain_json(self, items: list[Any]) -> str:
        return report_json(items)

    # -- cache accounting -----------------------------------------------------------------
    def _entries(self) -> list[dict[str, Any]]:
        return self.engine.cache.entries()

    def df_sync(self) -> list[dict[str, Any]]:
        out = []
        for r in self._entries():
            out.append({
                "ID": r["key"].removeprefix("sha256:")[:25],
                "Parent": (r.get("parent_key") or "").removeprefix("sha256:")[:25],
                "Parents": [(r.get("parent_key") or "").removeprefix("sha256:")[:25]] if r.get("parent_key") else [],
                "Type": "regular",
                "Description": r["description"],
                "InUse": False,
                "Shared": bool(r["in_image"]),
                "Size": int(r["size"]),
                "CreatedAt": _rfc3339(r["created"]),
                "LastUsedAt": _rfc3339(r["last_used"]),
                "UsageCount": 1,
            })
        cache_root = self.d.root / "build" / "cache"
        if cache_root.is_dir():
            for d in sorted(cache_root.iterdir()):
                size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file() and not f.is_symlink())
                out.append({"ID": d.name[:25], "Parent": "", "Parents": [], "Type": "exec.cachemount",
                            "Description": "cached mount (RUN --mount=type=cache)", "InUse": False,
                            "Shared": False, "Size": size, "CreatedAt": _rfc3339(d.stat().st_mtime),
                            "LastUsedAt": _rfc3339(d.stat().st_mtime), "UsageCount": 1})
        return out

    def _prune_sync(self, all_: bool, until: float | None, keep_storage: int,
                    labels: list[str] | None = None) -> dict[str, Any]:
        if labels:  # cache records carry no labels: a label filter matches none of them, as in Docker
            return {"CachesDeleted": [], "SpaceReclaimed": 0}
        entries = self._entries()
        now = time.time()
        victims = []
        for r in entries:
            if until is not None and r["created"] > now - until:
                continue
            if not all_ and r["in_image"]:
                continue
            victims.append(r)
        if keep_storage:
            total = sum(int(r["size"]) for r in entries)
            victims.sort(key=lambda r: r["last_used"])
            chosen = []
            for r in victims:
                if total <= keep_storage:
                    break
                chosen.append(r)
                total -= int(r["size"])
            victims = chosen
        self.engine.cache.delete([r["key"] for r in victims])
        reclaimed = sum(int(r["size"]) for r in victims if not r["in_image"])
        deleted = [r["key"].removeprefix("sha256:")[:25] for r in victims]
        cache_root = self.d.root / "build" / "cache"
        if (all_ or until is None) and not keep_storage and cache_root.is_dir():
            for d in cache_root.iterdir():
                reclaimed += sum(f.stat().st_size for f in d.rglob("*") if f.is_file() and not f.is_symlink())
                deleted.append(d.name[:25])
                shutil.rmtree(d, ignore_errors=True)
        self.d.collect_garbage()
        return {"CachesDeleted": deleted, "SpaceReclaimed": reclaimed}

    async def prune(self, all_: bool, until: float | None, keep_storage: int,
                    labels: list[str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(self._prune_sync, all_, until, keep_storage, labels)
        return result


def _rfc3339(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
