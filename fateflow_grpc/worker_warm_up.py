"""Imported once, by the workers' forkserver only (`node.WORKER_PRELOAD`): the first steps every
task takes, taken on a database in memory, so that what SQLAlchemy builds on first use and keeps
(the ORM's mappers, the URL parser, each statement's cache key and compiler structures) is there
in every worker the forkserver forks. Nothing stays open across the forks.
"""

from fateflow_grpc.storage import tables, tasks
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Base


def _warm_up() -> None:
    database = Database("sqlite://")
    try:
        Base.metadata.create_all(database.engine)
        with database.session() as session:
            tasks.get_task(session, tasks.TaskKey("", "", 0, "", ""), for_update=True)
            tables.get_table_meta(session, "", "")
    finally:
        database.dispose()


_warm_up()
