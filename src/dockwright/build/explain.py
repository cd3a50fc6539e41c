"""Why a step ran: compared with what earlier builds stored for the same parent.

A miss is explained by the closest earlier result on the same parent key: the
same instruction with other files (which paths were added, removed or
changed), the same instruction with other build args (which ones), another
instruction, or no earlier result at all on this parent (the parent changed,
or this is the first build of the step).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI renders reports with this module: keep it free of the stores
    from dockwright.build.cache.store import StepRecord

_MAX_PATHS = 10


@dataclass
class StepExplanation:
    step: int
    instruction: str
    location: str
    cached: bool
    reason: str
    changed_files: list[str] = field(default_factory=list)
    changed_args: list[str] = field(default_factory=list)
    seconds: float = 0.0


def changed_paths(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    out = [p for p in sorted(set(old) | set(new)) if old.get(p) != new.get(p)]
    return out


def _files_text(paths: Sequence[str], old: Mapping[str, str], new: Mapping[str, str]) -> str:
    parts = []
    for p in paths[:_MAX_PATHS]:
        tag = "added" if p not in old else "removed" if p not in new else "changed"
        parts.append(f"{p} ({tag})")
    more = f" and {len(paths) - _MAX_PATHS} more" if len(paths) > _MAX_PATHS else ""
    return ", ".join(parts) + more


def explain_miss(
    siblings: Sequence[StepRecord],
    op: str,
    args: Mapping[str, str],
    files: Mapping[str, str],
    *,
    parent_ran: bool,
    forced: str = "",
) -> tuple[str, list[str], list[str]]:
    """(reason, changed files, changed args) for a step that was not found in the cache."""
    if forced:
        return forced, [], []
    same_op = [s for s in siblings if s.op == op]
    best: tuple[int, list[str], list[str], StepRecord] | None = None
    for s in same_op:  # newest first; the closest one explains best
        changed_args = sorted(k for k in set(s.args) | set(args) if s.args.get(k) != args.get(k))
        paths = changed_paths(s.files, files)
        score = len(paths) + len(changed_args)
        if best is None or score < best[0]:
            best = (score, paths, changed_args, s)
    if best is not None:
        _, paths, changed_args, s = best
        if paths or changed_args:
            bits = []
            if paths:
                bits.append("files changed: " + _files_text(paths, s.files, files))
            if changed_args:
                bits.append("build args changed: " + ", ".join(
                    f"{k} ({s.args.get(k, '<unset>')} -> {args.get(k, '<unset>')})" for k in changed_args))
            return "; ".join(bits), paths, changed_args
        return "its source stage or image changed", [], []
    if siblings:
        return "instruction changed since the last build", [], []
    if parent_ran:
        return "parent step changed", [], []
    return "not built before", [], []


def step_line(e: StepExplanation) -> str:
    if e.cached:
        return " => CACHED\n"
    return f" => ran: {e.reason}\n"


def report_text(steps: Sequence[StepExplanation]) -> str:
    lines = []
    for e in steps:
        status = "CACHED" if e.cached else f"RAN    {e.seconds:6.2f}s"
        lines.append(f"#{e.step:<3} {status:<16} {e.instruction}  [{e.location}]")
        if not e.cached:
            lines.append(f"       why: {e.reason}")
    hits = sum(1 for e in steps if e.cached)
    lines.append(f"{hits}/{len(steps)} steps from cache")
    return "\n".join(lines) + "\n"


def report_json(steps: Sequence[StepExplanation]) -> str:
    return json.dumps([asdict(e) for e in steps], indent=2) + "\n"


def from_dicts(items: Sequence[Mapping[str, Any]]) -> list[StepExplanation]:
    return [StepExplanation(**dict(i)) for i in items]
