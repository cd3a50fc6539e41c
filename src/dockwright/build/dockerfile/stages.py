"""Which stages a build needs, and in what order.

A stage depends on another through ``FROM <stage>``, ``COPY --from=<stage|index>``
and ``RUN --mount=from=<stage|index>``. A name that matches no stage is an image
reference (``COPY --from=nginx:alpine``), exactly as Docker treats it, so a typo
in a stage name becomes an image pull, not an error here. ``FROM x AS x`` names
the image ``x`` (a stage never depends on itself through FROM), while a
``--from`` index outside the stage list is an error, and so is any cycle.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence

from dockwright.build.dockerfile.errors import DockerfileError, ExpansionError
from dockwright.build.dockerfile.instructions import CopyCommand, RunCommand, Stage
from dockwright.build.dockerfile.shell_lex import ShellLex
from dockwright.errors import InvalidParameter


def _label(stages: Sequence[Stage], index: int) -> str:
    return stages[index].name or str(index)


def _expand(word: str, meta_env: Mapping[str, str] | None, escape: str) -> str:
    if meta_env is None or "$" not in word:
        return word
    try:
        return ShellLex(escape).process_word(word, meta_env)
    except ExpansionError:
        return word


def _mount_from(spec: str) -> str:
    try:
        fields = next(csv.reader([spec]))
    except (csv.Error, StopIteration):
        return ""
    for item in fields:
        key, _, value = item.partition("=")
        if key.strip().lower() == "from":
            return value
    return ""


def resolve_stage_ref(stages: Sequence[Stage], ref: str, *, allow_index: bool) -> int | None:
    """The index of the stage ``ref`` names, or None when ``ref`` is an image reference."""
    if allow_index and ref.isdigit():
        index = int(ref)
        if index >= len(stages):
            raise InvalidParameter(f"invalid from flag value {ref}: index out of bounds")
        return index
    lowered = ref.lower()
    for stage in stages:
        if stage.name and stage.name == lowered:
            return stage.index
    return None


def stage_deps(
    stages: Sequence[Stage], meta_env: Mapping[str, str] | None = None, escape: str = "\\"
) -> dict[int, set[int]]:
    """Stage index → indexes of the stages it reads from; raises on bad indexes and on cycles.

    ``meta_env`` (the resolved global ARGs) expands ``FROM $BASE`` and ``--from=$X``.
    """
    deps: dict[int, set[int]] = {}
    for i, stage in enumerate(stages):
        found: set[int] = set()
        base = _expand(stage.base_name, meta_env, escape)
        ref = resolve_stage_ref(stages, base, allow_index=False)
        if ref is not None and ref != i:
            found.add(ref)
        for cmd in stage.commands:
            refs: list[str] = []
            if isinstance(cmd, CopyCommand) and cmd.from_:
                refs.append(cmd.from_)
            elif isinstance(cmd, RunCommand):
                refs.extend(f for f in (_mount_from(spec) for spec in cmd.mount_specs) if f)
            for raw in refs:
                try:
                    target = resolve_stage_ref(stages, _expand(raw, meta_env, escape), allow_index=True)
                except InvalidParameter as exc:
                    raise DockerfileError(str(exc), filename=cmd.location[0], start_line=cmd.location[1],
                                          end_line=cmd.location[2], instruction=cmd.name) from None
                if target is not None:
                    found.add(target)
        deps[i] = found
    _check_cycles(stages, deps)
    return deps


def _check_cycles(stages: Sequence[Stage], deps: Mapping[int, set[int]]) -> None:
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    path: list[int] = []

    def visit(node: int) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(deps.get(node, ())):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                names = " -> ".join(_label(stages, s) for s in cycle)
                stage = stages[node]
                raise DockerfileError(f"circular dependency detected on stage: {names}",
                                      filename=stage.location[0], start_line=stage.location[1],
                                      instruction="FROM")
            if state.get(dep) is None:
                visit(dep)
        path.pop()
        state[node] = 2

    for node in sorted(deps):
        if node not in state:
            visit(node)


def target_stages(
    stages: Sequence[Stage], target: str = "", meta_env: Mapping[str, str] | None = None, escape: str = "\\"
) -> list[int]:
    """Stage indexes needed to build ``target`` (default: the last stage), dependencies first."""
    if not stages:
        raise InvalidParameter("dockerfile contains no stages to build")
    if target:
        wanted = target.lower()
        matches = [s.index for s in stages if s.name == wanted]
        if not matches:
            raise InvalidParameter(f'target stage "{target}" could not be found')
        root = matches[0]
    else:
        root = len(stages) - 1
    deps = stage_deps(stages, meta_env, escape)
    order: list[int] = []
    seen: set[int] = set()

    def visit(node: int) -> None:
        seen.add(node)
        for dep in sorted(deps[node]):
            if dep not in seen:
                visit(dep)
        order.append(node)

    visit(root)
    return order
