"""The engines the storage contract runs on.

SQLite always runs, on a temporary file. PostgreSQL and MariaDB/MySQL run when
``FATEFLOW_TEST_POSTGRES_URL`` / ``FATEFLOW_TEST_MYSQL_URL`` name a server, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, ``mysql+pymysql://root@127.0.0.1:3306/test``.
On a server each test session creates a database of its own (``fateflow_test_<random>``) and
drops it at the end, so the tests never touch existing data.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from fateflow_grpc.storage.database import Database, create_database
from fateflow_grpc.storage.models import Base

SERVER_URL_VARIABLES = {
    "postgresql": "FATEFLOW_TEST_POSTGRES_URL",
    "mysql": "FATEFLOW_TEST_MYSQL_URL",
}


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "mysql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of an empty database on one engine, for the whole test session."""
    engine: str = request.param
    if engine == "sqlite":
        path: Path = tmp_path_factory.mktemp("storage") / "fateflow.db"
        yield f"sqlite:///{path}"
        return
    variable = SERVER_URL_VARIABLES[engine]
    server_url = os.environ.get(variable)
    if not server_url:
        pytest.skip(f"{variable} is not set: no {engine} server to run the storage contract on")
    yield from scratch_database(server_url)


def scratch_database(server_url: str) -> Iterator[str]:
    url = make_url(server_url)
    name = f"fateflow_test_{secrets.token_hex(6)}"
    is_postgres = url.get_backend_name() == "postgresql"
    create = f"CREATE DATABASE {name}" + ("" if is_postgres else " CHARACTER SET utf8mb4")
    drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if is_postgres else "")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(create))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(drop))
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The migrated database, emptied after each test."""
    database = create_database(database_url)
    yield database
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    database.dispose()
