"""Image operations behind the ``/images`` routes: list, inspect, history, tag,
remove, import, load, save, prune.

Thin async layer over the sync image store: each call runs the store work in
a worker thread, publishes the events Docker publishes, and shapes results
as the Engine API v1.47 schemas want them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidParameter, NotFound
from ..images.imageconfig import parse_created
from ..images.importer import import_rootfs
from ..images.load import load_archive
from ..images.model import ImageRecord
from ..images.save import SaveItem, write_archive
from ..oci.digest import short_id
from ..oci.reference import Reference, ReferenceError, looks_like_id, parse_reference, valid_tag
from .filters import Filters, bool_filter, label_matches, parse_timestamp
from .streams import BodyReader, ChunkWriter

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)

IMAGE_LIST_FILTERS = ("before", "dangling", "label", "reference", "since", "until")
IMAGE_PRUNE_FILTERS = ("dangling", "label", "label!", "until")


def _parse_ref(name: str) -> Reference:
    try:
        return parse_reference(name)
    except ReferenceError as exc:
        raise InvalidParameter(str(exc)) from exc


def _familiar_tags(img: ImageRecord) -> list[str]:
    return [parse_reference(r).familiar() for r in img.refs if "@" not in r]


def _familiar_digests(img: ImageRecord) -> list[str]:
    out = []
    for r in img.refs:
        if "@" in r:
            out.append(parse_reference(r).familiar())
    return out


def _matching_refs(img: ImageRecord, patterns: list[str]) -> list[str]:
    """The image's references that match a ``reference=`` pattern (path.Match, as Docker)."""
    import fnmatch

    out = []
    for r in img.refs:
        ref = parse_reference(r)
        for p in patterns:
            target = ref.familiar() if (":" in p.rsplit("/", 1)[-1] or "@" in p) else ref.familiar_name
            if fnmatch.fnmatchcase(target, p) or fnmatch.fnmatchcase(r, p):
                out.append(r)
                break
    return out


class ImageService:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.store = daemon.image_store
        self._prune_lock = asyncio.Lock()
        self._write_lock = threading.Lock()

    async def _run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kw)

    # -- shaping ---------------------------------------------------------------
    def _container_counts(self) -> dict[str, int]:
        with self.d.db.tx() as conn:
            return {r[0]: r[1] for r in conn.execute("SELECT image_id, COUNT(*) FROM containers GROUP BY image_id")}

    def summary(self, img: ImageRecord, *, shared: int = -1, containers: int = -1) -> dict[str, Any]:
        tags = _familiar_tags(img)
        return {
            "Containers": containers,
            "Created": int(parse_created(img.created)),
            "Id": img.id,
            "Labels": img.labels,
            "ParentId": img.parent,
            "RepoDigests": _familiar_digests(img),
            "RepoTags": tags,
            "SharedSize": shared,
            "Size": img.size,
        }

    def inspect_dict(self, img: ImageRecord) -> dict[str, Any]:
        cfg = img.config
        layers = img.layers
        gd: dict[str, Any] = {"Name": self.d.storage_driver_name, "Data": {}}
        dirs = self.d.layer_dirs([layer.chain_id for layer in layers]) if layers else []
        if dirs:
            data = {"UpperDir": dirs[-1]}
            if len(dirs) > 1:
                data["LowerDir"] = ":".join(reversed(dirs[:-1]))
            gd["Data"] = data
        out: dict[str, Any] = {
            "Id": img.id,
            "RepoTags": _familiar_tags(img),
            "RepoDigests": _familiar_digests(img),
            "Parent": img.parent,
            "Comment": cfg.get("comment", ""),
            "Created": cfg.get("created", ""),
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": cfg.get("config") or {},
            "Architecture": cfg.get("architecture", ""),
            "Os": cfg.get("os", ""),
            "Size": img.size,
            "GraphDriver": gd,
            "RootFS": {"Type": "layers", "Layers": img.diff_ids},
            "Metadata": {"LastTagTime": _rfc3339(img.last_tag_time) if img.last_tag_time else "0001-01-01T00:00:00Z"},
        }
        if cfg.get("variant"):
            out["Variant"] = cfg["variant"]
        if cfg.get("os.version"):
            out["OsVersion"] = cfg["os.version"]
        return out

    # -- queries -----------------------------------------------------------------
    def _list_sync(self, all_: bool, f: Filters, shared_size: bool) -> list[dict[str, Any]]:
        images = self.store.all()
        by_id = {i.id: i for i in images}
        dangling = bool_filter(f, "dangling")
        before = since = None
        if "before" in f:
            before = min(parse_created(self.store.get(v).created) for v in f["before"])
        if "since" in f:
            since = max(parse_created(self.store.get(v).created) for v in f["since"])
        until = min(parse_timestamp(v) for v in f["until"]) if "until" in f else None
        children = {i.parent for i in images if i.parent}
        counts = self._container_counts()
        layer_users = self.store.layers_in_use() if shared_size else {}
        out = []
        for img in images:
            tags = [r for r in img.refs if "@" not in r]
            if not all_ and not tags and img.id in children and "reference" not in f:
                continue  # an intermediate image of a build
            if dangling is not None and (not img.refs) != dangling:
                continue
            if "reference" in f:
                matched = _matching_refs(img, f["reference"])
                if not matched:
                    continue
                img = dataclasses.replace(img, refs=tuple(matched))  # Docker shows only the matching tags
            if "label" in f and not label_matches(img.labels, f["label"]):
                continue
            created = parse_created(img.created)
            if before is not None and created >= before:
                continue
            if since is not None and created <= since:
                continue
            if until is not None and created > until:
                continue
            shared = -1
            if shared_size:
                shared = sum(layer.size for layer in img.layers if layer_users.get(layer.chain_id, 0) > 1)
            out.append(self.summary(img, shared=shared, containers=counts.get(img.id, 0) if shared_size else -1))
        _ = by_id
        out.sort(key=lambda s: (-s["Created"], s["Id"]))
        return out

    async def list_images(self, all_: bool, f: Filters, shared_size: bool = False) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._run(self._list_sync, all_, f, shared_size)
        return result

    async def get(self, name: str) -> ImageRecord:
        img: ImageRecord = await self._run(self.store.get, name)
        return img

    async def inspect(self, name: str) -> dict[str, Any]:
        img = await self.get(name)
        return self.inspect_dict(img)

    async def history(self, name: str) -> list[dict[str, Any]]:
        img = await self.get(name)
        cfg = img.config
        hist = cfg.get("history") or []
        layers = list(img.layers)
        out: list[dict[str, Any]] = []
        li = 0
        for h in hist:
            empty = bool(h.get("empty_layer"))
            size = 0
            if not empty and li < len(layers):
                size = layers[li].size
                li += 1
            out.append(
                {
                    "Comment": h.get("comment", ""),
                    "Created": int(parse_created(h.get("created", ""))),
                    "CreatedBy": h.get("created_by", ""),
                    "Id": "<missing>",
                    "Size": size,
                    "Tags": [],
                }
            )
        if not out:
            out.append({"Comment": "", "Created": int(parse_created(img.created)), "CreatedBy": "",
                        "Id": "<missing>", "Size": img.size, "Tags": []})
        out.reverse()
        out[0]["Id"] = img.id
        out[0]["Tags"] = _familiar_tags(img)
        # Parent images (from builds and commits) name their own entries.
        parent = img.parent
        seen = 0
        while parent and seen < 1000:
            seen += 1
            try:
                p = await self.get(parent)
            except NotFound:
                break
            pos = len(out) - max(1, len(p.config.get("history") or []))
            if 0 < pos < len(out):
                out[pos]["Id"] = p.id
                out[pos]["Tags"] = _familiar_tags(p)
            parent = p.parent
        return out

    # -- tagging -------------------------------------------------------------------
    async def tag(self, name: str, repo: str, tag: str) -> None:
        if not repo:
            raise InvalidParameter("repository name must have at least one component")
        if tag and not valid_tag(tag):
            raise InvalidParameter(f"invalid tag format: {tag!r}")
        if looks_like_id(repo) and not tag:
            raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")
        ref = _parse_ref(f"{repo}:{tag}" if tag else repo)
        if ref.digest:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        img = await self.get(name)
        await self._run(self.store.tag, img.id, ref)
        self.d.events.publish("image", "tag", img.id, {"name": ref.familiar()})

    # -- removal ---------------------------------------------------------------------
    def _containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        with self.d.db.tx() as conn:
            return [
                (r["id"], r["state"] in ("running", "paused", "restarting"))
                for r in conn.execute("SELECT id, state FROM containers WHERE image_id = ?", (image_id,))
            ]

    def _remove_sync(self, name: str, force: bool, prune: bool) -> list[dict[str, str]]:
        with self._write_lock:
            image_id = self.store.resolve_id(name)
            img = self.store.by_id(image_id)
            records: list[dict[str, str]] = []
            using = self._containers_using(image_id)
            by_name = not (looks_like_id(name) or image_id.removeprefix("sha256:").startswith(
                name.removeprefix("sha256:")))
            if by_name:
                ref = _parse_ref(name)
                if str(ref) not in img.refs and ref.digest == "" and ref.tag:
                    raise NotFound(f"No such image: {name}")
                remaining = [r for r in img.refs if r != str(ref)]
                if not remaining and using and not force:
                    cid = using[0][0]
                    raise Conflict(
                        f'conflict: unable to remove repository reference "{name}" (must force) - '
                        f"container {short_id(cid)} is using its referenced image {short_id(image_id)}"
                    )
                self.store.untag(ref)
                records.append({"Untagged": ref.familiar()})
                self.d.events.publish("image", "untag", image_id, {"name": ref.familiar()})
                # a tag gone and only digests of that repository left: those go too
                tags_left = [r for r in remaining if "@" not in r]
                if not tags_left:
                    for r in remaining:
                        dref = parse_reference(r)
                        if dref.name == ref.name:
                            self.store.untag(dref)
                            records.append({"Untagged": dref.familiar()})
                    remaining = [r for r in remaining if parse_reference(r).name != ref.name]
                if remaining or using:
                    return records
            else:
                tags = [r for r in img.refs]
                if len({parse_reference(r).name for r in tags}) > 1 and not force:
                    raise Conflict(
                        f"conflict: unable to delete {short_id(image_id)} (must be forced) - image is referenced "
                        "in multiple repositories"
                    )
            if self.store.children(image_id):
                if by_name:
                    return records  # as dockerd: the last tag of a parent image goes, the image stays
                raise Conflict(
                    f"conflict: unable to delete {short_id(image_id)} (cannot be forced) - image has dependent "
                    "child images"
                )
            for cid, running in using:
                if running:
                    raise Conflict(
                        f"conflict: unable to delete {short_id(image_id)} (cannot be forced) - image is being used "
                        f"by running container {short_id(cid)}"
                    )
            if using and not force:
                raise Conflict(
                    f"conflict: unable to delete {short_id(image_id)} (must be forced) - image is being used by "
                    f"stopped container {short_id(using[0][0])}"
                )
            img = self.store.by_id(image_id)
            for r in img.refs:
                ref = parse_reference(r)
                self.store.untag(ref)
                records.append({"Untagged": ref.familiar()})
                self.d.events.publish("image", "untag", image_id, {"name": ref.familiar()})
            if using:
                return records
            records.extend(self._delete_image(img))
            # Untagged parents left without children go too, up the chain (a build's step images).
            parent_id = img.parent if prune else ""
            while parent_id:
                try:
                    parent = self.store.by_id(parent_id)
                except NotFound:
                    break
                if parent.refs or self.store.children(parent.id) or self._containers_using(parent.id):
                    break
                records.extend(self._delete_image(parent))
                parent_id = parent.parent
            return records

    def _delete_image(self, img: ImageRecord) -> list[dict[str, str]]:
        users = self.store.layers_in_use()
        self.store.delete(img.id)
        self.d.events.publish("image", "delete", img.id, {"name": img.id})
        out = [{"Deleted": img.id}]
        for layer in reversed(img.layers):
            if users.get(layer.chain_id, 0) <= 1:
                out.append({"Deleted": layer.chain_id})
        self.d.collect_garbage()
        return out

    async def remove(self, name: str, force: bool, prune: bool) -> list[dict[str, str]]:
        result: list[dict[str, str]] = await self._run(self._remove_sync, name, force, prune)
        return result

    # -- import / load / save ------------------------------------------------------------
    async def import_image(
        self,
        read: Callable[[int], Coroutine[Any, Any, bytes]],
        *,
        repo: str,
        tag: str,
        message: str,
        changes: list[str],
        source: str = "-",
        platform: str = "",
    ) -> str:
        refs: list[Reference] = []
        if repo:
            if tag and not valid_tag(tag):
                raise InvalidParameter(f"invalid tag format: {tag!r}")
            refs.append(_parse_ref(f"{repo}:{tag}" if tag else repo))
        os_name, arch = "linux", None
        if platform:
            parts = platform.split("/")
            if parts[0] != "linux" or len(parts) > 3:
                raise InvalidParameter(f'"{platform}": unsupported platform; only linux images can be imported')
            arch = parts[1] if len(parts) > 1 else None
        loop = asyncio.get_running_loop()
        reader = BodyReader(read, loop)

        def run() -> tuple[str, list[tuple[str, str | None]]]:
            with self.d.leases.hold() as lease:
                return import_rootfs(
                    reader,  # type: ignore[arg-type]
                    self.store,
                    self.d.content,
                    self.d.snapshotter,
                    lease,
                    source=source,
                    message=message,
                    changes=changes,
                    refs=refs,
                    platform_os=os_name,
                    architecture=arch,
                )

        try:
            image_id, moved = await asyncio.to_thread(run)
        finally:
            await asyncio.to_thread(self.d.collect_garbage)  # whatever a failed import left
        self.d.events.publish("image", "import", image_id, {"name": image_id})
        for name, _old in moved:
            self.d.events.publish("image", "tag", image_id, {"name": parse_reference(name).familiar()})
        return image_id

    async def load(self, read: Callable[[int], Coroutine[Any, Any, bytes]]) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        reader = BodyReader(read, loop)

        def run() -> list[Any]:
            with self.d.leases.hold() as lease:
                return load_archive(
                    reader,  # type: ignore[arg-type]
                    self.store,
                    self.d.content,
                    self.d.snapshotter,
                    lease,
                )

        try:
            loaded = await asyncio.to_thread(run)
        finally:
            # the archive's other members (json, VERSION...) and whatever a failed load left
            await asyncio.to_thread(self.d.collect_garbage)
        messages: list[dict[str, Any]] = []
        for item in loaded:
            for tag, old in item.replaced:
                messages.append(
                    {
                        "stream": f"The image {parse_reference(tag).familiar()} already exists, renaming the old one "
                        f"with ID {old} to empty string\n"
                    }
                )
            self.d.events.publish("image", "load", item.image_id, {"name": item.image_id})
            if item.tags:
                for t in item.tags:
                    messages.append({"stream": f"Loaded image: {t}\n"})
                    self.d.events.publish("image", "tag", item.image_id, {"name": t})
            else:
                messages.append({"stream": f"Loaded image ID: {item.image_id}\n"})
        return messages

    async def _save_items(self, names: list[str]) -> list[SaveItem]:
        items: dict[str, SaveItem] = {}
        order: list[str] = []
        for name in names:
            ref = None
            try:
                ref = parse_reference(name, default_tag=False)
            except ReferenceError:
                pass
            imgs: list[tuple[ImageRecord, Reference | None]] = []
            if ref is not None and not ref.tag and not ref.digest and not looks_like_id(name):
                # a bare repository name saves every tag of it, as docker does
                for img in await self._run(self.store.all):
                    for r in img.refs:
                        rr = parse_reference(r)
                        if rr.name == ref.name and rr.tag:
                            imgs.append((img, rr))
            if not imgs:
                img = await self.get(name)
                tagged = None
                if ref is not None and not looks_like_id(name):
                    full = parse_reference(name)
                    if str(full) in img.refs:
                        tagged = full
                imgs.append((img, tagged))
            for img, r in imgs:
                if img.id not in items:
                    items[img.id] = SaveItem(img)
                    order.append(img.id)
                if r is not None and r not in items[img.id].refs:
                    items[img.id].refs.append(r)
        return [items[i] for i in order]

    async def save(self, names: list[str]) -> AsyncIterator[bytes]:
        """Resolves every name first (so a bad one is a clean 404), then streams the tar."""
        if not names:
            raise InvalidParameter("no image names given to save")
        items = await self._save_items(names)
        loop = asyncio.get_running_loop()
        writer = ChunkWriter(loop)

        def run() -> None:
            err: BaseException | None = None
            try:
                write_archive(writer, items, self.store, self.d.content)  # type: ignore[arg-type]
            except BaseException as exc:  # delivered to the reader
                err = exc
            if not writer._closed_by_reader:
                writer.finish(err)

        task = loop.run_in_executor(None, run)
        for item in items:
            self.d.events.publish("image", "save", item.image.id, {"name": item.image.id})

        async def gen() -> AsyncIterator[bytes]:
            try:
                async for chunk in writer.chunks():
                    yield chunk
            finally:
                writer.abandon()
                await task

        return gen()

    # -- prune -------------------------------------------------------------------------------
    def _prune_sync(self, f: Filters) -> dict[str, Any]:
        dangling = bool_filter(f, "dangling")
        only_dangling = dangling is None or dangling
        until = min(parse_timestamp(v) for v in f["until"]) if "until" in f else None
        deleted: list[dict[str, str]] = []
        reclaimed = 0
        with self._write_lock:
            images = self.store.all()
            used = {cid_img for cid_img in self._container_counts()}
            children = {i.parent for i in images if i.parent}
            before_users = self.store.layers_in_use()
            sizes = {layer.chain_id: layer.size for i in images for layer in i.layers}
            for img in images:
                if img.id in used:
                    continue
                if only_dangling and img.refs:
                    continue
                if img.id in children:
                    continue
                if until is not None and parse_created(img.created) > until:
                    continue
                if "label" in f and not label_matches(img.labels, f["label"]):
                    continue
                if "label!" in f and not label_matches(img.labels, f["label!"], negate=True):
                    continue
                for r in img.refs:
                    ref = parse_reference(r)
                    self.store.untag(ref)
                    deleted.append({"Untagged": ref.familiar()})
                    self.d.events.publish("image", "untag", img.id, {"name": ref.familiar()})
                self.store.delete(img.id)
                self.d.events.publish("image", "delete", img.id, {"name": img.id})
                deleted.append({"Deleted": img.id})
                # its untagged parents left without children go with it (a build's step images)
                parent_id = img.parent
                while parent_id:
                    try:
                        parent = self.store.by_id(parent_id)
                    except NotFound:
                        break
                    if parent.refs or parent.id in used or self.store.children(parent.id):
                        break
                    self.store.delete(parent.id)
                    self.d.events.publish("image", "delete", parent.id, {"name": parent.id})
                    deleted.append({"Deleted": parent.id})
                    parent_id = parent.parent
            after_users = self.store.layers_in_use()
            for chain, n in before_users.items():
                if n and chain not in after_users:
                    reclaimed += sizes.get(chain, 0)
                    deleted.append({"Deleted": chain})
            self.d.collect_garbage()
        self.d.events.publish("image", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ImagesDeleted": deleted, "SpaceReclaimed": reclaimed}

    async def prune(self, f: Filters) -> dict[str, Any]:
        async with self._prune_lock:
            result: dict[str, Any] = await self._run(self._prune_sync, f)
            return result


def _rfc3339(ts: float) -> str:
    from datetime import datetime

    ns = int(round((ts - int(ts)) * 1e9))
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"
