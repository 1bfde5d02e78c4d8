"""ModelLoader: a model of an earlier job, each party's own part, becomes this component's
model output, or one of the component's checkpoints (`step_index`, `step_name`, else the
latest when the component left no model output), as FATE-Flow's."""

from __future__ import annotations

from typing import Any

import pytest

from fateflow_grpc.components.io.model_loader import ModelLoader, validate_parameters
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument, NotFound
from tests.components.tasks import MODEL_ID, Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)


def _save(stores: Stores, party: PartyRole, model: dict[str, Any]) -> None:
    context = stores.context("hetero_lr_0", party, {}, job_id="earlier")
    try:
        context.save_model(model)
    finally:
        context.close()


def test_each_party_loads_its_own_part_of_an_earlier_jobs_model(stores: Stores) -> None:
    parts = {
        GUEST: {"meta": {"module": "HeteroLR"}, "param": {"weight": {"x0": 0.5}, "iters": 3}},
        HOST: {"meta": {"module": "HeteroLR"}, "param": {"weight": {"x9": -1.5}, "iters": 3}},
    }
    for party, model in parts.items():
        _save(stores, party, model)
    params = {"model_version": "earlier", "component_name": "hetero_lr_0", "model_id": ""}
    for party in parts:
        stores.run(ModelLoader(), "model_loader_0", party, params, job_id="now", outputs=[])
        assert stores.model(party, "model_loader_0", job_id="now") == parts[party]
    explicit = {**params, "model_id": MODEL_ID, "model_alias": "model"}
    stores.run(ModelLoader(), "model_loader_1", GUEST, explicit, job_id="now", outputs=[])
    assert stores.model(GUEST, "model_loader_1", job_id="now") == parts[GUEST]
    with pytest.raises(NotFound, match="hetero_lr_1"):
        stores.run(
            ModelLoader(),
            "model_loader_2",
            GUEST,
            {**params, "component_name": "hetero_lr_1"},
            job_id="now",
            outputs=[],
        )


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"component_name": "hetero_lr_0"}, "model_version"),
        ({"model_version": "v"}, "component_name"),
        ({"model_version": "v", "component_name": "c", "step_index": "third"}, "step_index"),
        ({"model_version": "v", "component_name": "c", "step_name": 3}, "step_name"),
        ({"model_version": 5, "component_name": "c"}, "model_version"),
    ],
)
def test_bad_or_missing_parameters_are_refused_by_name(params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_parameters(params)
    assert caught.value.metadata["parameter"] == name


def _checkpoint(stores: Stores, component: str, step: int, model: dict[str, Any]) -> None:
    context = stores.context(component, GUEST, {}, job_id="earlier")
    try:
        context.save_checkpoint(step, "step_name", model)
    finally:
        context.close()


def test_checkpoints_are_picked_by_index_by_name_or_the_latest(stores: Stores) -> None:
    steps = {
        step: {"meta": {"module": "HeteroLR"}, "param": {"iters": step + 1}} for step in (0, 2, 4)
    }
    for step, model in steps.items():
        _checkpoint(stores, "hetero_lr_0", step, model)
    params = {"model_version": "earlier", "component_name": "hetero_lr_0"}

    def load(component: str, **extra: Any) -> dict[str, Any]:
        stores.run(ModelLoader(), component, GUEST, {**params, **extra}, job_id="now", outputs=[])
        return stores.model(GUEST, component, job_id="now")

    assert load("model_loader_0", step_index=2) == steps[2]
    assert load("model_loader_1", step_index="4") == steps[4]  # FATE-Flow's int()
    # One name for every step (FATE's): the latest step of that name.
    assert load("model_loader_2", step_name="step_name") == steps[4]
    # No model output and nothing asked for: the latest checkpoint.
    assert load("model_loader_3") == steps[4]
    with pytest.raises(NotFound, match=r"no checkpoint of hetero_lr_0 .* for step_index 3"):
        load("model_loader_4", step_index=3)
    # An alias asks for the model output, which there is none of; FATE-Flow stops at the
    # first of model_alias, step_index, step_name that is set.
    with pytest.raises(NotFound, match=r"hetero_lr_0\.model"):
        load("model_loader_5", model_alias="model", step_index=2)
    # With a model output too, it is what is loaded when nothing is asked for.
    _save(stores, GUEST, {"meta": {"module": "HeteroLR"}, "param": {"iters": 6}})
    assert load("model_loader_6")["param"]["iters"] == 6
    assert load("model_loader_7", step_index=0) == steps[0]
