"""What a running component gets from its node: its parameters, the federation with the other
parties' tasks, its input tables and models, and where to put its outputs and metrics.

A component never opens a file, a table or a connection itself: it asks its `TaskContext`.
Data between components are Arrow tables whose first column is the id (FATE's key); a dataset
(what DataTransform makes) adds the label column, if any, a sample weight column, if any (what
SampleWeight adds: FATE's instances carry a weight), and float64 feature columns, and records
which is which in the schema's metadata (`Dataset`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy.orm import Session

from fateflow_grpc.components.sdk.computing import computing_of
from fateflow_grpc.domain.participant import NodeAccess, Wiring
from fateflow_grpc.domain.parties import PartyRole, TaskRef
from fateflow_grpc.errors import FailedPrecondition, InvalidArgument, NotFound
from fateflow_grpc.federation.client import Federation
from fateflow_grpc.status import TaskStatus
from fateflow_grpc.storage import jobs, model_files, model_info, tasks, tracking
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import ModelInfo, OutputDataInfo
from fateflow_grpc.storage.table_store import TableDescription, TableStore

#: Schema metadata keys of a dataset (`sample_weight` is FATE's schema key for the weight,
#: `match_id_name` its key for the match id).
_SID, _LABEL, _HEADER, _WEIGHT = b"sid", b"label_name", b"header", b"sample_weight"
_MATCH_ID = b"match_id_name"
#: Schema metadata key of a table read from storage: the delimiter its upload split lines on,
#: which DataTransform needs to read FATE's sparse and tag formats back from the columns.
DELIMITER_KEY = b"delimiter"
#: A conf table's schema meta (an upload's `meta`), as JSON, when it has one.
META_KEY = b"meta"
#: Partitions of a component's output table; they are small next to uploads.
OUTPUT_PARTITIONS = 4


@dataclass(frozen=True)
class Dataset:
    """A dataset as numpy: ids, features (n x d), labels (or None), the feature names, the
    sample weights (or None: every sample weighs 1), and the match ids (or None: FATE's
    `with_match_id`, the id parties match rows on, where `ids` stay the table's keys).

    Components that change some of it keep the rest with `dataclasses.replace`, so a weight or
    a label set upstream travels on.
    """

    ids: np.ndarray[Any, Any]
    features: np.ndarray[Any, np.dtype[np.float64]]
    labels: np.ndarray[Any, np.dtype[np.float64]] | None
    header: list[str]
    sid: str = "id"
    label_name: str = "y"
    weights: np.ndarray[Any, np.dtype[np.float64]] | None = None
    weight_name: str = "weight"
    match_ids: np.ndarray[Any, Any] | None = None
    match_id_name: str = "match_id"

    def to_table(self) -> pa.Table:
        columns: list[tuple[str, pa.Array]] = [(self.sid, pa.array(self.ids, pa.string()))]
        metadata = {_SID: self.sid, _HEADER: json.dumps(self.header)}
        if self.match_ids is not None:
            columns.append((self.match_id_name, pa.array(self.match_ids, pa.string())))
            metadata[_MATCH_ID] = self.match_id_name
        if self.labels is not None:
            columns.append((self.label_name, pa.array(self.labels, pa.float64())))
            metadata[_LABEL] = self.label_name
        if self.weights is not None:
            columns.append((self.weight_name, pa.array(self.weights, pa.float64())))
            metadata[_WEIGHT] = self.weight_name
        columns += [
            (name, pa.array(self.features[:, index], pa.float64()))
            for index, name in enumerate(self.header)
        ]
        names = [name for name, _ in columns]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"a dataset's columns must have distinct names, not {names}")
        table = pa.table(dict(columns))
        return table.replace_schema_metadata(metadata)

    @classmethod
    def from_table(cls, table: pa.Table) -> Dataset:
        metadata = table.schema.metadata or {}
        if _HEADER not in metadata:
            raise InvalidArgument(
                "this input is not a dataset: feed it through DataTransform (DataIO) first"
            )
        header = json.loads(metadata[_HEADER])
        sid = metadata.get(_SID, b"id").decode()
        label = metadata.get(_LABEL)
        weight = metadata.get(_WEIGHT)
        match_id = metadata.get(_MATCH_ID)
        features = (
            np.column_stack([table.column(name).to_numpy() for name in header])
            if header
            else np.zeros((table.num_rows, 0))
        )
        return cls(
            ids=np.asarray(table.column(sid).to_pylist(), dtype=object),
            features=features.astype(np.float64, copy=False),
            labels=table.column(label.decode()).to_numpy() if label else None,
            header=header,
            sid=sid,
            label_name=label.decode() if label else "y",
            weights=table.column(weight.decode()).to_numpy() if weight else None,
            weight_name=weight.decode() if weight else "weight",
            match_ids=np.asarray(table.column(match_id.decode()).to_pylist(), dtype=object)
            if match_id
            else None,
            match_id_name=match_id.decode() if match_id else "match_id",
        )

    def take(self, rows: np.ndarray[Any, Any]) -> Dataset:
        return dataclasses.replace(
            self,
            ids=self.ids[rows],
            features=self.features[rows],
            labels=None if self.labels is None else self.labels[rows],
            weights=None if self.weights is None else self.weights[rows],
            match_ids=None if self.match_ids is None else self.match_ids[rows],
        )


class TaskContext:
    def __init__(
        self,
        task: TaskRef,
        parameters: dict[str, Any],
        job_parameters: dict[str, Any],
        roles: dict[str, list[int]],
        wiring: Wiring,
        node: NodeAccess,
        log: logging.Logger,
    ) -> None:
        self.task = task
        self.parameters = parameters
        self.job_parameters = job_parameters
        self.roles = roles
        self.wiring = wiring
        #: The data input kinds the DSL gives the component, whether or not this party has
        #: them (an arbiter has none, yet `train_data` there still means a training run).
        self.declared_inputs = frozenset(wiring.data_inputs)
        self.log = log
        self._node = node
        self._database = Database(node.database_url)
        self._table_database = (
            self._database
            if node.table_database_url == node.database_url
            else Database(node.table_database_url)
        )
        self.tables = TableStore(node.table_dir, self._table_database)
        #: Where the component's heavy loops run: the job's `computing_engine`.
        self.computing = computing_of(job_parameters, node.spark_master, node.spark_conf)
        self.federation = Federation(
            task.job_id,
            f"{task.task_id}_{task.task_version}",
            PartyRole(task.role, task.party_id),
            roles,
            node.proxy_address,
        )

    def close(self) -> None:
        self.federation.close()
        self._database.dispose()
        self._table_database.dispose()

    @property
    def local(self) -> PartyRole:
        return PartyRole(self.task.role, self.task.party_id)

    def parties(self, role: str) -> list[PartyRole]:
        return [PartyRole(role, party_id) for party_id in self.roles.get(role, [])]

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A unit of work that writes this task's results, only while this version of the task
        runs here: a task that was stopped, or outlived its node, cannot write over the
        results of the version that replaced it."""
        task = self.task
        key = tasks.TaskKey(
            task.job_id, task.task_id, task.task_version, task.role, str(task.party_id)
        )
        with self._database.session() as session:
            row = tasks.get_task(session, key, for_update=True)
            if row is None or row.f_party_status != TaskStatus.RUNNING:
                raise FailedPrecondition(
                    f"task {task.task_id} version {task.task_version} no longer runs at "
                    f"{task.role} {task.party_id}: its results are not kept",
                    job_id=task.job_id,
                )
            yield session

    def _check_still_running(self) -> None:
        """Before a table or a file is written: the check `_writing` makes again with its row."""
        with self._writing():
            return

    @property
    def _ref(self) -> tracking.ComponentRef:
        return tracking.ComponentRef(
            self.task.job_id, self.task.component_name, self.task.role, str(self.task.party_id)
        )

    # --- inputs -----------------------------------------------------------------------------

    def input_tables(self, kind: str = "data") -> list[pa.Table]:
        """The tables feeding input `kind`, in the DSL's order."""
        return [
            self.input_table(source, name) for source, name in self.wiring.data_inputs.get(kind, [])
        ]

    def input_kinds(self) -> list[str]:
        return list(self.wiring.data_inputs)

    def conf_table(self, key: str) -> pa.Table:
        """A table the conf names for this party (the Reader's `table`, v1's `args`)."""
        if key not in self.wiring.tables:
            raise InvalidArgument(
                f"{self.task.component_name}: the conf names no {key} table for "
                f"{self.task.role} {self.task.party_id}"
            )
        name, namespace = self.wiring.tables[key]
        table = self.computing.read_table(self.tables, namespace, name)
        meta = self.tables.describe(namespace, name)
        delimiter = meta.f_id_delimiter if meta is not None else ","
        metadata = {**(table.schema.metadata or {}), DELIMITER_KEY: delimiter}
        if meta is not None and meta.f_schema.get("meta"):
            metadata[META_KEY] = json.dumps(meta.f_schema["meta"])
        return table.replace_schema_metadata(metadata)

    def drop_absent_inputs(self) -> list[str]:
        """Leave out of the wiring the data inputs that no upstream component left at this
        party (one that wrote no such output here, as a host's HeteroLR writes no predictions,
        or that did not run here), as FATE gives a component None for them. Returns them as
        `<component>.<output>`."""
        absent = [
            (source, name)
            for refs in self.wiring.data_inputs.values()
            for source, name in refs
            if source != "args" and self._output_row(source, name) is None
        ]
        if absent:
            self.wiring = self.wiring.without(absent)
        return [f"{source}.{name}" for source, name in dict.fromkeys(absent)]

    def input_table(self, source: str, name: str) -> pa.Table:
        """One input: output `name` of component `source` here (`args`: a conf table).

        Raises:
            NotFound: `source` left no such output at this party (FATE: no input here).
        """
        if source == "args":
            return self.conf_table(name)
        row = self._output_row(source, name)
        if row is None:
            raise NotFound(
                f"{self.task.component_name}: {source} left no output {name!r} at "
                f"{self.task.role} {self.task.party_id}",
                component_name=source,
            )
        return self.tables.read_table(row.f_table_namespace, row.f_table_name)

    def _output_row(self, source: str, name: str) -> OutputDataInfo | None:
        """The newest record of `source`'s data output `name` at this party, if any."""
        with self._database.session() as session:
            rows = tracking.list_output_data_info(
                session,
                self.task.job_id,
                component_name=source,
                role=self.task.role,
                party_id=str(self.task.party_id),
            )
        found = [row for row in rows if row.f_data_name == name]
        return max(found, key=lambda row: row.f_task_version) if found else None

    def input_models(self) -> dict[str, dict[str, Any]]:
        """Models feeding this component, by `<component>.<alias>`: an upstream component's
        of this job, or, in a predict job, the training job's (`pipeline.<component>.<alias>`)."""
        models = {}
        for source, alias in self.wiring.model_inputs:
            if source == "pipeline":
                component, alias = alias.split(".", 1)
                version = str(self.job_parameters["model_version"])
            else:
                component, version = source, self.task.job_id
            models[f"{component}.{alias}"] = self._read_model(version, component, alias)
        return models

    def isometric_models(self) -> dict[str, dict[str, Any]]:
        """Models feeding this component as FATE's `isometric_model` (upstream components' of
        this job), by `<component>.<alias>`."""
        return {
            f"{source}.{alias}": self._read_model(self.task.job_id, source, alias)
            for source, alias in self.wiring.isometric_model_inputs
        }

    def job_model(self, job_id: str, component: str, alias: str) -> dict[str, Any]:
        """Model output `alias` of `component` in another job of these parties, at this party
        (FATE-Flow's CacheLoader loads an Intersection cache so)."""
        return self._read_model(job_id, component, alias)

    # --- outputs ----------------------------------------------------------------------------

    def save_output_data(self, table: pa.Table, name: str | None = None) -> None:
        """Write the component's data output `name` (the DSL's first by default)."""
        name = name or (self.wiring.data_outputs[0] if self.wiring.data_outputs else "data")
        task = self.task
        namespace = f"output_data_{task.task_id}_{task.task_version}"
        table_name = f"{task.role}_{task.party_id}_{name}"
        self._check_still_running()
        self.tables.write_table(
            TableDescription(
                namespace=namespace,
                name=table_name,
                schema={"sid": table.column_names[0], "header": ",".join(table.column_names[1:])},
                partitions=OUTPUT_PARTITIONS,
            ),
            table,
            replace=True,
        )
        with self._writing() as session:
            tracking.save_output_data_info(
                session,
                OutputDataInfo(
                    f_job_id=task.job_id,
                    f_component_name=task.component_name,
                    f_task_id=task.task_id,
                    f_task_version=task.task_version,
                    f_data_name=name,
                    f_role=task.role,
                    f_party_id=str(task.party_id),
                    f_table_name=table_name,
                    f_table_namespace=namespace,
                ),
            )

    def save_model(self, model: dict[str, Any], alias: str | None = None) -> None:
        """Keep the component's model output under (model id, model version) for this party."""
        alias = alias or (self.wiring.model_outputs[0] if self.wiring.model_outputs else "model")
        path = self._model_path(self.task.job_id, self.task.component_name, alias)
        self._check_still_running()
        model_files.write_model(path, model)
        # The whole version, every component's part so far: FATE's f_size.
        size = sum(file.stat().st_size for file in path.parent.parent.rglob("*.json"))
        task = self.task
        with self._writing() as session:
            # The job's DSL and conf go with the model (into its archive), as FATE's Pipeline.
            job = jobs.get_job(session, jobs.JobKey(task.job_id, task.role, str(task.party_id)))
            model_info.save_model_info(
                session,
                ModelInfo(
                    f_model_id=str(self.job_parameters.get("model_id", "")),
                    f_model_version=task.job_id,
                    f_role=task.role,
                    f_party_id=str(task.party_id),
                    f_job_id=task.job_id,
                    f_roles=self.roles,
                    f_initiator_role=job.f_initiator_role if job else "",
                    f_initiator_party_id=job.f_initiator_party_id if job else "",
                    f_dsl=job.f_dsl if job else {},
                    f_runtime_conf=job.f_runtime_conf if job else {},
                    f_train_runtime_conf=job.f_train_runtime_conf if job else {},
                    f_size=size,
                ),
            )

    def save_checkpoint(self, step_index: int, step_name: str, model: dict[str, Any]) -> None:
        """Keep `model` as the component's checkpoint at that step (FATE's ModelCheckpoint)."""
        directory = self._checkpoint_dir(self.task.job_id, self.task.component_name)
        self._check_still_running()
        model_files.write_model(
            model_files.checkpoint_path(directory, step_index, step_name), model
        )

    def stored_checkpoint(
        self,
        model_id: str | None,
        version: str,
        component: str,
        step_index: int | None = None,
        step_name: str | None = None,
    ) -> tuple[int, str, dict[str, Any]] | None:
        """This party's checkpoint of `component` in a model of an earlier job (ModelLoader's),
        as (step index, step name, model): the latest of those with `step_index` and
        `step_name` (each when given); None when there is none such."""
        found = model_files.checkpoints(self._checkpoint_dir(version, component, model_id))
        if step_index is not None:
            found = [c for c in found if c[0] == step_index]
        if step_name is not None:
            found = [c for c in found if c[1] == step_name]
        if not found:
            return None
        index, name, path = found[-1]
        model = model_files.read_model(path)
        return None if model is None else (index, name, model)

    def _checkpoint_dir(self, version: str, component: str, model_id: str | None = None) -> Path:
        return model_files.checkpoint_dir(
            self._node.data_dir,
            self.task.role,
            self.task.party_id,
            model_id if model_id is not None else str(self.job_parameters.get("model_id", "")),
            version,
            component,
        )

    def stored_model(
        self, model_id: str | None, version: str, component: str, alias: str
    ) -> dict[str, Any]:
        """This party's part of a model of an earlier job (ModelLoader's): under `model_id`,
        or this job's model id when None."""
        return self._read_model(version, component, alias, model_id)

    def _read_model(
        self, version: str, component: str, alias: str, model_id: str | None = None
    ) -> dict[str, Any]:
        model = model_files.read_model(self._model_path(version, component, alias, model_id))
        if model is None:
            raise NotFound(
                f"{self.task.component_name}: no model {component}.{alias} of version {version} "
                f"at {self.task.role} {self.task.party_id}",
                model_version=version,
            )
        return model

    def _model_path(
        self, version: str, component: str, alias: str, model_id: str | None = None
    ) -> Path:
        return model_files.model_path(
            self._node.data_dir,
            self.task.role,
            self.task.party_id,
            model_id if model_id is not None else str(self.job_parameters.get("model_id", "")),
            version,
            component,
            alias,
        )

    # --- tracking ---------------------------------------------------------------------------

    def log_metric(
        self, namespace: str, name: str, points: Sequence[tuple[Any, Any]], meta: dict[str, Any]
    ) -> None:
        with self._writing() as session:
            tracking.save_metric_data(
                session,
                self._ref,
                task_id=self.task.task_id,
                task_version=self.task.task_version,
                namespace=namespace,
                name=name,
                points=points,
            )
            tracking.save_metric_meta(
                session,
                self._ref,
                task_id=self.task.task_id,
                task_version=self.task.task_version,
                namespace=namespace,
                name=name,
                meta=meta,
            )

    def save_summary(self, summary: dict[str, Any]) -> None:
        with self._writing() as session:
            tracking.save_component_summary(
                session,
                self._ref,
                task_id=self.task.task_id,
                task_version=self.task.task_version,
                summary=summary,
            )


@contextmanager
def task_context(
    task: TaskRef,
    parameters: dict[str, Any],
    job_parameters: dict[str, Any],
    roles: dict[str, list[int]],
    wiring: Wiring,
    node: NodeAccess,
    log: logging.Logger,
) -> Iterator[TaskContext]:
    context = TaskContext(task, parameters, job_parameters, roles, wiring, node, log)
    try:
        yield context
    finally:
        context.close()
