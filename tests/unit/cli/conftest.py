"""The fake engine the command tests talk to, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.client.fake_engine import FakeEngine


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    with FakeEngine() as eng:
        yield eng
