"""ModelLoader (FATE 1.7+'s `ModelLoader`): a model of an earlier job becomes this
component's model output, so that a component of this job can take it as its model or
isometric model input.

    {"model_id": "...", "model_version": "...", "component_name": "hetero_lr_0",
     "model_alias": "model", "step_index": null, "step_name": null}

Each party loads its own part of the model, from its own model store, under the model id and
version given (the job's own model id when `model_id` is empty, as FATE's examples leave it).
FATE's `step_index` and `step_name` pick a checkpoint of the model (ModelCheckpoint's): we keep
no checkpoints, so they are refused switched on.
"""

from __future__ import annotations

from typing import Any

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "ModelLoader"
#: FATE 1.7+'s `ModelLoaderParam` defaults.
DEFAULTS: dict[str, Any] = {
    "model_id": None,
    "model_version": None,
    "component_name": None,
    "model_alias": None,
    "step_index": None,
    "step_name": None,
}


def validate_parameters(params: dict[str, Any]) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    for name in ("model_id", "model_version", "component_name", "model_alias"):
        value = reader.raw(name)
        if value is not None and not isinstance(value, str):
            raise reader.error(name, value, "must be a string")
    if not reader.raw("model_version"):
        raise reader.error("model_version", reader.raw("model_version"), "must name the version")
    if not reader.raw("component_name"):
        raise reader.error(
            "component_name", reader.raw("component_name"), "must name the model's component"
        )
    reader.only("step_index", None, "there are no checkpoints to pick: ModelCheckpoint is off")
    reader.only("step_name", None, "there are no checkpoints to pick: ModelCheckpoint is off")
    return params


class ModelLoader:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        validate=validate_parameters,
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        model = context.stored_model(
            params.get("model_id") or None,
            str(params["model_version"]),
            str(params["component_name"]),
            params.get("model_alias") or "model",
        )
        if not isinstance(model, dict):
            raise InvalidArgument(f"{MODULE}: the model loaded is not a model")
        context.log.info(
            "loaded %s's model of version %s", params["component_name"], params["model_version"]
        )
        context.save_model(model)
