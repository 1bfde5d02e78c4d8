"""HeteroLR's stepwise selection (FATE's `stepwise_param`, `linear/stepwise.py`), as tasks: the
model the federated search keeps is the one a plaintext search keeps, each candidate refitted
in the clear with HeteroLR's algorithm (`plaintext_lr`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.linear import hetero_lr
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.errors import InvalidArgument
from tests.components.linear import test_hetero_glm
from tests.components.linear.test_hetero_lr import ARBITER, GUEST, HOST, load_breast, plaintext_lr
from tests.components.tasks import Stores

ROLES = {"guest": [GUEST.party_id], "host": [HOST.party_id], "arbiter": [ARBITER.party_id]}


def _plaintext_lr_as_glm(
    family: str,
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    params: Any,
    batches: Any,
    initial: np.ndarray,
) -> tuple[np.ndarray, list[float], int]:
    # FATE's zeros start the intercept at the labels' log-odds (`hetero_lr.initial_weights`).
    start = initial.copy()
    start[-1] = math.log(y.sum() / (len(y) - y.sum()))
    result = plaintext_lr(x, y, params, batches, initial=start)
    return result.weights, result.losses, 0


@pytest.mark.slow
def test_stepwise_keeps_the_plaintext_searchs_model(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    breast = load_breast().head(80)
    guest, host = breast.guest[:, :3], breast.host_aligned()[:, :3]
    guest_header, host_header = breast.guest_header[:3], breast.host_header[:3]
    stores.put(
        GUEST,
        "reader_0.data",
        Dataset(np.array(breast.ids), guest, breast.labels, guest_header).to_table(),
    )
    stores.put(
        HOST, "reader_0.data", Dataset(np.array(breast.ids), host, None, host_header).to_table()
    )
    # FATE 1.11's test_hetero_stepwise_lr_conf, on fewer features and rows, with the default
    # decay that `plaintext_lr` follows.
    step_params = {
        "score_name": "AIC",
        "direction": "backward",
        "need_stepwise": True,
        "max_step": 2,
        "nvmin": 2,
    }
    params = {
        "penalty": "None",
        "tol": 0.001,
        "optimizer": "sgd",
        "batch_size": -1,
        "learning_rate": 0.15,
        "init_param": {"init_method": "zeros"},
        "max_iter": 3,
        "early_stop": "diff",
        "stepwise_param": step_params,
    }
    stores.run_parties(
        hetero_lr.HeteroLR(),
        "lr_0",
        dict.fromkeys((GUEST, HOST, ARBITER), params),
        ROLES,
        data={"train_data": ["reader_0.data"]},
    )
    # The GLMs' plaintext search, each candidate fitted as HeteroLR fits it; LR's IC (2 n loss).
    monkeypatch.setattr(test_hetero_glm, "plaintext_glm", _plaintext_lr_as_glm)
    host_mask, guest_mask, expected = test_hetero_glm.plain_stepwise(
        "lr", guest, host, breast.labels, hetero_lr.validate_parameters(params), step_params
    )
    guest_model = stores.model(GUEST, "lr_0")["param"]
    host_model = stores.model(HOST, "lr_0")["param"]
    assert guest_model["header"] == [n for n, m in zip(guest_header, guest_mask, strict=True) if m]
    assert host_model["header"] == [n for n, m in zip(host_header, host_mask, strict=True) if m]
    assert int(guest_mask.sum() + host_mask.sum()) < 6  # the search dropped a feature
    got = [
        *guest_model["weight"].values(),
        *host_model["weight"].values(),
        guest_model["intercept"],
    ]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert {
        name for name in stores.metrics(ARBITER, "lr_0")["train"] if name.startswith("stepwise_")
    }
    # The guest's training predictions are the kept model's.
    assert stores.output(GUEST, "lr_0").num_rows == 80


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"cv_param": {"need_cv": True}}, "cv_param.need_cv"),
        ({"validation_freqs": 1}, "validation_freqs"),
    ],
)
def test_stepwise_with_cross_validation_or_validation_is_refused_by_name(
    params: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        hetero_lr.validate_parameters({**params, "stepwise_param": {"need_stepwise": True}})
    assert caught.value.metadata["parameter"] == parameter
