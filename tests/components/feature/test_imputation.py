"""FeatureImputation against scikit-learn's SimpleImputer and numpy on the same data, and as a
task: FATE's model and summary, and a predict job filling with the trained values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.impute import SimpleImputer

from fateflow_grpc.components.feature import imputation
from fateflow_grpc.components.feature.imputation import FeatureImputation
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast, small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)


def holed(seed: int = 0, hole: float = np.nan) -> Dataset:
    """The breast guest table with a tenth of its values made missing (`hole`)."""
    data = breast("breast_hetero_guest")
    features = data.features.copy()
    features[np.random.default_rng(seed).random(features.shape) < 0.1] = hole
    return Dataset(data.ids, features, data.labels, data.header)


def filled(data: Dataset, **params: Any) -> np.ndarray:
    imputer = imputation.fit(data, imputation.validate_parameters(params))
    return imputer.transform(data)[0].features


@pytest.mark.parametrize("strategy", ["mean", "min", "max"])
def test_statistics_of_the_present_values(strategy: str) -> None:
    data = holed()
    got = filled(data, missing_fill_method=strategy)
    if strategy == "mean":
        expected = SimpleImputer(strategy="mean").fit_transform(data.features)
    else:
        value = getattr(np, f"nan{strategy}")(data.features, axis=0)
        expected = np.where(np.isnan(data.features), value, data.features)
    assert np.allclose(got, expected, rtol=0, atol=1e-12)


def test_designated_values_and_per_column_methods() -> None:
    data = holed(hole=-999)
    got = filled(data, missing_fill_method="designated", default_value=42, missing_impute=[-999])
    expected = SimpleImputer(missing_values=-999, strategy="constant", fill_value=42)
    assert np.array_equal(got, expected.fit_transform(data.features))
    # FATE's example: one column by min, one designated, the others left as they are.
    got = filled(
        data,
        col_missing_fill_method={"x0": "min", "x3": "designated"},
        default_value=42,
        missing_impute=[-999],
    )
    holes = data.features == -999
    assert np.array_equal(got[:, [1, 2, *range(4, 10)]], data.features[:, [1, 2, *range(4, 10)]])
    assert np.all(got[holes[:, 3], 3] == 42)
    assert np.all(got[holes[:, 0], 0] == data.features[~holes[:, 0], 0].min())
    # One designated value per column.
    values = [float(k) for k in range(10)]
    got = filled(
        data, missing_fill_method="designated", default_value=values, missing_impute=[-999]
    )
    assert all(np.all(got[holes[:, k], k] == k) for k in range(10))


def test_what_counts_as_missing() -> None:
    data = small([[np.nan, 1.0], [-1.0, 2.0], [3.0, np.nan]])
    # By default NaN; a list names the values, FATE's missing texts standing for NaN.
    assert filled(data, missing_fill_method="max").tolist() == [[3, 1], [-1, 2], [3, 2]]
    got = filled(data, missing_fill_method="designated", default_value=7, missing_impute=[-1])
    assert np.isnan(got[0, 0]) and got[1, 0] == 7
    got = filled(
        data, missing_fill_method="designated", default_value=7, missing_impute=["NA", "-1"]
    )
    assert got.tolist() == [[7, 1], [7, 2], [3, 7]]
    # With the defaults nothing is filled: no column has a method.
    assert np.array_equal(filled(data), data.features, equal_nan=True)
    # A column with nothing present is filled with 0.
    assert filled(small([[np.nan], [np.nan]]), missing_fill_method="mean").tolist() == [[0], [0]]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"missing_fill_method": "median"}, "missing_fill_method must be one of min, max"),
        ({"col_missing_fill_method": {"x0": "mode"}}, r"col_missing_fill_method\.x0 must be"),
        ({"default_value": "zero"}, "default_value must be a number or a list of numbers"),
        ({"missing_impute": ["?"]}, "holds '\\?', which a float feature cannot hold"),
        ({"missing_impute": "NA"}, "missing_impute must be null or a list"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        imputation.validate_parameters(params)


def test_parameters_that_need_the_data_are_checked_against_it() -> None:
    data = small([[1.0, 2.0]])
    with pytest.raises(InvalidArgument, match="names zz, which this party's data do not have"):
        filled(data, col_missing_fill_method={"zz": "min"})
    with pytest.raises(InvalidArgument, match="default_value has 3 values, but this party has 2"):
        filled(data, missing_fill_method="designated", default_value=[1, 2, 3])


def test_the_task_saves_fates_model_and_a_predict_job_fills_with_it(stores: Stores) -> None:
    data = small([[np.nan, 1.0, 5.0], [4.0, np.nan, 6.0], [2.0, 3.0, np.nan]], [0, 1, 0])
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"col_missing_fill_method": {"x0": "mean", "x1": "designated"}, "default_value": 9}
    stores.run(FeatureImputation(), "imputation_0", GUEST, params, data={"data": ["reader_0.data"]})
    out = Dataset.from_table(stores.output(GUEST, "imputation_0"))
    assert np.array_equal(out.features, [[3, 1, 5], [4, 9, 6], [2, 3, np.nan]], equal_nan=True)
    assert np.array_equal(out.labels, data.labels)
    model = stores.model(GUEST, "imputation_0")
    assert model is not None
    assert model["meta"]["imputer_meta"]["missing_value"] == list(imputation.DEFAULT_MISSING)
    param = model["param"]["imputer_param"]
    assert param["missing_replace_value"] == {"x0": "3.0", "x1": "9.0"}
    assert param["cols_replace_method"] == {"x0": "mean", "x1": "designated", "x2": "None"}
    assert param["skip_cols"] == ["x2"]
    assert param["missing_value_ratio"] == pytest.approx({"x0": 1 / 3, "x1": 1 / 3, "x2": 0})
    assert stores.summary(GUEST, "imputation_0") == {
        "missing_value": list(imputation.DEFAULT_MISSING),
        "missing_impute_value": {"x0": 3.0, "x1": 9.0, "x2": 0},
        "missing_impute_rate": param["missing_value_ratio"],
        "skip_cols": ["x2"],
    }

    new = small([[np.nan, np.nan, np.nan]])
    stores.put(GUEST, "reader_0.data", new.to_table(), job_id="predict")
    stores.run(
        FeatureImputation(),
        "imputation_0",
        GUEST,
        {},
        data={"data": ["reader_0.data"]},
        models=["imputation_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = Dataset.from_table(stores.output(GUEST, "imputation_0", job_id="predict"))
    assert np.array_equal(predicted.features, [[3, 9, np.nan]], equal_nan=True)
