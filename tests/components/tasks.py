"""Running a component's task for real in this process: a real `TaskContext` on a real SQLite
database and table store (one per party), its federation replaced by the in-memory wire of
`sdk/testing.py`, so a protocol's roles run side by side in threads.

    store = Stores(tmp_path, migrated_database)    # the `stores` fixture of conftest.py
    store.put(GUEST, "reader_0.data", dataset.to_table())
    store.run(FeatureScale(), "scale_0", GUEST, {"method": "min_max_scale"},
              data={"data": ["reader_0.data"]})
    store.output(GUEST, "scale_0")          # the output table
    store.model(GUEST, "scale_0")           # {"meta": ..., "param": ...}
    store.metrics(GUEST, "scale_0")         # {namespace: {name: Metric}}

A predict task reads the training job's models: `run(..., models=["scale_0.model"],
job_id="predict", trained="train")` wires them as a predict job does (`pipeline.<cpn>.<alias>`).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from fateflow_grpc.components.registry import Component
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.testing import MemoryTransport, Wire, run_parties
from fateflow_grpc.domain.participant import NodeAccess, Wiring
from fateflow_grpc.domain.parties import PartyRole, TaskRef
from fateflow_grpc.status import TaskStatus
from fateflow_grpc.storage import model_files, tasks, tracking
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Task

MODEL_ID = "model"
#: The Spark of every party's node here: jobs that ask for Spark (`job_parameters`) run on it.
SPARK_MASTER = "local[2]"
LOG = logging.getLogger("tests.components")


def merged(defaults: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """FATE's defaults with the conf's values on top, sections merged key by key."""
    result = dict(defaults)
    for key, value in params.items():
        base = result.get(key)
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            result[key] = merged(base, value)
        else:
            result[key] = value
    return result


class Stores:
    """Each party's node storage (data directory and database), made on first use."""

    def __init__(self, root: Path, migrated: Path) -> None:
        self._root = root
        self._migrated = migrated
        self._databases: dict[PartyRole, Database] = {}

    def _node(self, party: PartyRole) -> NodeAccess:
        data_dir = self._root / f"{party.role}_{party.party_id}"
        url = f"sqlite:///{data_dir / 'fateflow.db'}"
        if party not in self._databases:
            data_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._migrated, data_dir / "fateflow.db")
            self._databases[party] = Database(url)
        return NodeAccess(
            data_dir=data_dir,
            database_url=url,
            proxy_address="unix:/nonexistent",
            table_dir=data_dir / "tables",
            table_database_url=url,
            spark_master=SPARK_MASTER,
        )

    def _running(self, task: TaskRef) -> None:
        """The task's row, running: a task writes its results only while it runs."""
        key = tasks.TaskKey(
            task.job_id, task.task_id, task.task_version, task.role, str(task.party_id)
        )
        with self._databases[task.party].session() as session:
            if tasks.get_task(session, key) is None:
                tasks.create_task(
                    session,
                    Task(
                        f_job_id=task.job_id,
                        f_task_id=task.task_id,
                        f_task_version=task.task_version,
                        f_role=task.role,
                        f_party_id=str(task.party_id),
                        f_component_name=task.component_name,
                        f_initiator_role="guest",
                        f_initiator_party_id="9999",
                        f_status=TaskStatus.RUNNING,
                        f_party_status=TaskStatus.RUNNING,
                        f_run_on_this_party=True,
                    ),
                )

    def close(self) -> None:
        for database in self._databases.values():
            database.dispose()

    def context(
        self,
        component: str,
        party: PartyRole,
        parameters: Mapping[str, Any],
        *,
        roles: Mapping[str, Sequence[int]] | None = None,
        data: Mapping[str, Sequence[str]] | None = None,
        models: Sequence[str] = (),
        isometric: Sequence[str] = (),
        outputs: Sequence[str] = ("data",),
        model_outputs: Sequence[str] = ("model",),
        job_id: str = "train",
        trained: str | None = None,
        job_parameters: Mapping[str, Any] | None = None,
    ) -> TaskContext:
        """The context of `component`'s task at `party`. `data` maps an input kind to upstream
        outputs (`"reader_0.data"`); `models` names upstream models (`"scale_0.model"`), read
        from job `trained` when it is given (a predict job), from this job otherwise;
        `isometric` names FATE's `isometric_model` inputs; `model_outputs` the DSL's model (or
        cache) outputs; `job_parameters` are the job's (`computing_engine`, ...)."""
        wiring = Wiring(
            data_inputs={
                kind: [tuple(ref.split(".", 1)) for ref in refs]  # type: ignore[misc]
                for kind, refs in (data or {}).items()
            },
            model_inputs=[
                ("pipeline", ref) if trained else tuple(ref.split(".", 1))  # type: ignore[misc]
                for ref in models
            ],
            isometric_model_inputs=[tuple(ref.split(".", 1)) for ref in isometric],  # type: ignore[misc]
            data_outputs=list(outputs),
            model_outputs=list(model_outputs),
            tables={},
        )
        job_parameters = {**(job_parameters or {}), "model_id": MODEL_ID}
        if trained:
            job_parameters |= {"model_version": trained, "job_type": "predict"}
        task = TaskRef(job_id, component, 0, party.role, party.party_id)
        node = self._node(party)
        self._running(task)
        return TaskContext(
            task,
            dict(parameters),
            job_parameters,
            {role: list(ids) for role, ids in (roles or {party.role: [party.party_id]}).items()},
            wiring,
            node,
            LOG,
        )

    def put(self, party: PartyRole, ref: str, table: pa.Table, *, job_id: str = "train") -> None:
        """Make `table` the output `ref` (`"<component>.<name>"`) of an upstream task."""
        component, name = ref.split(".", 1)
        context = self.context(component, party, {}, outputs=[name], job_id=job_id)
        try:
            context.save_output_data(table, name)
        finally:
            context.close()

    def run(
        self,
        module: Component,
        component: str,
        party: PartyRole,
        params: Mapping[str, Any],
        *,
        transport: MemoryTransport | None = None,
        **wiring: Any,
    ) -> None:
        """Run one party's task of `module` with `params` over FATE's defaults, validated as
        job submission validates them."""
        parameters = merged(module.info.parameters, params)
        if module.info.validate is not None:
            parameters = module.info.validate(parameters)
        context = self.context(component, party, parameters, **wiring)
        context.drop_absent_inputs()  # as a node's worker does
        federation = context.federation
        if transport is not None:
            context.federation = transport  # type: ignore[assignment]
        try:
            module.run(context)
        finally:
            context.federation = federation
            context.close()

    def run_parties(
        self,
        module: Component,
        component: str,
        params: Mapping[PartyRole, Mapping[str, Any]],
        roles: Mapping[str, Sequence[int]],
        wire: Wire | None = None,
        **wiring: Any,
    ) -> Wire:
        """Every party's task of `module`, in threads over one in-memory wire (returned, with
        its log of what each party received)."""
        wire = wire or Wire()

        def task(party: PartyRole) -> Callable[[MemoryTransport], None]:
            def run(transport: MemoryTransport) -> None:
                # Every party is wired as the DSL says; a party without an upstream output (the
                # arbiter, which runs no Reader) runs without it, as on a node.
                self.run(
                    module,
                    component,
                    party,
                    params[party],
                    transport=transport,
                    roles=roles,
                    **wiring,
                )

            return run

        run_parties(wire, {party: task(party) for party in params})
        return wire

    # --- what a task left --------------------------------------------------------------------

    def output(
        self, party: PartyRole, component: str, name: str = "data", *, job_id: str = "train"
    ) -> pa.Table:
        context = self.context(
            "reader", party, {}, data={"data": [f"{component}.{name}"]}, job_id=job_id
        )
        try:
            (table,) = context.input_tables("data")
        finally:
            context.close()
        return table

    def has_output(self, party: PartyRole, component: str, *, job_id: str = "train") -> bool:
        with self._database(party).session() as session:
            return bool(
                tracking.list_output_data_info(
                    session,
                    job_id,
                    component_name=component,
                    role=party.role,
                    party_id=str(party.party_id),
                )
            )

    def model(
        self, party: PartyRole, component: str, *, job_id: str = "train", alias: str = "model"
    ) -> dict[str, Any] | None:
        path = model_files.model_path(
            self._node(party).data_dir,
            party.role,
            party.party_id,
            MODEL_ID,
            job_id,
            component,
            alias,
        )
        return model_files.read_model(path)

    def checkpoints(
        self, party: PartyRole, component: str, *, job_id: str = "train"
    ) -> list[tuple[int, dict[str, Any] | None]]:
        """The component's checkpoints at `party`: (step index, model), oldest step first."""
        directory = model_files.checkpoint_dir(
            self._node(party).data_dir, party.role, party.party_id, MODEL_ID, job_id, component
        )
        return [
            (index, model_files.read_model(path))
            for index, _, path in model_files.checkpoints(directory)
        ]

    def metrics(
        self, party: PartyRole, component: str, *, job_id: str = "train"
    ) -> dict[str, dict[str, tracking.Metric]]:
        with self._database(party).session() as session:
            return tracking.read_component_metrics(session, self._ref(party, component, job_id))

    def summary(
        self, party: PartyRole, component: str, *, job_id: str = "train"
    ) -> dict[str, Any] | None:
        with self._database(party).session() as session:
            return tracking.get_component_summary(session, self._ref(party, component, job_id))

    def _database(self, party: PartyRole) -> Database:
        self._node(party)
        return self._databases[party]

    @staticmethod
    def _ref(party: PartyRole, component: str, job_id: str) -> tracking.ComponentRef:
        return tracking.ComponentRef(job_id, component, party.role, str(party.party_id))
