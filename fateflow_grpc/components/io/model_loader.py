"""ModelLoader (FATE 1.7+'s `ModelLoader`): a model of an earlier job becomes this
component's model output, so that a component of this job can take it as its model or
isometric model input.

    {"model_id": "...", "model_version": "...", "component_name": "hetero_lr_0",
     "model_alias": "model", "step_index": null, "step_name": null}

Each party loads its own part of the model, from its own model store, under the model id and
version given (the job's own model id when `model_id` is empty, as FATE's examples leave it).
As FATE-Flow's: the first of `model_alias`, `step_index` and `step_name` that is set says what
is loaded, the component's model output of that alias or its checkpoint (ModelCheckpoint's) of
that step; with none set, the component's model output, else its latest checkpoint.
"""

from __future__ import annotations

from typing import Any

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument, NotFound

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
    if reader.raw("step_index") is not None:
        # FATE-Flow casts it with int(): "3" is step 3.
        try:
            params = {**params, "step_index": int(reader.raw("step_index"))}
        except (TypeError, ValueError):
            raise reader.error(
                "step_index", reader.raw("step_index"), "must be an integer"
            ) from None
    if reader.raw("step_name") is not None and not isinstance(reader.raw("step_name"), str):
        raise reader.error("step_name", reader.raw("step_name"), "must be a string")
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
        model_id = params.get("model_id") or None
        version, component = str(params["model_version"]), str(params["component_name"])
        alias, step_index, step_name = (
            params.get(name) for name in ("model_alias", "step_index", "step_name")
        )
        if alias is not None or (step_index is None and step_name is None):
            try:
                model = context.stored_model(model_id, version, component, alias or "model")
            except NotFound:
                if alias is not None:
                    raise
                model = self._checkpoint(context, model_id, version, component, None, None)
        elif step_index is not None:
            model = self._checkpoint(context, model_id, version, component, step_index, None)
        else:
            model = self._checkpoint(context, model_id, version, component, None, step_name)
        if not isinstance(model, dict):
            raise InvalidArgument(f"{MODULE}: the model loaded is not a model")
        context.save_model(model)

    @staticmethod
    def _checkpoint(
        context: TaskContext,
        model_id: str | None,
        version: str,
        component: str,
        step_index: int | None,
        step_name: str | None,
    ) -> dict[str, Any]:
        found = context.stored_checkpoint(model_id, version, component, step_index, step_name)
        if found is None:
            what, which = (
                ("checkpoint", f" for step_index {step_index}")
                if step_index is not None
                else ("checkpoint", f" for step_name {step_name!r}")
                if step_name is not None
                else ("model output nor checkpoint", "")
            )
            party = f"{context.task.role} {context.task.party_id}"
            raise NotFound(
                f"{MODULE}: no {what} of {component} in version {version} at {party}{which}",
                model_version=version,
            )
        index, name, model = found
        context.log.info(
            "loaded %s's checkpoint %s#%s of version %s", component, index, name, version
        )
        return model
