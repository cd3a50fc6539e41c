"""``image ls|history|inspect|tag|rm|prune`` (and ``images``, ``history``, ``tag``, ``rmi``)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, ClassVar

from dockwright.cli import units
from dockwright.cli.commands.common import for_each_name, inspect_each, parse_filters, prune_and_report
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import (
    bool_flag,
    filter_flag,
    format_flag,
    inspect_format_flag,
    no_prompt_flag,
    no_trunc_flag,
    platform_flag,
)
from dockwright.cli.formatter import RowContext, or_default, render
from dockwright.client.api import quote_name
from dockwright.errors import InvalidParameter

NONE = "<none>"

# --------------------------------------------------------------------------- image ls


class ImageRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "ID": "IMAGE ID",
        "Repository": "REPOSITORY",
        "Tag": "TAG",
        "Digest": "DIGEST",
        "CreatedSince": "CREATED",
        "CreatedAt": "CREATED AT",
        "Size": "SIZE",
        "Containers": "CONTAINERS",
        "VirtualSize": "SIZE",
        "SharedSize": "SHARED SIZE",
        "UniqueSize": "UNIQUE SIZE",
    }

    def __init__(self, img: dict[str, Any], repo: str, tag: str, digest: str, trunc: bool, now: float) -> None:
        self.img = img
        self.repo = repo
        self.tag = tag
        self.digest = digest
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        ident = str(self.img.get("Id", ""))
        return units.truncate_id(ident) if self.trunc else ident

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        return units.since(int(self.img.get("Created") or 0), self.now)

    def CreatedAt(self) -> str:
        return units.go_time_string(int(self.img.get("Created") or 0))

    def Size(self) -> str:
        return units.human_size(int(self.img.get("Size") or 0), 3)

    def Containers(self) -> str:
        n = self.img.get("Containers", -1)
        return "N/A" if n is None or n == -1 else str(n)

    def VirtualSize(self) -> str:
        return units.human_size(int(self.img.get("VirtualSize", self.img.get("Size")) or 0))

    def SharedSize(self) -> str:
        n = self.img.get("SharedSize", -1)
        return "N/A" if n is None or n == -1 else units.human_size(n)

    def UniqueSize(self) -> str:
        n = self.img.get("SharedSize", -1)
        if n is None or n == -1:
            return "N/A"
        return units.human_size(int(self.img.get("Size") or 0) - n)


def _is_dangling(img: dict[str, Any]) -> bool:
    tags = img.get("RepoTags") or []
    digests = img.get("RepoDigests") or []
    if not tags and not digests:
        return True
    return tags == ["<none>:<none>"] and digests == ["<none>@<none>"]


def image_rows(images: list[dict[str, Any]], *, digests: bool, trunc: bool) -> list[ImageRow]:
    """One row per repository:tag (and per digest with ``--digests``), as docker's image formatter."""
    from dockwright.oci.reference import ReferenceError, parse_reference

    now = time.time()
    rows: list[ImageRow] = []
    for img in images:
        if _is_dangling(img):
            rows.append(ImageRow(img, NONE, NONE, NONE, trunc, now))
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for s in img.get("RepoTags") or []:
            try:
                ref = parse_reference(s, default_tag=False)
            except ReferenceError:
                continue
            if ref.tag:
                repo_tags.setdefault(ref.familiar_name, []).append(ref.tag)
        for s in img.get("RepoDigests") or []:
            try:
                ref = parse_reference(s, default_tag=False)
            except ReferenceError:
                continue
            if ref.digest:
                repo_digests.setdefault(ref.familiar_name, []).append(ref.digest)
        for repo, tags in repo_tags.items():
            ds = repo_digests.pop(repo, [])
            if not digests:
                ds = []
            for tag in tags:
                if not ds:
                    rows.append(ImageRow(img, repo, tag, NONE, trunc, now))
                for d in ds:
                    rows.append(ImageRow(img, repo, tag, d, trunc, now))
        for repo, ds in repo_digests.items():
            if digests:
                rows.extend(ImageRow(img, repo, NONE, d, trunc, now) for d in ds)
            else:
                rows.append(ImageRow(img, repo, NONE, "", trunc, now))
    return rows


DEFAULT_IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DEFAULT_IMAGE_TABLE_DIGEST = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def image_format(fmt: str, quiet: bool, digests: bool) -> str:
    if fmt.startswith("table") and digests and "{{.Digest}}" not in fmt:
        fmt = fmt.replace("{{.Repository}}\t{{.Tag}}", "{{.Repository}}\t{{.Tag}}\t{{.Digest}}", 1)
    return or_default(fmt, DEFAULT_IMAGE_TABLE_DIGEST if digests else DEFAULT_IMAGE_TABLE, quiet=quiet)


def run_ls(cli: Cli, ns: SimpleNamespace) -> int:
    filters = parse_filters(ns.filter, LS)
    if ns.args:
        filters.setdefault("reference", {})[ns.args[0]] = True
    params: dict[str, Any] = {}
    if ns.all:
        params["all"] = True
    if filters:
        params["filters"] = filters
    images = cli.client.get_json("/images/json", params=params) or []
    rows = image_rows(images, digests=ns.digests, trunc=not ns.no_trunc)
    cli.stdout.write(render(rows, image_format(ns.format or "", ns.quiet, ns.digests), ImageRow.FIELDS))
    return 0


LS = CommandSpec(
    name="image ls",
    usage="[OPTIONS] [REPOSITORY[:TAG]]",
    short="List images",
    run=run_ls,
    aliases=["images", "image list"],
    max_args=1,
    flags=[
        bool_flag("all", "Show all images (default hides intermediate images)", short="a"),
        bool_flag("digests", "Show digests"),
        filter_flag(),
        format_flag(),
        no_trunc_flag(),
        bool_flag("quiet", "Only show image IDs", short="q"),
    ],
)

# --------------------------------------------------------------------------- history


class HistoryRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "ID": "IMAGE",
        "CreatedSince": "CREATED",
        "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY",
        "Size": "SIZE",
        "Comment": "COMMENT",
    }

    def __init__(self, h: dict[str, Any], trunc: bool, human: bool, now: float) -> None:
        self.h = h
        self.trunc = trunc
        self.human = human
        self.now = now

    def ID(self) -> str:
        ident = str(self.h.get("Id", ""))
        return units.truncate_id(ident) if self.trunc else ident

    def CreatedAt(self) -> str:
        return units.rfc3339(int(self.h.get("Created") or 0))

    def CreatedSince(self) -> str:
        if not self.human:
            return self.CreatedAt()
        return units.since(int(self.h.get("Created") or 0), self.now)

    def CreatedBy(self) -> str:
        by = str(self.h.get("CreatedBy") or "").replace("\t", " ")
        return units.ellipsis(by, 45) if self.trunc else by

    def Size(self) -> str:
        size = int(self.h.get("Size") or 0)
        return units.human_size(size, 3) if self.human else str(size)

    def Comment(self) -> str:
        return str(self.h.get("Comment") or "")


HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_TABLE_NOT_HUMAN = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"


def history_format(fmt: str, quiet: bool, human: bool) -> str:
    return or_default(fmt, HISTORY_TABLE if human else HISTORY_TABLE_NOT_HUMAN, quiet=quiet)


def run_history(cli: Cli, ns: SimpleNamespace) -> int:
    entries = cli.client.get_json(f"/images/{quote_name(ns.args[0])}/history") or []
    now = time.time()
    rows = [HistoryRow(h, not ns.no_trunc, ns.human, now) for h in entries]
    cli.stdout.write(render(rows, history_format(ns.format or "", ns.quiet, ns.human), HistoryRow.FIELDS))
    return 0


HISTORY = CommandSpec(
    name="image history",
    usage="[OPTIONS] IMAGE",
    short="Show the history of an image",
    run=run_history,
    aliases=["history"],
    min_args=1,
    max_args=1,
    flags=[
        format_flag(),
        bool_flag("human", "Print sizes and dates in human readable format", short="H", default=True),
        no_trunc_flag(),
        bool_flag("quiet", "Only show image IDs", short="q"),
    ],
)

# --------------------------------------------------------------------------- inspect


def run_inspect(cli: Cli, ns: SimpleNamespace) -> int:
    return inspect_each(cli, ns, lambda name: cli.client.get_json(f"/images/{quote_name(name)}/json"))


INSPECT = CommandSpec(
    name="image inspect",
    usage="[OPTIONS] IMAGE [IMAGE...]",
    short="Display detailed information on one or more images",
    run=run_inspect,
    min_args=1,
    max_args=None,
    flags=[inspect_format_flag(),
           platform_flag("Inspect a specific platform of the multi-platform image", hidden=True)],
)

# --------------------------------------------------------------------------- tag


def run_tag(cli: Cli, ns: SimpleNamespace) -> int:
    from dockwright.oci.reference import ReferenceError, parse_reference

    source, target = ns.args
    try:
        ref = parse_reference(target)
    except ReferenceError as exc:
        raise InvalidParameter(f'Error parsing reference: "{target}" is not a valid repository/tag: {exc}') from None
    if ref.digest:
        raise InvalidParameter("refusing to create a tag with a digest reference")
    cli.client.post(f"/images/{quote_name(source)}/tag", params={"repo": ref.familiar_name, "tag": ref.tag})
    return 0


TAG = CommandSpec(
    name="image tag",
    usage="SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    short="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    run=run_tag,
    aliases=["tag"],
    min_args=2,
    max_args=2,
)

# --------------------------------------------------------------------------- rm


def run_rm(cli: Cli, ns: SimpleNamespace) -> int:
    params: dict[str, Any] = {"force": ns.force, "noprune": ns.no_prune}

    def remove(name: str) -> None:
        for item in cli.client.delete_json(f"/images/{quote_name(name)}", params=params) or []:
            if item.get("Untagged"):
                cli.out(f"Untagged: {item['Untagged']}")
            if item.get("Deleted"):
                cli.out(f"Deleted: {item['Deleted']}")

    return for_each_name(cli, ns.args, remove, echo=False)


RM = CommandSpec(
    name="image rm",
    usage="[OPTIONS] IMAGE [IMAGE...]",
    short="Remove one or more images",
    run=run_rm,
    aliases=["rmi", "image remove"],
    min_args=1,
    max_args=None,
    flags=[
        bool_flag("force", "Force removal of the image", short="f"),
        bool_flag("no-prune", "Do not delete untagged parents"),
    ],
)

# --------------------------------------------------------------------------- prune

PRUNE_WARNING = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
PRUNE_ALL_WARNING = ("WARNING! This will remove all images without at least one container associated to them.\n"
                     "Are you sure you want to continue?")


def prune_images(cli: Cli, all_: bool, filters: dict[str, dict[str, bool]]) -> tuple[int, str]:
    """Prune and describe what went: ``(bytes reclaimed, "Deleted Images:..." text or "")``."""
    f = {k: dict(v) for k, v in filters.items()}
    f["dangling"] = {"false" if all_ else "true": True}
    report = cli.client.post_json("/images/prune", params={"filters": f}) or {}
    deleted = report.get("ImagesDeleted") or []
    if not deleted:
        return int(report.get("SpaceReclaimed") or 0), ""
    lines = ["Deleted Images:"]
    for item in deleted:
        if item.get("Untagged"):
            lines.append(f"untagged: {item['Untagged']}")
        if item.get("Deleted"):
            lines.append(f"deleted: {item['Deleted']}")
    return int(report.get("SpaceReclaimed") or 0), "\n".join(lines) + "\n"


def run_image_prune(cli: Cli, ns: SimpleNamespace) -> int:
    filters = parse_filters(ns.filter, PRUNE)
    return prune_and_report(cli, ns, PRUNE_ALL_WARNING if ns.all else PRUNE_WARNING,
                     lambda: [prune_images(cli, ns.all, filters)])


PRUNE = CommandSpec(
    name="image prune",
    usage="[OPTIONS]",
    short="Remove unused images",
    run=run_image_prune,
    flags=[
        bool_flag("all", "Remove all unused images, not just dangling ones", short="a"),
        filter_flag('Provide filter values (e.g. "until=<timestamp>")', short=""),
        no_prompt_flag(),
    ],
)
