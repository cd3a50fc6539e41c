"""``dockwright registry serve [CONFIG.yml]`` and ``dockwright registry gc CONFIG.yml``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys

from dockwright.errors import DockwrightError

from .config import DEFAULT_ADDR, DEFAULT_ROOT, Config, load, parse_duration


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockwright registry", description="OCI Distribution registry server")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the registry API")
    s.add_argument("config", nargs="?", help="registry:2-style YAML configuration file")
    s.add_argument("--addr", help=f"listen address host:port (default {DEFAULT_ADDR})")
    s.add_argument("--root", help=f"filesystem storage root (default {DEFAULT_ROOT})")
    g = sub.add_parser("gc", help="delete blobs no manifest references (mark and sweep)")
    g.add_argument("config", help="the registry's YAML configuration file")
    g.add_argument("--dry-run", "-d", action="store_true", help="report what would be deleted")
    g.add_argument(
        "--delete-untagged",
        "-m",
        action="store_true",
        help="also delete manifests no tag (or tagged index or referrer chain) reaches",
    )
    g.add_argument(
        "--grace-period",
        default=None,
        help="keep uploads and blobs younger than this (Go duration; "
        "default storage.maintenance.uploadpurging.age, 168h)",
    )
    return p


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record), "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out)


def _logging(level: str, formatter: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if formatter == "json":
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))


def _serve(cfg: Config) -> int:
    from .app import serve

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(cfg, stop=stop)

    asyncio.run(run())
    return 0


def _gc(cfg: Config, args: argparse.Namespace) -> int:
    from .config import make_driver
    from .storage.gc import mark_and_sweep

    grace = parse_duration(args.grace_period, cfg.upload_purge_age)
    stats = mark_and_sweep(
        make_driver(cfg),
        dry_run=args.dry_run,
        delete_untagged=args.delete_untagged,
        grace=grace,
        out=sys.stdout,
    )
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{stats.marked} blobs marked, {verb} {len(stats.blobs)} blobs, {len(stats.manifests)} manifests, "
        f"{len(stats.uploads)} uploads"
    )
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = load(args.config)
        if args.command == "serve":
            if args.addr:
                cfg = dataclasses.replace(cfg, addr=args.addr)
            if args.root:
                params = dict(cfg.storage_params, rootdirectory=os.path.abspath(args.root))
                cfg = dataclasses.replace(cfg, storage_driver="filesystem", storage_params=params)
            _logging(cfg.log_level, cfg.log_formatter)
            return _serve(cfg)
        return _gc(cfg, args)
    except DockwrightError as exc:
        print(f"dockwright registry: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
