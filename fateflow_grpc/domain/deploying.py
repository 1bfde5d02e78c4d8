"""Deploying a trained model: FATE 1.5.1+'s `/v1/model/deploy`, as FATE-Flow 1.7 does it.

The initiator of the training job makes a new model version (a job id, as FATE does) and asks
every party of the model, itself and arbiters too, to copy its part of the trained model to
that version, with the DSL the deployed model's predict jobs run (its inference DSL). The copy
is FATE's child model: it can not be deployed again, and a predict job submitted without a DSL
runs its inference DSL. When the copy fails at a party, the initiator withdraws it from the
parties that made it, so that a failed deploy leaves no half-deployed model behind.

The inference DSL is the request's predict DSL; else the training DSL's components named in
`cpn_list`, rewired as `job/dsl/generate` does (FATE 1.7 deploys every component of a DSL v2
when the list is empty; of a DSL v1, those that need_deploy, as FATE 1.5 kept them).

`components_checkpoint` (FATE 1.7+, `{"<component>": {"step_index": n}}` or `step_name`)
deploys a component's checkpoint (ModelCheckpoint's) in place of its final model, at every
party that kept checkpoints of it (FATE's rule: a party that kept none deploys the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from fateflow_grpc.domain.catalog import ModuleCatalog
from fateflow_grpc.domain.dsl import (
    component_names,
    generate_predict_dsl,
    inference_dsl,
    parse_dsl,
)
from fateflow_grpc.domain.jobspec import dsl_version
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import (
    FailedPrecondition,
    FateFlowError,
    InvalidArgument,
    NotFound,
    RetCode,
)
from fateflow_grpc.ids import new_job_id
from fateflow_grpc.storage import model_files, model_info
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import ModelInfo

#: The roles whose parties hold a part of a model (FATE deploys to these).
MODEL_ROLES = ("guest", "host", "arbiter")


@dataclass(frozen=True)
class DeployOrder:
    """What the initiator asks one party: copy your part of the trained model to
    `child_version` with `inference_dsl`, or (`withdraw`) remove that copy again."""

    party: PartyRole
    model_id: str
    model_version: str
    child_version: str
    inference_dsl: dict[str, Any]
    withdraw: bool = False
    #: The checkpoint to deploy of a component, by component: {"step_index": n} or
    #: {"step_name": name}.
    components_checkpoint: dict[str, dict[str, Any]] = field(default_factory=dict)


class ModelDeployers(Protocol):
    """Other parties' nodes; raises the party's own error, or `FederatedError` naming the
    party when it cannot be reached."""

    def deploy_model(self, order: DeployOrder) -> None: ...


class Deploying:
    def __init__(
        self,
        party_id: int,
        data_dir: Path,
        database: Database,
        catalog: ModuleCatalog,
        parties: ModelDeployers,
    ) -> None:
        self._party_id = party_id
        self._data_dir = data_dir
        self._database = database
        self._catalog = catalog
        self._parties = parties

    def deploy(
        self,
        model_id: str,
        model_version: str,
        predict_dsl: Any,
        cpn_list: Any,
        components_checkpoint: Any = None,
    ) -> dict[str, Any]:
        """Deploy the model at every party of it; FATE's answer: the deployed model's id and
        version, and each party's retcode and message. Raises when a party could not deploy
        its part, naming it, after withdrawing the parts deployed."""
        trained = self._initiators_part(model_id, model_version)
        dsl = self._inference_dsl(trained, predict_dsl, cpn_list)
        checkpoints = _components_checkpoint(components_checkpoint, trained.f_dsl)
        child = new_job_id()
        parties = [
            PartyRole(role, int(party_id))
            for role, party_ids in trained.f_roles.items()
            if role in MODEL_ROLES
            for party_id in party_ids
        ]
        deployed: list[PartyRole] = []
        for party in parties:
            order = DeployOrder(party, model_id, model_version, child, dsl, False, checkpoints)
            try:
                self._send(order)
            except FateFlowError as error:
                problems = [f"{party.role} {party.party_id}: {error.message}"]
                for done in deployed:
                    problems += self._withdraw(replace(order, party=done, withdraw=True))
                raise FailedPrecondition(
                    f"model {model_id} version {model_version} was not deployed: "
                    + "; ".join(problems),
                    retcode=RetCode.PARAMETER_ERROR,
                    model_id=model_id,
                    model_version=model_version,
                ) from error
            deployed.append(party)
        answer: dict[str, Any] = {"model_id": model_id, "model_version": child, "detail": {}}
        for party in parties:
            role, party_id = party.role, str(party.party_id)
            answer.setdefault(role, {})[party_id] = 0
            answer["detail"].setdefault(role, {})[party_id] = {
                "retcode": 0,
                "retmsg": f"deploy model of role {role} {party_id} success",
            }
        return answer

    def deploy_here(self, order: DeployOrder) -> None:
        """Copy this party's part of the trained model to the deployed version (or remove
        that copy); the copy is all there, files and info row, or not at all."""
        if order.party.party_id != self._party_id:
            raise InvalidArgument(
                f"this node is party {self._party_id}, not {order.party.party_id}",
                party_id=order.party.party_id,
            )
        role, party_id = order.party.role, order.party.party_id
        with self._database.session() as session:
            source = model_info.get_party_model(
                session,
                model_info.ModelKey(order.model_id, order.model_version, role, str(party_id)),
            )
        target = model_files.version_dir(
            self._data_dir, role, party_id, order.model_id, order.child_version
        )
        child_key = model_info.ModelKey(order.model_id, order.child_version, role, str(party_id))
        if order.withdraw:
            with self._database.session() as session:
                child = model_info.get_model_info(session, child_key)
                if child is not None and _parent_of(child) == (order.model_id, order.model_version):
                    model_info.delete_model_info(session, child_key)
                    model_files.remove(target)
            return
        _check_trained(source)
        self._check_dsl(order.inference_dsl, dsl_version(source.f_runtime_conf))
        values = model_info.info_to_dict(source)
        for stamp in ("f_create_time", "f_update_time"):
            del values[stamp]  # the copy's own
        copy = ModelInfo(
            **{
                **values,
                "f_model_version": order.child_version,
                "f_parent": False,
                "f_parent_info": {
                    "parent_model_id": order.model_id,
                    "parent_model_version": order.model_version,
                },
                "f_inference_dsl": order.inference_dsl,
            }
        )
        source_dir = model_files.version_dir(
            self._data_dir, role, party_id, order.model_id, order.model_version
        )
        with model_files.copied(source_dir, self._data_dir) as staging:
            for component, step in order.components_checkpoint.items():
                self._checkpoint_into(staging, source, component, step)
            with (
                model_files.installing(staging, target, replace=False),
                self._database.session() as session,
            ):
                model_info.save_model_info(session, copy)

    def _checkpoint_into(
        self, staging: Path, source: ModelInfo, component: str, step: dict[str, Any]
    ) -> None:
        """Put the checkpoint `step` of `component` in the copy in place of its model output
        (the DSL's first model output's alias), when this party kept checkpoints of it."""
        found = model_files.checkpoints(
            model_files.checkpoint_dir(
                self._data_dir,
                source.f_role,
                int(source.f_party_id),
                source.f_model_id,
                source.f_model_version,
                component,
            )
        )
        if not found:
            return
        # A step index crosses between parties as a JSON number: a float.
        index = None if step.get("step_index") is None else int(step["step_index"])
        name = step.get("step_name")
        chosen = [c for c in found if (c[0] == index if index is not None else c[1] == name)]
        if not chosen:
            which = f"step_index {index}" if index is not None else f"step_name {name!r}"
            raise NotFound(
                f"no checkpoint of {component} for {which} at {source.f_role} "
                f"{source.f_party_id}: it kept steps " + ", ".join(f"{i}#{n}" for i, n, _ in found),
                component_name=component,
            )
        model = model_files.read_model(chosen[-1][2])
        aliases = source.f_dsl["components"][component].get("output", {}).get("model") or ["model"]
        model_files.write_model(staging / component / f"{aliases[0]}.json", model or {})

    def predict_dsl(
        self, model_id: str, model_version: str, role: str, party_id: int | None
    ) -> tuple[ModelInfo, dict[str, Any]]:
        """A guest's or host's part of a model at this party, and the DSL its predict jobs
        run: the deployed one, else the one FATE keeps with a trained model (its components
        that need_deploy)."""
        with self._database.session() as session:
            rows = model_info.query_model_info(
                session,
                model_id=model_id,
                model_version=model_version,
                role=role or None,
                party_id=str(party_id if party_id is not None else self._party_id),
            )
        part = next((row for row in rows if row.f_role in ("guest", "host")), None)
        if part is None:
            raise NotFound(
                f"No model found: party {self._party_id} has no guest or host part of model "
                f"{model_id} version {model_version}"
                + (f" as {role}" if role else "")
                + "; ask a party that is a guest or host of it",
                model_id=model_id,
                model_version=model_version,
            )
        if part.f_inference_dsl:
            return part, dict(part.f_inference_dsl)
        version = dsl_version(part.f_runtime_conf)
        return part, inference_dsl(dict(part.f_dsl), self._catalog, version)

    # --- the initiator's side -------------------------------------------------------------

    def _initiators_part(self, model_id: str, model_version: str) -> ModelInfo:
        with self._database.session() as session:
            rows = model_info.query_model_info(
                session, model_id=model_id, model_version=model_version
            )
        if not rows:
            raise NotFound(
                f"Deploy model failed. Model {model_id} {model_version} not found",
                model_id=model_id,
                model_version=model_version,
            )
        me = str(self._party_id)
        for row in rows:
            initiator = (row.f_initiator_role, row.f_initiator_party_id)
            if row.f_party_id == me and (row.f_role, row.f_party_id) == initiator:
                _check_trained(row)
                return row
        raise NotFound(
            f"Deploy model failed: party {me} holds model {model_id} {model_version}, but its "
            f"training job's initiator is {rows[0].f_initiator_role} "
            f"{rows[0].f_initiator_party_id}: deploy it there",
            model_id=model_id,
            model_version=model_version,
        )

    def _inference_dsl(self, trained: ModelInfo, predict_dsl: Any, cpn_list: Any) -> dict[str, Any]:
        version = dsl_version(trained.f_runtime_conf)
        if predict_dsl not in (None, "", {}):
            dsl = _json_object(predict_dsl, "predict_dsl")
            self._check_dsl(dsl, version)
            return dsl
        train_dsl = trained.f_dsl
        components = component_names(cpn_list, "cpn_list") if cpn_list else []
        if not components and version == 1:
            return inference_dsl(train_dsl, self._catalog, 1)
        return generate_predict_dsl(train_dsl, components or list(train_dsl["components"]), version)

    def _check_dsl(self, dsl: dict[str, Any], version: int) -> None:
        parse_dsl(dsl, self._catalog, version=version, predict=True)

    def _send(self, order: DeployOrder) -> None:
        if order.party.party_id == self._party_id:
            self.deploy_here(order)
        else:
            self._parties.deploy_model(order)

    def _withdraw(self, order: DeployOrder) -> list[str]:
        """Withdraw a deployed part; what went wrong, for the deploy's error."""
        try:
            self._send(order)
        except FateFlowError as error:
            return [
                f"the copy at {order.party.role} {order.party.party_id} could not be withdrawn "
                f"({error.message}): delete model version {order.child_version} there"
            ]
        return []


def _components_checkpoint(value: Any, train_dsl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """FATE's `components_checkpoint`, each step as {"step_index": int} or {"step_name": str}
    (the index when both are given, as FATE's); components of the training DSL only."""
    if value in (None, "", {}):
        return {}
    checkpoints = _json_object(value, "components_checkpoint")
    steps = {}
    for component, step in checkpoints.items():
        if component not in train_dsl.get("components", {}):
            raise InvalidArgument(
                f"components_checkpoint names {component}, which is not a component of the "
                "training DSL",
                field="components_checkpoint",
                value=component,
            )
        if not isinstance(step, dict):
            raise InvalidArgument(
                f"components_checkpoint.{component} must be an object with step_index or "
                f"step_name, not {step!r}",
                field="components_checkpoint",
            )
        if step.get("step_index") is not None:
            try:
                steps[component] = {"step_index": int(step["step_index"])}
            except (TypeError, ValueError):
                raise InvalidArgument(
                    f"components_checkpoint.{component}.step_index must be an integer, not "
                    f"{step['step_index']!r}",
                    field="components_checkpoint",
                ) from None
        elif isinstance(step.get("step_name"), str):
            steps[component] = {"step_name": step["step_name"]}
        else:
            raise InvalidArgument(
                f"components_checkpoint.{component} needs step_index or step_name",
                field="components_checkpoint",
            )
    return steps


def _parent_of(info: ModelInfo) -> tuple[str, str]:
    parent = info.f_parent_info or {}
    return str(parent.get("parent_model_id")), str(parent.get("parent_model_version"))


def _check_trained(info: ModelInfo) -> None:
    if not info.f_parent:
        parent_version = (info.f_parent_info or {}).get("parent_model_version")
        raise FailedPrecondition(
            f"model {info.f_model_id} version {info.f_model_version} is a deployed copy and "
            f"can not be deployed again: deploy its trained model, version {parent_version}",
            model_id=info.f_model_id,
            model_version=info.f_model_version,
        )


def _json_object(value: Any, name: str) -> dict[str, Any]:
    """An object given as itself or as its JSON text (FATE's clients send either)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise InvalidArgument(f"{name} is not JSON: {error}", field=name) from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{name} must be a JSON object", field=name)
    return value


def predict_conf_template(
    inference: dict[str, Any], train_conf: dict[str, Any], model_id: str, model_version: str
) -> dict[str, Any]:
    """A predict conf for a model (`model/get/predict/conf`): the training conf's roles,
    initiator and job parameters, and a table to fill in for each Reader (conf v2) or as the
    `eval_data` (conf v1) of each guest and host, as FATE's template names them."""
    version = dsl_version(train_conf)
    roles = dict(train_conf.get("role") or {})
    parameters = dict(train_conf.get("job_parameters") or {})
    predict = {"job_type": "predict", "model_id": model_id, "model_version": model_version}
    conf: dict[str, Any] = {
        "dsl_version": version,
        "initiator": train_conf.get("initiator"),
        "role": roles,
    }
    if version == 1:
        conf["job_parameters"] = {**parameters, **predict}
        conf["role_parameters"] = {
            role: {"args": {"data": {"eval_data": [_to_fill(i) for i in range(len(ids))]}}}
            for role, ids in roles.items()
            if role in ("guest", "host")
        }
        return conf
    conf["job_parameters"] = {**parameters, "common": {**parameters.get("common", {}), **predict}}
    readers = [
        name
        for name, body in inference.get("components", {}).items()
        if body.get("module") == "Reader"
    ]
    tables = {name: {"table": _to_fill(i)} for i, name in enumerate(readers)}
    conf["component_parameters"] = {
        "role": {
            role: {str(i): tables for i in range(len(ids))}
            for role, ids in roles.items()
            if role in ("guest", "host")
        }
    }
    return conf


def _to_fill(index: int) -> dict[str, str]:
    return {"name": f"name_to_be_filled_{index}", "namespace": f"namespace_to_be_filled_{index}"}
