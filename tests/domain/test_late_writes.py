"""A task that no longer runs (stopped, or left behind by a node that was killed) cannot write
its results over those of the version that replaced it: output tables, models, metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.domain.participant import NodeAccess, Wiring
from fateflow_grpc.domain.parties import TaskRef
from fateflow_grpc.errors import FailedPrecondition
from fateflow_grpc.status import TaskStatus
from fateflow_grpc.storage import tables, tasks, tracking
from fateflow_grpc.storage.database import Database, create_database
from fateflow_grpc.storage.models import Task

TASK = TaskRef("202401010000000000001", "hetero_lr_0", 0, "host", 10000)
KEY = tasks.TaskKey(TASK.job_id, TASK.task_id, TASK.task_version, TASK.role, str(TASK.party_id))
WIRING = Wiring({}, [], [], ["data"], ["model"], {})


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = create_database(f"sqlite:///{tmp_path / 'fateflow.db'}")
    with database.session() as session:
        tasks.create_task(
            session,
            Task(
                f_job_id=TASK.job_id,
                f_task_id=TASK.task_id,
                f_task_version=TASK.task_version,
                f_role=TASK.role,
                f_party_id=str(TASK.party_id),
                f_component_name=TASK.component_name,
                f_initiator_role="guest",
                f_initiator_party_id="9999",
                f_status=TaskStatus.RUNNING,
                f_party_status=TaskStatus.RUNNING,
                f_run_on_this_party=True,
            ),
        )
    yield database
    database.dispose()


def context(tmp_path: Path, database: Database) -> TaskContext:
    url = str(database.engine.url)
    node = NodeAccess(tmp_path, url, f"unix:{tmp_path / 'proxy.sock'}", tmp_path / "tables", url)
    job_parameters = {"model_id": "arbiter-10000#guest-9999#host-10000#model"}
    return TaskContext(
        TASK, {}, job_parameters, {"host": [10000]}, WIRING, node, logging.getLogger("t")
    )


def test_a_task_writes_while_it_runs_and_not_after(tmp_path: Path, database: Database) -> None:
    table = pa.table({"id": ["a", "b"], "x": [1.0, 2.0]})
    running = context(tmp_path, database)
    running.save_output_data(table)
    running.save_model({"weights": [1.0]})
    running.log_metric("train", "loss", [(0, 0.5)], {"metric_type": "LOSS"})
    model = next(tmp_path.glob("models/*/*/hetero_lr_0/model.json"))
    assert model.read_text() == '{"weights": [1.0]}'

    with database.session() as session:
        tasks.transition_task_party_status(session, KEY, TaskStatus.CANCELED)
    late = context(tmp_path, database)
    for write in (
        lambda: late.save_output_data(pa.table({"id": ["z"], "x": [9.0]})),
        lambda: late.save_model({"weights": [9.0]}),
        lambda: late.log_metric("train", "loss", [(1, 9.0)], {"metric_type": "LOSS"}),
        lambda: late.save_summary({"late": True}),
    ):
        with pytest.raises(FailedPrecondition, match="no longer runs"):
            write()
    assert model.read_text() == '{"weights": [1.0]}'
    with database.session() as session:
        (output,) = tracking.list_output_data_info(session, TASK.job_id)
        meta = tables.get_table_meta(session, output.f_table_name, output.f_table_namespace)
        assert meta is not None and meta.f_count == 2
    for opened in (running, late):
        opened.close()
