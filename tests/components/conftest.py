"""Fixtures of the component tests: each party's storage for running tasks (`tasks.Stores`),
and Spark (`local[2]`) for the tests that compare the computing engines."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateflow_grpc.components.sdk.computing import SparkComputing
from fateflow_grpc.storage.database import create_database
from tests.components.tasks import SPARK_MASTER, Stores


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


@pytest.fixture(scope="session")
def spark() -> SparkComputing:
    """The Spark engine on `local[2]`; one SparkSession serves every test of the process."""
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: Spark needs it (Debian: openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    return SparkComputing(SPARK_MASTER, {}, 3)
