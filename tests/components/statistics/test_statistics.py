"""DataStatistics, PSI and Scorecard against plaintext computations written here (and scipy's
definitions of skewness and kurtosis)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.statistics import data_statistics, psi, scorecard
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.tasks import Stores


def test_statistics_equal_the_textbook_formulas() -> None:
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, size=(400, 3))
    x[::9, 1] = np.nan
    x[::13, 2] = -999.0
    params = data_statistics.validate_parameters(
        {"statistics": ["count", "variance", "95%"], "abnormal_list": [-999], "bias": False}
    )
    columns, results = data_statistics.compute(x, ["a", "b", "c"], params)
    assert columns == ["a", "b", "c"]
    assert list(results)[:11] == list(data_statistics.BASIC) and list(results)[11:] == [
        "count",
        "variance",
        "95%",
    ]
    for j in range(3):
        v = x[:, j]
        v = v[~np.isnan(v) & (v != -999.0)]
        n = len(v)
        assert results["count"][j] == n
        assert results["missing_count"][j] == 400 - n
        assert results["mean"][j] == pytest.approx(v.mean())
        assert results["variance"][j] == pytest.approx(v.var())
        assert results["stddev"][j] == pytest.approx(v.std())
        assert results["coefficient_of_variance"][j] == pytest.approx(v.std() / v.mean())
        m2, m3, m4 = (((v - v.mean()) ** k).mean() for k in (2, 3, 4))
        g1, g2 = m3 / m2**1.5, m4 / m2**2 - 3
        assert results["skewness"][j] == pytest.approx(math.sqrt(n * (n - 1)) / (n - 2) * g1)
        assert results["kurtosis"][j] == pytest.approx(
            ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
        )
        ordered = np.sort(v)
        assert results["median"][j] == binning.quantile(ordered, 0.5, 1e-4)
        assert results["95%"][j] == ordered[math.ceil(0.95 * n) - 1]
    with pytest.raises(InvalidArgument, match="unknown statistic"):
        data_statistics.validate_parameters({"statistics": ["mode"]})


def test_psi_of_two_tables() -> None:
    rng = np.random.default_rng(8)
    expect = rng.normal(size=(1000, 2))
    actual = rng.normal(loc=0.3, size=(700, 2))
    actual[:50, 0] = np.nan
    ids = lambda n: np.asarray([str(i) for i in range(n)], dtype=object)  # noqa: E731
    summary = psi.compute(
        Dataset(ids(1000), expect, None, ["a", "b"]),
        Dataset(ids(700), actual, None, ["a", "b"]),
        psi.validate_parameters({"max_bin_num": 10}),
    )
    for j, name in enumerate(["a", "b"]):
        points = binning.quantile_points(expect[:, j], 10, 1e-4)

        # A bin holds the values up to its split point: (p[i-1], p[i]].
        def shares(v: np.ndarray, rows: int, points: list[float] = points) -> np.ndarray:
            bins = [sum(1 for p in points[:-1] if p < x) for x in v]
            return np.bincount(bins, minlength=len(points)) / rows

        e = shares(expect[:, j], 1000)
        a = shares(actual[~np.isnan(actual[:, j]), j], 700)
        e, a = np.where(e == 0, 1e-6, e), np.where(a == 0, 1e-6, a)
        missing_share = np.isnan(actual[:, j]).sum() / 700 or 1e-6
        expected = ((a - e) * np.log(a / e)).sum() + (missing_share - 1e-6) * np.log(
            missing_share / 1e-6
        )
        assert summary["total_score"][name] == pytest.approx(expected)
        feature = summary["feature_psi"][j]
        assert feature["interval"][-1] == "missing" and len(feature["interval"]) == len(points) + 1


def test_the_psi_task_compares_its_validate_data_with_its_train_data(stores: Stores) -> None:
    rng = np.random.default_rng(3)
    ids = np.asarray([str(i) for i in range(300)], dtype=object)
    expect = Dataset(ids, rng.normal(size=(300, 2)), None, ["a", "b"])
    actual = Dataset(ids, rng.normal(loc=0.5, size=(300, 2)), None, ["a", "b"])
    guest = PartyRole("guest", 9999)
    stores.put(guest, "expect_0.data", expect.to_table())
    stores.put(guest, "actual_0.data", actual.to_table())
    stores.run(
        psi.PSI(),
        "psi_0",
        guest,
        {"max_bin_num": 10},
        data={"train_data": ["expect_0.data"], "validate_data": ["actual_0.data"]},
    )
    model = stores.model(guest, "psi_0")
    assert model is not None
    wanted = psi.compute(expect, actual, psi.validate_parameters({"max_bin_num": 10}))
    assert model["param"]["total_score"] == pytest.approx(wanted["total_score"])
    assert wanted["total_score"]["a"] > 0.05


def test_scorecard_credit_scores() -> None:
    params = scorecard.validate_parameters({})
    table = pa.table(
        {
            "id": ["a", "b", "c", "d"],
            "label": [0.0, 1.0, 1.0, 0.0],
            "predict_result": [0, 1, 1, 0],
            "predict_score": [0.2, 0.9, 0.0, 1.0],
            "predict_detail": ["{}"] * 4,
            "type": ["train"] * 4,
        }
    )
    out = scorecard.transform(table, params)
    assert out.column_names == ["id", "label", "predict_result", "predict_score", "credit_score"]
    expected = [
        round(500 + 20 / math.log(2) * math.log(0.8 / 0.2), 2),
        round(500 + 20 / math.log(2) * math.log(0.1 / 0.9), 2),
        1500.0,
        0.0,
    ]
    assert out.column("credit_score").to_pylist() == expected
