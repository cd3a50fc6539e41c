"""Structured logging to stderr with a request id taken from a contextvar.

Lines are ``key=value`` (or JSON with ``DOCKWRIGHT_LOG_FORMAT=json``) so they
can be grepped and parsed; every line logged while a request is handled
carries that request's id, as containerd's ``log.G(ctx)`` does.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _quote(v: object) -> str:
    s = str(v)
    if not s or any(c in s for c in ' "=\n'):
        return json.dumps(s)
    return s


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        parts = [f"time={ts}", f"level={record.levelname.lower()}", f"msg={_quote(record.getMessage())}"]
        rid = getattr(record, "request_id", "")
        if rid:
            parts.append(f"request_id={rid}")
        parts.append(f"logger={record.name}")
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            parts.extend(f"{k}={_quote(v)}" for k, v in extra.items())
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": record.created,
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            "logger": record.name,
        }
        rid = getattr(record, "request_id", "")
        if rid:
            out["request_id"] = rid
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


_NOISY = ("pyroute2", "asyncio", "botocore", "urllib3", "aiohttp")


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    fmt = os.environ.get("DOCKWRIGHT_LOG_FORMAT", "")
    handler.setFormatter(JSONFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # our debug level is for our own story; these libraries' debug output is per packet and per poll
    # (a filter, not a logger level: pyroute2 resets its logger's level when it is imported)
    handler.addFilter(lambda r: r.levelno >= logging.INFO or not r.name.startswith(_NOISY))
