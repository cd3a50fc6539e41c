"""Resolve ``docker run --user`` against the image's /etc/passwd and /etc/group.

Same results and wording as Docker: the user's primary group comes first in
the additional groups, then every group that lists the user by name (only when
no group was given explicitly). The files are read through
:func:`secure_join`, so a symlinked /etc/passwd cannot make the engine read a
host file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dockwright.errors import InvalidParameter
from dockwright.runtime.securejoin import secure_join

User = tuple[int, int, list[int]]

_MAX_FILE = 4 << 20


def _read_db(rootfs: Path, name: str) -> list[list[str]]:
    path = secure_join(str(rootfs), name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        data = os.read(fd, _MAX_FILE)
    finally:
        os.close(fd)
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append(line.split(":"))
    return rows


def _int_id(s: str) -> int | None:
    if s.isdigit():
        v = int(s)
        if v <= 0xFFFFFFFF:
            return v
        raise InvalidParameter(f"invalid user/group id {s!r}: out of range")
    return None


def resolve_user(rootfs: Path, spec: str, group_add: Sequence[str] = ()) -> User:
    """``(uid, gid, additional_gids)`` for a ``user[:group]`` spec (names or numbers), plus the
    ``--group-add`` groups (names looked up in the image's /etc/group, as dockerd does)."""
    uid, gid, extra = _resolve_user(rootfs, spec)
    if group_add:
        table = _read_db(rootfs, "/etc/group")
        for g in group_add:
            num = _int_id(g)
            if num is None:
                rows = [r for r in table if len(r) >= 3 and r[0] == g and r[2].isdigit()]
                if not rows:
                    raise InvalidParameter(f"unable to find group {g}: no matching entries in group file")
                num = int(rows[0][2])
            if num not in extra:
                extra = [*extra, num]
    return uid, gid, extra


def _resolve_user(rootfs: Path, spec: str) -> User:
    user_arg, _, group_arg = spec.partition(":")
    user_arg = user_arg or "0" if spec else "0"
    passwd = _read_db(rootfs, "/etc/passwd")
    uid_num = _int_id(user_arg)
    uid, gid, name = (uid_num if uid_num is not None else 0), 0, ""
    found = False
    for row in passwd:
        if len(row) < 4:
            continue
        if (uid_num is None and row[0] == user_arg) or (uid_num is not None and row[2] == user_arg):
            try:
                uid, gid, name = int(row[2]), int(row[3]), row[0]
            except ValueError:
                continue
            found = True
            break
    if not found and uid_num is None:
        raise InvalidParameter(f"unable to find user {user_arg}: no matching entries in passwd file")
    groups = _read_db(rootfs, "/etc/group") if (group_arg or name) else []
    if group_arg:
        gid_num = _int_id(group_arg)
        if gid_num is not None:
            gid = gid_num
        else:
            for row in groups:
                if len(row) >= 3 and row[0] == group_arg:
                    try:
                        gid = int(row[2])
                    except ValueError:
                        continue
                    break
            else:
                raise InvalidParameter(f"unable to find group {group_arg}: no matching entries in group file")
        return uid, gid, [gid]
    extra = [gid]
    if name:
        for row in groups:
            if len(row) >= 4 and name in row[3].split(","):
                try:
                    g = int(row[2])
                except ValueError:
                    continue
                if g not in extra:
                    extra.append(g)
    return uid, gid, extra
