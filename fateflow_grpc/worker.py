"""What a worker process does with a task: log to the task's own files, run its component."""

from __future__ import annotations

import logging
import sys

from fateflow_grpc.components.registry import component
from fateflow_grpc.components.sdk.context import task_context
from fateflow_grpc.domain.participant import TaskRun


def run_task(run: TaskRun) -> None:
    run.log_dir.mkdir(parents=True, exist_ok=True)
    # Whatever the component prints lands in std.log, as in FATE.
    sys.stdout = sys.stderr = open(run.log_dir / "std.log", "a", buffering=1)  # noqa: SIM115
    handler = logging.FileHandler(run.log_dir / "INFO.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger(f"task.{run.task.component_name}")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with task_context(
            run.task, run.parameters, run.job_parameters, run.roles, run.wiring, run.node, log
        ) as context:
            # FATE gives a component None for them, and the component does what it can
            # without: a host's Evaluation, with no predictions there, has nothing to do.
            absent = context.drop_absent_inputs()
            if absent:
                log.info("no %s at this party: the component runs without it", ", ".join(absent))
            component(run.module).run(context)
    except BaseException:
        log.exception("task failed")
        raise
