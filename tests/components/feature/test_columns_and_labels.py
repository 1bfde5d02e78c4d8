"""ColumnExpand, LabelTransform and SampleWeight as tasks, against the same computation done here
by hand (and scikit-learn's balanced class weights): the columns, labels and weights they
leave, their models, and their predict jobs."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn.utils.class_weight import compute_class_weight

from fateflow_grpc.components.feature import column_expand, label_transform, sample_weight
from fateflow_grpc.components.feature.column_expand import ColumnExpand
from fateflow_grpc.components.feature.label_transform import LabelTransform
from fateflow_grpc.components.feature.sample_weight import SampleWeight
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.learning import prediction_table
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast, small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
RAW = pa.table({"id": ["a", "b"], "y": ["1", "0"], "x0": ["0.5", "1.5"]})


def predict_again(stores: Stores, module: Any, component: str, table: pa.Table) -> pa.Table:
    stores.put(GUEST, "reader_0.data", table, job_id="predict")
    stores.run(
        module,
        component,
        GUEST,
        {},
        data={"data": ["reader_0.data"]},
        models=[f"{component}.model"],
        job_id="predict",
        trained="train",
    )
    return stores.output(GUEST, component, job_id="predict")


# --- ColumnExpand ---------------------------------------------------------------------------


def test_column_expand_appends_text_to_a_raw_table_as_fate_does(stores: Stores) -> None:
    stores.put(GUEST, "reader_0.data", RAW)
    params = {"append_header": ["x_0", "x_1"], "fill_value": [0, 0.2]}
    stores.run(ColumnExpand(), "column_expand_0", GUEST, params, data={"data": ["reader_0.data"]})
    out = stores.output(GUEST, "column_expand_0")
    assert out.column_names == ["id", "y", "x0", "x_0", "x_1"]
    assert out.column("x_0").to_pylist() == ["0", "0"] and out.column("x_1").to_pylist() == [
        "0.2",
        "0.2",
    ]
    assert stores.model(GUEST, "column_expand_0") == {
        "meta": {
            "append_header": ["x_0", "x_1"],
            "method": "manual",
            "fill_value": ["0", "0.2"],
            "need_run": True,
        },
        "param": {"header": ["y", "x0", "x_0", "x_1"]},
    }
    assert predict_again(stores, ColumnExpand(), "column_expand_0", RAW).equals(out)


def test_column_expand_appends_features_to_a_dataset(stores: Stores) -> None:
    data = small([[1.0], [2.0]], [0, 1])
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"append_header": ["a", "b"]}  # one fill value for all: FATE's default 1e-8
    stores.run(ColumnExpand(), "column_expand_0", GUEST, params, data={"data": ["reader_0.data"]})
    out = Dataset.from_table(stores.output(GUEST, "column_expand_0"))
    assert out.header == ["x0", "a", "b"]
    assert out.features.tolist() == [[1, 1e-8, 1e-8], [2, 1e-8, 1e-8]]
    assert np.array_equal(out.labels, data.labels)


@pytest.mark.parametrize(
    ("params", "table", "words"),
    [
        ({"method": "auto"}, RAW, "method must be one of manual"),
        ({"append_header": ["a"], "fill_value": [1, 2]}, RAW, "one value per append_header"),
        ({"append_header": ["a", "a"]}, RAW, "names a column twice"),
        ({"append_header": ["x0"]}, RAW, "already have the columns x0"),
        ({"append_header": ["s"], "fill_value": "yes"}, small([[1.0]]).to_table(), "is text"),
    ],
)
def test_column_expand_refuses(
    stores: Stores, params: dict[str, Any], table: pa.Table, words: str
) -> None:
    stores.put(GUEST, "reader_0.data", table)
    with pytest.raises(InvalidArgument, match=words):
        stores.run(ColumnExpand(), "ce", GUEST, params, data={"data": ["reader_0.data"]})
    assert column_expand.DEFAULTS["fill_value"] == 1e-8


# --- LabelTransform -------------------------------------------------------------------------


def test_label_transform_numbers_the_sorted_labels_by_default(stores: Stores) -> None:
    data = small([[1.0]] * 4, [5, -1, 5, 2])
    stores.put(GUEST, "reader_0.data", data.to_table())
    stores.run(LabelTransform(), "label_transform_0", GUEST, {}, data={"data": ["reader_0.data"]})
    out = Dataset.from_table(stores.output(GUEST, "label_transform_0"))
    assert out.labels.tolist() == [2, 0, 2, 1]
    model = stores.model(GUEST, "label_transform_0")
    assert model == {
        "meta": {"need_run": True},
        "param": {
            "label_encoder": {"-1": "0", "2": "1", "5": "2"},
            "encoder_key_type": {"-1": "int", "2": "int", "5": "int"},
            "encoder_value_type": {"-1": "int", "2": "int", "5": "int"},
        },
    }
    metric = stores.metrics(GUEST, "label_transform_0")["train"]["label_transform"]
    assert metric.data == [("label_transform", 0)]
    assert metric.meta["label_encoder"] == {"-1": 0, "2": 1, "5": 2}


def test_label_transform_encodes_and_maps_predictions_back(stores: Stores) -> None:
    """FATE's example: label_transform_0 swaps 0 and 1 before HeteroLR, label_transform_1 maps
    HeteroLR's predictions back with label_transform_0's model."""
    data = breast("breast_hetero_guest")
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"label_encoder": {"0": 1, "1": 0}, "label_list": [0, 1]}
    stores.run(
        LabelTransform(), "label_transform_0", GUEST, params, data={"data": ["reader_0.data"]}
    )
    out = Dataset.from_table(stores.output(GUEST, "label_transform_0"))
    assert np.array_equal(out.labels, 1 - data.labels)

    scores = np.linspace(0.01, 0.99, len(data.ids))
    predictions = prediction_table(data.ids, out.labels, scores, 0.5, "train")
    stores.put(GUEST, "hetero_lr_0.data", predictions)
    stores.run(
        LabelTransform(),
        "label_transform_1",
        GUEST,
        {},
        data={"data": ["hetero_lr_0.data"]},
        models=["label_transform_0.model"],
    )
    back = stores.output(GUEST, "label_transform_1")
    assert np.array_equal(back.column("label").to_numpy(), data.labels)
    assert back.column("predict_result").to_pylist() == (scores <= 0.5).astype(int).tolist()
    detail = json.loads(back.column("predict_detail")[0].as_py())
    assert detail == pytest.approx({"1": 1 - scores[0], "0": scores[0]}, abs=1e-6)
    assert back.column("predict_score").equals(predictions.column("predict_score"))
    assert stores.model(GUEST, "label_transform_1") is None


def test_label_transform_keeps_labels_the_encoder_does_not_name(stores: Stores) -> None:
    data = small([[1.0]] * 3, [0, 1, 2])
    stores.put(GUEST, "reader_0.data", data.to_table())
    stores.run(
        LabelTransform(),
        "label_transform_0",
        GUEST,
        {"label_encoder": {"2": 10}},
        data={"data": ["reader_0.data"]},
    )
    out = Dataset.from_table(stores.output(GUEST, "label_transform_0"))
    assert out.labels.tolist() == [0, 1, 10]
    # A predict job refuses a label the trained encoder does not know.
    with pytest.raises(InvalidArgument, match="label 7 is not in the label encoder"):
        predict_again(stores, LabelTransform(), "label_transform_0", small([[1.0]], [7]).to_table())


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"label_encoder": {"yes": 1}}, "keyed by a text, but labels here are numbers"),
        ({"label_encoder": {"1": "no"}}, r"label_encoder\.1 must be a number"),
        ({"label_encoder": {"1": 0, "0": 1}, "label_list": [0]}, "as many labels as"),
        ({"label_encoder": {"2": 0}, "label_list": [1]}, "keyed by a label label_list lacks"),
        ({"label_encoder": [0, 1]}, "label_encoder must be an object"),
    ],
)
def test_label_transform_refuses(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        label_transform.validate_parameters(params)


def test_label_transform_needs_labels(stores: Stores) -> None:
    stores.put(GUEST, "reader_0.data", small([[1.0]]).to_table())
    with pytest.raises(InvalidArgument, match="needs labelled data"):
        stores.run(LabelTransform(), "lt", GUEST, {}, data={"data": ["reader_0.data"]})


# --- SampleWeight ---------------------------------------------------------------------------


def test_balanced_class_weights_are_sklearns(stores: Stores) -> None:
    data = breast("breast_hetero_guest")
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"class_weight": "balanced"}
    stores.run(SampleWeight(), "sample_weight_0", GUEST, params, data={"data": ["reader_0.data"]})
    out = Dataset.from_table(stores.output(GUEST, "sample_weight_0"))
    classes = np.array([0.0, 1.0])
    expected = compute_class_weight("balanced", classes=classes, y=data.labels)
    assert np.allclose(out.weights, expected[data.labels.astype(int)], rtol=0, atol=1e-12)
    assert np.array_equal(out.features, data.features) and out.header == data.header
    model = stores.model(GUEST, "sample_weight_0")
    assert model is not None
    assert model["param"]["weight_mode"] == "class weight"
    assert model["param"]["class_weight"] == pytest.approx({"0": expected[0], "1": expected[1]})
    meta = stores.metrics(GUEST, "sample_weight_0")["train"]["sample_weight"].meta
    assert meta["metric_type"] == "SAMPLE_WEIGHT" and meta["classes"] == ["0", "1"]

    # A predict job weighs new rows by the trained class weights (not rebalanced on them).
    new = small([[0.0] * 10] * 3, [1, 1, 1], header=data.header)
    again = Dataset.from_table(
        predict_again(stores, SampleWeight(), "sample_weight_0", new.to_table())
    )
    assert np.allclose(again.weights, [expected[1]] * 3)


def test_given_class_weights(stores: Stores) -> None:
    data = small([[1.0]] * 3, [0, 1, 2])
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"class_weight": {"0": 1, "1": 2}}
    stores.run(SampleWeight(), "sample_weight_0", GUEST, params, data={"data": ["reader_0.data"]})
    out = Dataset.from_table(stores.output(GUEST, "sample_weight_0"))
    assert out.weights.tolist() == [1, 2, 1]  # a class it does not name weighs 1


def test_a_weight_column_leaves_the_features(stores: Stores) -> None:
    data = small([[1.0, 2.0], [3.0, 6.0]], [0, 1], header=["weight", "x0"])
    stores.put(GUEST, "reader_0.data", data.to_table())
    params = {"sample_weight_name": "x0", "normalize": True, "class_weight": "balanced"}
    stores.run(SampleWeight(), "sample_weight_0", GUEST, params, data={"data": ["reader_0.data"]})
    out = Dataset.from_table(stores.output(GUEST, "sample_weight_0"))
    assert out.header == ["weight"] and out.features.tolist() == [[1], [3]]
    assert out.weights.tolist() == [0.5, 1.5]  # 2 and 6 over their mean
    assert out.weight_name == "sample_weight"  # "weight" is a feature's name here
    model = stores.model(GUEST, "sample_weight_0")
    assert model is not None and model["param"]["weight_mode"] == "sample weight name"
    again = Dataset.from_table(
        predict_again(stores, SampleWeight(), "sample_weight_0", data.to_table())
    )
    assert again.weights.tolist() == [0.5, 1.5] and again.header == ["weight"]


def test_without_class_weight_or_column_the_data_pass(stores: Stores) -> None:
    data = small([[1.0]], [1])
    stores.put(GUEST, "reader_0.data", data.to_table())
    stores.run(SampleWeight(), "sample_weight_0", GUEST, {}, data={"data": ["reader_0.data"]})
    assert stores.output(GUEST, "sample_weight_0").equals(data.to_table())


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"class_weight": "auto"}, "class_weight must be one of balanced"),
        ({"class_weight": {"a": 1}}, "keyed by a text"),
        ({"class_weight": {"1": "x"}}, r"class_weight\.1 must be a number"),
        ({"sample_weight_name": 3}, "sample_weight_name must be a column name"),
    ],
)
def test_sample_weight_refuses(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        sample_weight.validate_parameters(params)


def test_sample_weight_needs_what_it_weighs_by(stores: Stores) -> None:
    stores.put(GUEST, "reader_0.data", small([[1.0]]).to_table())
    with pytest.raises(InvalidArgument, match="class_weight needs labelled data"):
        stores.run(
            SampleWeight(),
            "sw",
            GUEST,
            {"class_weight": "balanced"},
            data={"data": ["reader_0.data"]},
        )
    with pytest.raises(InvalidArgument, match="names 'zz', which is not a feature"):
        stores.run(
            SampleWeight(),
            "sw",
            GUEST,
            {"sample_weight_name": "zz"},
            data={"data": ["reader_0.data"]},
        )
