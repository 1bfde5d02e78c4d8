"""FeatureScale against scikit-learn's scalers and numpy on the same data, and as a task: its
model, metric and summary, and a predict job that applies the trained scaler unchanged."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from fateflow_grpc.components.feature import scale
from fateflow_grpc.components.feature.scale import FeatureScale
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast, small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)


def scaled(data: Dataset, **params: Any) -> np.ndarray:
    settings = scale.validate_parameters(params)
    return scale.fit(data, settings).transform(data).features


def test_min_max_is_sklearns() -> None:
    data = breast("breast_hetero_guest")
    expected = MinMaxScaler().fit_transform(data.features)
    assert np.allclose(scaled(data, method="min_max_scale"), expected, rtol=0, atol=1e-12)


def test_standard_is_sklearns() -> None:
    data = breast("breast_hetero_host")
    expected = StandardScaler().fit_transform(data.features)
    assert np.allclose(scaled(data, method="standard_scale"), expected, rtol=0, atol=1e-12)
    without_mean = StandardScaler(with_mean=False).fit_transform(data.features)
    assert np.allclose(scaled(data, method="standard_scale", with_mean=False), without_mean)
    assert np.array_equal(
        scaled(data, method="standard_scale", with_mean=False, with_std=False), data.features
    )


def test_caps_clip_each_column_before_scaling() -> None:
    data = breast("breast_hetero_guest")
    upper = [1, 2, 1, 1, 0.5, 1, 2, 2, 1, 1]  # FATE's example: one cap per feature
    clipped = np.minimum(data.features, upper)
    expected = MinMaxScaler().fit_transform(clipped)
    got = scaled(data, method="min_max_scale", feat_upper=upper)
    assert np.allclose(got, expected, atol=1e-12)
    # The standard scale of clipped values uses the clipped mean and std.
    floor = -0.5
    clipped = np.maximum(data.features, floor)
    got = scaled(data, method="standard_scale", feat_lower=floor)
    assert np.allclose(got, StandardScaler().fit_transform(clipped), atol=1e-12)


def test_cap_mode_clips_at_the_quantiles_of_rank_ceil_qn() -> None:
    data = breast("breast_hetero_guest")
    n = len(data.ids)
    ordered = np.sort(data.features, axis=0)
    low, high = ordered[math.ceil(0.1 * n) - 1], ordered[math.ceil(0.9 * n) - 1]
    expected = (np.clip(data.features, low, high) - low) / (high - low)
    got = scaled(data, method="min_max_scale", mode="cap", feat_lower=0.1, feat_upper=0.9)
    assert np.allclose(got, expected, atol=1e-12)
    # Default caps are 0 and 1: the min and the max, a plain min-max scale.
    assert np.allclose(
        scaled(data, method="min_max_scale", mode="cap"),
        MinMaxScaler().fit_transform(data.features),
        atol=1e-12,
    )


def test_columns_are_chosen_as_fate_chooses_them() -> None:
    data = small([[0, 10, 5], [2, 20, 15], [4, 30, 25]], header=["a", "b", "c"])
    # Indexes and names together; a name this party lacks is ignored (common parameters).
    got = scaled(data, method="min_max_scale", scale_col_indexes=[0], scale_names=["c", "zz"])
    assert np.array_equal(got, [[0, 10, 0], [0.5, 20, 0.5], [1, 30, 1]])
    # -1 scales every column, and then scale_names is ignored, as in FATE.
    got = scaled(data, method="min_max_scale", scale_names=["a"])
    assert np.array_equal(got[:, 1], [0, 0.5, 1])
    with pytest.raises(InvalidArgument, match="scale_col_indexes names column 3"):
        scaled(data, method="min_max_scale", scale_col_indexes=[3])


def test_a_constant_column_and_missing_values() -> None:
    data = small([[1, np.nan], [1, 2], [1, 4]])
    got = scaled(data, method="min_max_scale")
    assert np.array_equal(got[:, 0], [0, 0, 0])  # range 0 counts as 1
    assert np.isnan(got[0, 1]) and np.array_equal(got[1:, 1], [0, 1])
    got = scaled(data, method="standard_scale")
    assert np.array_equal(got[:, 0], [0, 0, 0])  # std 0 counts as 1
    assert np.allclose(got[1:, 1], [-1, 1])


def test_no_method_leaves_the_data_as_it_is() -> None:
    data = breast("breast_hetero_guest")
    assert np.array_equal(scaled(data), data.features)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"method": "max_abs"}, "method must be one of min_max_scale, standard_scale"),
        ({"mode": "clip"}, "mode must be one of normal, cap"),
        ({"scale_col_indexes": 3}, "scale_col_indexes must be -1 or a list"),
        ({"scale_names": "x0"}, "scale_names must be a list"),
        ({"mode": "cap", "feat_upper": 2}, "feat_upper must be at most 1"),
        ({"mode": "cap", "feat_upper": [0.5]}, r"one number \(a quantile\) in cap mode"),
        ({"mode": "cap", "feat_upper": 0.2, "feat_lower": 0.5}, "must not be below feat_lower"),
        ({"with_mean": "yes"}, "with_mean must be true or false"),
        ({"area": "all"}, "FeatureScale has no parameter area"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        scale.validate_parameters(params)


def test_the_task_saves_fates_model_and_a_predict_job_applies_it(stores: Stores) -> None:
    data = breast("breast_hetero_guest")
    data = dataclasses.replace(data, weights=np.linspace(0.5, 2, len(data.ids)))
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"method": "standard_scale", "scale_col_indexes": [0, 1], "feat_upper": 2}
    stores.run(FeatureScale(), "scale_0", GUEST, params, data={"data": ["reader_0.data"]})

    out = Dataset.from_table(stores.output(GUEST, "scale_0"))
    clipped = np.minimum(data.features[:, :2], 2)
    assert np.allclose(out.features[:, :2], StandardScaler().fit_transform(clipped), atol=1e-12)
    assert np.array_equal(out.features[:, 2:], data.features[:, 2:])
    assert out.header == data.header and np.array_equal(out.labels, data.labels)
    assert np.array_equal(out.weights, data.weights) and list(out.ids) == list(data.ids)

    model = stores.model(GUEST, "scale_0")
    assert model is not None
    assert model["meta"]["method"] == "standard_scale"
    assert model["meta"]["scale_column"] == ["x0", "x1"]
    assert model["meta"]["feat_upper"] == ["2"] * 10
    param = model["param"]["col_scale_param"]
    assert set(param) == {"x0", "x1"} and model["param"]["header"] == data.header
    assert param["x0"]["mean"] == pytest.approx(clipped[:, 0].mean())
    assert param["x0"]["std"] == pytest.approx(clipped[:, 0].std())
    assert (
        param["x0"]["column_upper"] == 2
        and param["x0"]["column_lower"] == data.features[:, 0].min()
    )
    assert stores.summary(GUEST, "scale_0") == param
    metric = stores.metrics(GUEST, "scale_0")["train"]["scale"]
    assert metric.meta == {"name": "scale", "metric_type": "SCALE", "method": "standard_scale"}

    # A predict job: new rows, scaled with the training statistics and clipped to the training
    # range (-100 becomes the training minimum).
    new = small([[-100, 1, *[0] * 8], [0.5, 100, *[0] * 8]], header=data.header)
    stores.put(GUEST, "reader_0.data", new.to_table(), job_id="predict")
    stores.run(
        FeatureScale(),
        "scale_0",
        GUEST,
        {},
        data={"data": ["reader_0.data"]},
        models=["scale_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = Dataset.from_table(stores.output(GUEST, "scale_0", job_id="predict"))
    low, mean, std = data.features[:, 0].min(), param["x0"]["mean"], param["x0"]["std"]
    assert predicted.features[0, 0] == pytest.approx((low - mean) / std)
    assert predicted.features[1, 1] == pytest.approx((2 - param["x1"]["mean"]) / param["x1"]["std"])
    assert stores.model(GUEST, "scale_0", job_id="predict") is None  # predicting trains nothing
