"""PositiveUnlabeled at the guest and the host: each strategy's relabeling against FATE's rule
written out here, on a real task context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.linear.positive_unlabeled import (
    CONVERTED,
    PositiveUnlabeled,
    validate_parameters,
)
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.learning import prediction_table
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)

LABELS = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0], dtype=np.float64)
SCORES = np.array([0.95, 0.92, 0.2, 0.5, 0.85, 0.99, 0.1, 0.3, 0.6, 0.91])


def fates_rule(strategy: str, threshold: float) -> np.ndarray:
    """FATE's loops: sort by score (best first), convert unlabeled ones as the strategy says."""
    labels = LABELS.copy()
    if strategy == "probability":
        return np.where((labels == 0) & (threshold <= SCORES), 1.0, labels)
    order = sorted(range(len(labels)), key=lambda k: -SCORES[k])
    n, unlabeled = len(labels), int((labels == 0).sum())
    limit = {"proportion": int(n * threshold), "distribution": int(unlabeled / n * threshold)}
    done = 0
    for idx, k in enumerate(order):
        if strategy == "quantity":
            if done < int(threshold) and LABELS[k] == 0:
                labels[k], done = 1.0, done + 1
        elif idx < limit[strategy] and LABELS[k] == 0:
            labels[k] = 1.0
    return labels


@pytest.mark.parametrize(
    ("strategy", "threshold"),
    [("probability", 0.9), ("quantity", 2), ("proportion", 0.5), ("distribution", 10)],
)
def test_relabels_as_fate_does(stores: Stores, strategy: str, threshold: Any) -> None:
    ids = np.array([str(k) for k in range(10)])
    data = Dataset(ids, np.arange(20.0).reshape(10, 2), LABELS, ["x0", "x1"])
    stores.put(GUEST, "intersection_0.data", data.to_table())
    # The predictions in another row order: matched by id.
    order = np.arange(10)[::-1]
    stores.put(
        GUEST,
        "hetero_lr_0.data",
        prediction_table(ids[order], LABELS[order], SCORES[order], 0.5, "train"),
    )
    stores.run(
        PositiveUnlabeled(),
        "pu_0",
        GUEST,
        {"strategy": strategy, "threshold": threshold},
        data={"data": ["intersection_0.data", "hetero_lr_0.data"]},
    )
    out = Dataset.from_table(stores.output(GUEST, "pu_0"))
    expected = fates_rule(strategy, threshold)
    assert out.labels is not None
    np.testing.assert_array_equal(out.labels, expected)
    np.testing.assert_array_equal(out.features, data.features)
    converted = int((expected != LABELS).sum())
    assert converted > 0
    assert stores.summary(GUEST, "pu_0") == {CONVERTED: converted}


def test_the_host_passes_its_data_on(stores: Stores) -> None:
    data = Dataset(np.array(["a", "b"]), np.ones((2, 1)), None, ["x"])
    stores.put(HOST, "intersection_0.data", data.to_table())
    stores.run(PositiveUnlabeled(), "pu_0", HOST, {}, data={"data": ["intersection_0.data"]})
    assert stores.output(HOST, "pu_0").equals(data.to_table())


@pytest.mark.parametrize(
    "params",
    [
        {"strategy": "median"},
        {"strategy": "quantity", "threshold": 0.5},
        {"strategy": "probability", "threshold": 2},
        {"strategy": "distribution", "threshold": 0},
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        validate_parameters(params)
