"""The components a job's DSL can name. Adding one is adding a module and a line in `_ALL`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from fateflow_grpc.domain.catalog import Catalog, ModuleInfo
from fateflow_grpc.domain.parties import TaskRef


@dataclass(frozen=True)
class TaskContext:
    """What a running component gets from the node."""

    task: TaskRef
    parameters: dict[str, Any]
    job_parameters: dict[str, Any]
    roles: dict[str, list[int]]
    log: logging.Logger


class Component(Protocol):
    info: ModuleInfo

    def run(self, context: TaskContext) -> None: ...


def _all() -> list[Component]:
    from fateflow_grpc.components.testing import Noop

    return [Noop()]


#: Modules only nodes configured with `test_components: true` accept.
TESTING = frozenset({"Noop"})


def catalog(*, with_testing: bool) -> Catalog:
    return Catalog(c.info for c in _all() if with_testing or c.info.name not in TESTING)


def component(module: str) -> Component:
    for candidate in _all():
        if module == candidate.info.name or module in candidate.info.aliases:
            return candidate
    raise KeyError(f"no component implements module {module!r}")
