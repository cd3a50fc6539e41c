"""``dockwright daemon``: parse flags, load daemon.json, take the data root, serve.

Precedence is flag > ``DOCKWRIGHT_*`` environment > config file (default
``/etc/dockwright/daemon.json`` when it exists) > default. Plain TCP is refused off loopback: the
API is root on this machine, so it needs TLS with client certificates.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import ipaddress
import logging
import os
import signal
import ssl
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .. import __version__
from .. import log as dwlog
from ..config import DaemonConfig, from_env, load_file
from ..errors import DockwrightError, InvalidParameter

log = logging.getLogger("dockwright.daemon")
DEFAULT_CONFIG_FILE = "/etc/dockwright/daemon.json"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockwright daemon", description="Run the dockwright engine")
    p.add_argument("-H", "--host", action="append", dest="hosts", help="unix://PATH or tcp://HOST:PORT (repeatable)")
    p.add_argument("--data-root", help="where images and containers live (default /var/lib/dockwright)")
    p.add_argument("--exec-root", help="runtime state (default /run/dockwright)")
    p.add_argument("--config-file", help=f"daemon.json to read (default {DEFAULT_CONFIG_FILE} if present)")
    p.add_argument("-p", "--pidfile", help="pid file (default <exec-root>/dockwright.pid)")
    p.add_argument("-l", "--log-level", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("-D", "--debug", action="store_true", default=None)
    p.add_argument("--tls", action="store_true", default=None)
    p.add_argument("--tlsverify", action="store_true", default=None)
    p.add_argument("--tlscacert")
    p.add_argument("--tlscert")
    p.add_argument("--tlskey")
    p.add_argument("-s", "--storage-driver")
    p.add_argument("--default-runtime")
    p.add_argument("-b", "--bridge")
    p.add_argument("--bip")
    p.add_argument("--insecure-registry", action="append", dest="insecure_registries")
    p.add_argument("--registry-mirror", action="append", dest="registry_mirrors")
    p.add_argument("--max-concurrent-downloads", type=int)
    p.add_argument("--max-concurrent-uploads", type=int)
    p.add_argument("-v", "--version", action="store_true")
    return p


def resolve_config(args: argparse.Namespace) -> DaemonConfig:
    cfg = DaemonConfig()
    path = args.config_file or (DEFAULT_CONFIG_FILE if os.path.exists(DEFAULT_CONFIG_FILE) else None)
    if path:
        cfg = load_file(path, cfg)
    cfg = from_env(cfg)
    updates: dict[str, Any] = {}
    for attr in ("data_root", "exec_root", "pidfile", "log_level", "debug", "tls", "tlsverify", "tlscacert",
                 "tlscert", "tlskey", "storage_driver", "default_runtime", "bridge", "bip",
                 "max_concurrent_downloads", "max_concurrent_uploads"):
        v = getattr(args, attr, None)
        if v is not None:
            updates[attr] = v
    if args.hosts:
        updates["hosts"] = tuple(args.hosts)
    if args.insecure_registries:
        updates["insecure_registries"] = tuple(args.insecure_registries)
    if args.registry_mirrors:
        updates["registry_mirrors"] = tuple(args.registry_mirrors)
    return replace(cfg, **updates)


def _ssl_context(cfg: DaemonConfig) -> ssl.SSLContext | None:
    if not (cfg.tls or cfg.tlsverify):
        return None
    if not cfg.tlscert or not cfg.tlskey:
        raise InvalidParameter("--tls needs --tlscert and --tlskey")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tlscert, cfg.tlskey)
    if cfg.tlsverify:
        if not cfg.tlscacert:
            raise InvalidParameter("--tlsverify needs --tlscacert to check client certificates")
        ctx.load_verify_locations(cfg.tlscacert)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_host(h: str) -> tuple[str, str, int]:
    """('unix', path, 0) or ('tcp', host, port)."""
    if h.startswith("unix://"):
        return "unix", h[len("unix://"):] or "/run/dockwright.sock", 0
    if h.startswith("fd://"):
        raise InvalidParameter("fd:// hosts (systemd socket activation) are not supported; use unix:// or tcp://")
    if h.startswith("tcp://") or "://" not in h:
        u = urlparse(h if "://" in h else "tcp://" + h)
        if not u.hostname:
            raise InvalidParameter(f"invalid host {h!r}: expected tcp://HOST:PORT")
        return "tcp", u.hostname, u.port or 2375
    raise InvalidParameter(f"invalid host {h!r}: use unix://PATH or tcp://HOST:PORT")


async def serve(cfg: DaemonConfig) -> int:
    from aiohttp import web

    from ..api.server import make_app
    from .daemon import Daemon

    d = Daemon(cfg)
    d.lock()
    sites: list[Any] = []
    runner = None
    pid_path = cfg.pid_path
    try:
        d.open_stores()
        await asyncio.to_thread(d.startup_gc)
        await asyncio.to_thread(d.networks.start)
        loop = asyncio.get_running_loop()
        # blocking work of many concurrent requests (20 docker runs at once) must not queue behind
        # the default executor's handful of threads
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=64,
                                                                         thread_name_prefix="dw-io"))
        d.events.bind(loop)
        await d.containers.restore()
        d.containers.warm.refill_soon()
        app = make_app(d)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2)
        await runner.setup()
        sslctx = _ssl_context(cfg)
        for h in cfg.hosts:
            kind, addr, port = parse_host(h)
            if kind == "unix":
                Path(addr).parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
                if os.path.exists(addr):  # noqa: ASYNC240 - a stale socket from a crash
                    os.unlink(addr)
                site: Any = web.UnixSite(runner, addr)
                await site.start()
                os.chmod(addr, 0o660)
            else:
                if sslctx is None and not _is_loopback(addr):
                    raise InvalidParameter(
                        f"refusing to listen on {h} without TLS: anyone who can reach it is root on this host. "
                        "Use --tlsverify with --tlscacert, --tlscert and --tlskey, or listen on 127.0.0.1"
                    )
                site = web.TCPSite(runner, addr, port, ssl_context=sslctx)
                await site.start()
            sites.append(site)
            log.info("API listening on %s", h)
        pid_path.parent.mkdir(parents=True, exist_ok=True)
        pid_path.write_text(str(os.getpid()))
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("dockwright daemon %s ready (data root %s, storage driver %s)", __version__, d.root,
                 d.storage_driver_name)
        d.events.publish("daemon", "start", d.engine_id, {"name": os.uname().nodename})
        await stop.wait()
        log.info("shutting down")
        return 0
    finally:
        if runner is not None:
            await runner.cleanup()
        for h in cfg.hosts:
            try:
                kind, addr, _ = parse_host(h)
                if kind == "unix" and os.path.exists(addr):  # noqa: ASYNC240 - on the way out
                    os.unlink(addr)
            except DockwrightError:
                pass
        try:
            if pid_path.exists() and pid_path.read_text().strip() == str(os.getpid()):
                pid_path.unlink()
        except OSError:
            pass
        d.close()


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        print(f"dockwright daemon version {__version__}")
        return 0
    try:
        cfg = resolve_config(args)
    except DockwrightError as exc:
        print(f"dockwright daemon: {exc}", file=sys.stderr)
        return 1
    dwlog.setup("debug" if cfg.debug else cfg.log_level)
    try:
        return asyncio.run(serve(cfg))
    except DockwrightError as exc:
        log.error("%s", exc)
        print(f"dockwright daemon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
