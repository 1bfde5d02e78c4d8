"""Job and task rows written straight into a node's database, as the scheduler would."""

from __future__ import annotations

from fateflow_grpc.status import JobStatus, TaskStatus
from fateflow_grpc.storage import jobs, tasks
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Job, Task

JOB_ID = "202611270406450000001"
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}
DSL = {"components": {"noop_0": {"module": "Noop", "output": {"data": ["data"]}}}}
CONF = {
    "dsl_version": 2,
    "initiator": {"role": "guest", "party_id": 9999},
    "role": ROLES,
    "job_parameters": {
        "common": {"model_id": "arbiter-10000#guest-9999#host-10000#model", "model_version": JOB_ID}
    },
}


def add_job(
    database: Database,
    job_id: str = JOB_ID,
    role: str = "guest",
    party_id: str = "9999",
    status: JobStatus = JobStatus.RUNNING,
    create_time: int = 1764216405000,
) -> None:
    with database.session() as session:
        jobs.create_job(
            session,
            Job(
                f_job_id=job_id,
                f_role=role,
                f_party_id=party_id,
                f_dsl=DSL,
                f_runtime_conf=CONF,
                f_roles=ROLES,
                f_initiator_role="guest",
                f_initiator_party_id="9999",
                f_is_initiator=role == "guest",
                f_status=status,
                f_progress=40,
                f_create_time=create_time,
            ),
        )
        tasks.create_task(
            session,
            Task(
                f_job_id=job_id,
                f_task_id=f"{job_id}_noop_0",
                f_task_version=0,
                f_role=role,
                f_party_id=party_id,
                f_component_name="noop_0",
                f_initiator_role="guest",
                f_initiator_party_id="9999",
                f_status=TaskStatus.SUCCESS,
                f_party_status=TaskStatus.SUCCESS,
                f_run_on_this_party=True,
            ),
        )
