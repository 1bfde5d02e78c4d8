"""A component for testing the scheduler: it waits, then succeeds, fails or crashes on demand."""

from __future__ import annotations

import os
import time

from fateflow_grpc.components.context import TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo


class Noop:
    info = ModuleInfo(
        name="Noop",
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters={"sleep_seconds": 0.0, "fail": False, "crash": False},
        input_kinds=frozenset({"data"}),
    )

    def run(self, context: TaskContext) -> None:
        parameters = context.parameters
        context.log.info("noop %s sleeps %s s", context.task, parameters["sleep_seconds"])
        time.sleep(float(parameters["sleep_seconds"]))
        if parameters["crash"]:
            os._exit(3)  # a task that dies without a word, as a segfault would
        if parameters["fail"]:
            raise RuntimeError(f"{context.task.component_name} was told to fail")
        context.log.info("noop done")
