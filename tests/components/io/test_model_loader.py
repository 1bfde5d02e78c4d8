"""ModelLoader: a model of an earlier job, each party's own part, becomes this component's
model output; checkpoints (`step_index`, `step_name`) are refused, there being none."""

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
        ({"model_version": "v", "component_name": "c", "step_index": 3}, "step_index"),
        ({"model_version": "v", "component_name": "c", "step_name": "s"}, "step_name"),
        ({"model_version": 5, "component_name": "c"}, "model_version"),
    ],
)
def test_bad_or_missing_parameters_are_refused_by_name(params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_parameters(params)
    assert caught.value.metadata["parameter"] == name
