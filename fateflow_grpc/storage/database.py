"""The database: engine, units of work, and schema migrations.

Supported URLs: ``sqlite:///path/to/fateflow.db`` (standalone), ``postgresql+psycopg://...`` and
``mysql+pymysql://...``. Building a ``Database`` opens no connection; the first session does.

The schema comes only from the Alembic migrations in ``migrations/``; ``create_database`` runs
them up to the newest. To write a new one after changing the models::

    with Database(url).engine.begin() as connection:
        command.revision(migration_config(connection), "what changed", autogenerate=True)
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another one before failing with "database is locked"."""


class Database:
    """One database: its engine, and the sessions units of work run in."""

    def __init__(self, url: str) -> None:
        # pre_ping replaces connections a server dropped while they sat in the pool; a SQLite
        # file has no server to drop them, and the ping would cost every unit of work a query.
        self.engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite)
        # Rows stay readable after their unit of work ends, when servicers turn them into replies.
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back if it raises."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while one writer writes; the busy timeout makes concurrent writers
    # queue instead of failing at once (FATE #2906 "database is locked").
    cursor = dbapi_connection.cursor()
    # The timeout first: switching a new file to WAL waits for its other first connections.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


#: The name of the server-side lock under which a node migrates the schema.
MIGRATION_LOCK = "fateflow_grpc_migrations"


@contextmanager
def _migrating_alone(engine: Engine) -> Iterator[None]:
    """Hold the database's lock of migrations over the block, commit included: on a connection
    of its own (a server's session lock), or a lock file beside a SQLite file."""
    name = {"name": MIGRATION_LOCK}
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), name)
            try:
                yield
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), name)
    elif engine.dialect.name in ("mysql", "mariadb"):
        with engine.connect() as holder:
            holder.execute(text("SELECT GET_LOCK(:name, 600)"), name)
            try:
                yield
            finally:
                holder.execute(text("SELECT RELEASE_LOCK(:name)"), name)
    elif engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrating", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    else:
        yield


def migration_config(connection: Connection) -> Config:
    """An Alembic config that migrates ``connection`` with our scripts; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def create_database(url: str) -> Database:
    """Open the database at ``url`` and bring its schema to the newest migration.

    Running it on an up-to-date database changes nothing. Several nodes may run it at once on
    one server (the replicas of a party starting together): they take turns.
    """
    database = Database(url)
    try:
        with _migrating_alone(database.engine), database.engine.begin() as connection:
            command.upgrade(migration_config(connection), "head")
    except BaseException:
        database.dispose()
        raise
    return database
