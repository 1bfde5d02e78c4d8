"""Fixtures of the component tests: each party's storage for running tasks (`tasks.Stores`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fateflow_grpc.storage.database import create_database
from tests.components.tasks import Stores


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the newest migration, copied for each party (migrating is slow)."""
    path = tmp_path_factory.mktemp("template") / "fateflow.db"
    create_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def stores(tmp_path: Path, migrated_database: Path) -> Iterator[Stores]:
    stores = Stores(tmp_path, migrated_database)
    yield stores
    stores.close()
