"""Stage graph: dependencies, cycles, --target."""

from __future__ import annotations

import pytest

from dockwright.build.dockerfile import DockerfileError, parse_dockerfile, stage_deps, target_stages
from dockwright.errors import InvalidParameter

MULTI = """\
ARG BASE=alpine
FROM $BASE AS base
FROM base AS deps
RUN --mount=type=bind,from=tools,target=/t true
FROM busybox AS tools
FROM scratch AS unrelated
FROM deps AS build
COPY --from=0 /a /a
COPY --from=nginx:latest /etc/nginx /nginx
FROM scratch AS final
COPY --from=build /out /out
"""


def test_stage_deps() -> None:
    stages, _ = parse_dockerfile(MULTI)
    assert stage_deps(stages) == {0: set(), 1: {0, 2}, 2: set(), 3: set(), 4: {1, 0}, 5: {4}}


def test_target_stages_order() -> None:
    stages, _ = parse_dockerfile(MULTI)
    assert target_stages(stages) == [0, 2, 1, 4, 5]
    assert target_stages(stages, "DEPS") == [0, 2, 1]
    assert target_stages(stages, "unrelated") == [3]


def test_target_not_found() -> None:
    stages, _ = parse_dockerfile(MULTI)
    with pytest.raises(InvalidParameter) as info:
        target_stages(stages, "nope")
    assert str(info.value) == 'target stage "nope" could not be found'


def test_unknown_from_is_an_image() -> None:
    stages, _ = parse_dockerfile("FROM scratch\nCOPY --from=nope /a /b\n")
    assert stage_deps(stages) == {0: set()}


def test_self_named_from_is_an_image() -> None:
    stages, _ = parse_dockerfile("FROM node AS node\nRUN true\n")
    assert stage_deps(stages) == {0: set()}


def test_index_out_of_range() -> None:
    stages, _ = parse_dockerfile("FROM scratch\nCOPY --from=5 a /\n")
    with pytest.raises(DockerfileError) as info:
        stage_deps(stages)
    assert str(info.value) == "Dockerfile:2: invalid from flag value 5: index out of bounds"


def test_cycle_named() -> None:
    stages, _ = parse_dockerfile("FROM scratch AS a\nCOPY --from=b x y\nFROM a AS b\n")
    with pytest.raises(DockerfileError) as info:
        stage_deps(stages)
    assert "circular dependency detected on stage: a -> b -> a" in str(info.value)


def test_self_copy_is_a_cycle() -> None:
    stages, _ = parse_dockerfile("FROM scratch AS a\nCOPY --from=a x y\n")
    with pytest.raises(DockerfileError, match="a -> a"):
        stage_deps(stages)


def test_meta_env_expands_references() -> None:
    stages, _ = parse_dockerfile("FROM scratch AS one\nFROM scratch\nCOPY --from=$SRC a b\n")
    assert stage_deps(stages) == {0: set(), 1: set()}
    assert stage_deps(stages, {"SRC": "one"}) == {0: set(), 1: {0}}
    assert target_stages(stages, "", {"SRC": "one"}) == [0, 1]
