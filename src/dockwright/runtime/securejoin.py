"""Resolve a path inside a root directory as if the root were ``/``.

Container images are untrusted: a symlink in the rootfs may point at ``/etc`` or
``../../..``. Every path the engine or the runtime opens or mounts on inside a
rootfs goes through :func:`secure_join`, which follows symlinks itself, always
relative to the root, so the result never leaves it (the idea of
filepath-securejoin). The check is not atomic; it is used before the container
runs, when nothing inside the rootfs can race it.
"""

from __future__ import annotations

import os

_MAX_LINKS = 255


def secure_join(root: str, unsafe: str) -> str:
    """``root`` joined with ``unsafe``, symlinks resolved within ``root``; missing tail components are kept."""
    root = os.path.abspath(root)
    parts = [p for p in unsafe.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st_link = os.readlink(candidate)
        except OSError:
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(40, "too many levels of symbolic links", unsafe)
        target_parts = [p for p in st_link.split("/") if p not in ("", ".")]
        if st_link.startswith("/"):
            resolved = []
        parts = target_parts + parts
    return os.path.join(root, *resolved) if resolved else root
