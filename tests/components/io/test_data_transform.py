"""DataTransform against tables parsed by hand: FATE's dense, svmlight, tag and tag:value
example tables, uploaded as our upload stores them, read as FATE's DataTransform reads them;
missing-value fill and outlier replacement against numpy; the fitted values reused unchanged
by a predict job; FATE's parameter checks and our refusals by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.io.data_transform import (
    DEFAULTS,
    DataTransform,
    meta_parameters,
    transform,
    validate_parameters,
)
from fateflow_grpc.components.sdk.context import DELIMITER_KEY, META_KEY, Dataset
from fateflow_grpc.domain.data_jobs import schema_meta
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.storage.delimited import DelimitedReader
from tests.components.tasks import Stores
from tests.data import fate_table


def uploaded(data: bytes, *, head: bool, delimiter: str = ",") -> pa.Table:
    """A file as our upload stores it and a Reader gives it (with its upload's delimiter)."""
    reader = DelimitedReader([data], delimiter=delimiter, head=head)
    table = pa.Table.from_batches(list(reader), schema=reader.schema)
    return table.replace_schema_metadata({DELIMITER_KEY: delimiter})


def run(table: pa.Table, **params: Any) -> tuple[Dataset, dict[str, Any], dict[str, Any]]:
    return transform(table, validate_parameters(params))


def lines(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines() if line]


def test_a_table_uploaded_with_its_meta_gives_the_settings() -> None:
    # FATE's column_expand testsuite: extend_sid and the meta's label; the conf says nothing.
    reader = DelimitedReader(
        [b"id;y;x0\n7;1;0.5\n8;0;1.5\n"], delimiter=";", head=True, extend_sid=""
    )
    table = pa.Table.from_batches(list(reader), schema=reader.schema)
    meta = schema_meta({"delimiter": ";", "with_label": True, "label_name": "y"}, extend_sid=True)
    table = table.replace_schema_metadata({DELIMITER_KEY: ";", META_KEY: json.dumps(meta)})
    params = validate_parameters({"with_label": False, **meta_parameters(table)})
    dataset, model, _ = transform(table, params)
    assert dataset.match_ids.tolist() == ["7", "8"]
    np.testing.assert_array_equal(dataset.labels, [1, 0])
    assert dataset.header == ["x0"]
    assert (model["delimitor"], model["with_match_id"]) == (";", True)


def test_svmlight_guest_with_label() -> None:
    path = fate_table("svmlight_guest.csv")
    dataset, model, _ = run(
        uploaded(path.read_bytes(), head=False), input_format="sparse", with_label=True
    )
    rows = lines(path)
    top = max(int(pair.split(":")[0]) for row in rows for pair in row[2:])
    expected = np.zeros((len(rows), top + 1))
    for r, row in enumerate(rows):
        for pair in row[2:]:
            fid, value = pair.split(":")
            expected[r, int(fid)] = float(value)
    assert dataset.header == [f"x{i}" for i in range(top + 1)]
    assert dataset.ids.tolist() == [row[0] for row in rows]
    np.testing.assert_array_equal(dataset.labels, [int(row[1]) for row in rows])
    np.testing.assert_array_equal(dataset.features, expected)
    assert model["input_format"] == "sparse" and model["header"] == dataset.header


def test_svmlight_uploaded_with_a_header_as_fates_testsuite_does() -> None:
    # FATE's testsuite uploads its svmlight tables with `head: 1`: the first line is then a
    # header whose first feature name repeats the id's ("1,1,0:-0.01,...").
    path = fate_table("svmlight_guest.csv")
    dataset, _, _ = run(
        uploaded(path.read_bytes(), head=True), input_format="sparse", with_label=True
    )
    rows = lines(path)[1:]
    assert dataset.ids.tolist() == [row[0] for row in rows]
    np.testing.assert_array_equal(dataset.labels, [int(row[1]) for row in rows])


def test_svmlight_host_named_svmlight_and_read_again_with_the_model() -> None:
    path = fate_table("svmlight_host.csv")
    table = uploaded(path.read_bytes(), head=False)
    dataset, model, _ = run(table, input_format="svmlight")
    rows = lines(path)
    assert dataset.labels is None
    first = dict(pair.split(":") for pair in rows[0][1:])
    for fid, value in first.items():
        assert dataset.features[0, int(fid)] == float(value)
    # A predict job reads its table with the trained settings, whatever its conf says.
    again, _, _ = transform(table, validate_parameters({}), model)
    np.testing.assert_array_equal(again.features, dataset.features)


def test_svmlight_feature_beyond_the_trained_ones_is_refused() -> None:
    _, model, _ = run(uploaded(b"a,0:1,1:2\nb,1:3,0:0\n", head=False), input_format="sparse")
    with pytest.raises(InvalidArgument, match="feature 5"):
        transform(uploaded(b"c,5:1,1:2\n", head=False), validate_parameters({}), model)


def test_tag_format_with_another_delimiter_than_the_upload() -> None:
    path = fate_table("mock_tag_hetero_host.csv")
    dataset, _, _ = run(uploaded(path.read_bytes(), head=False), input_format="tag", delimitor=";")
    rows = [line.split(",", 1) for line in path.read_text().splitlines() if line]
    tags = sorted({tag for _, value in rows for tag in value.split(";")})
    assert dataset.header == tags
    for r, (_, value) in enumerate(rows):
        present = set(value.split(";"))
        np.testing.assert_array_equal(dataset.features[r], [t in present for t in tags])


def test_tag_value_format() -> None:
    path = fate_table("breast_hetero_host_tag_value.csv")
    dataset, _, _ = run(
        uploaded(path.read_bytes(), head=False),
        input_format="tag",
        delimitor=";",
        tag_with_value=True,
    )
    rows = [line.split(",", 1) for line in path.read_text().splitlines() if line]
    parsed = [dict(item.split(":") for item in value.split(";")) for _, value in rows]
    tags = sorted({tag for row in parsed for tag in row})
    assert dataset.header == tags  # sorted as text: x0, x1, x10, ...
    expected = [[float(row.get(tag, 0)) for tag in tags] for row in parsed]
    np.testing.assert_array_equal(dataset.features, expected)


def test_tag_value_with_match_id_label_and_missing_fill() -> None:
    table = uploaded(b"1,m1,1,a:1,b:4\n2,m2,0,b:2,a:\n3,m3,1,a:3,b:\n", head=False)
    dataset, model, summary = run(
        table,
        input_format="tag",
        tag_with_value=True,
        with_match_id=True,
        with_label=True,
        missing_fill=True,
        missing_fill_method="mean",
    )
    assert dataset.match_ids.tolist() == ["m1", "m2", "m3"]
    np.testing.assert_array_equal(dataset.labels, [1, 0, 1])
    # An absent tag and an empty value are missing; each takes its tag's mean.
    np.testing.assert_array_equal(dataset.features, [[1, 4], [2, 2], [3, 3]])
    assert summary["missing_fill_info"]["missing_impute_value"] == {"a": 2.0, "b": 3.0}
    again, _, _ = transform(uploaded(b"9,m9,0,c:5\n", head=False), validate_parameters({}), model)
    np.testing.assert_array_equal(again.features, [[2, 3]])  # unknown tags are dropped


def test_dense_missing_values_are_nan_without_fill() -> None:
    table = uploaded(b"id,y,a,b\n1,1,NA,2\n2,0,,null\n3,1,4,5\n", head=True)
    dataset, _, summary = run(table, with_label=True)
    np.testing.assert_array_equal(np.isnan(dataset.features), [[1, 0], [1, 1], [0, 0]])
    assert summary == {}


@pytest.mark.parametrize(
    ("method", "expected_fill"),
    [
        (None, [0.0, 0.0]),
        ("designated", [7.0, 7.0]),
        ("min", [1.0, 2.0]),
        ("max", [4.0, 5.0]),
        ("mean", [2.5, 3.5]),
    ],
)
def test_dense_missing_fill(method: str | None, expected_fill: list[float]) -> None:
    table = uploaded(b"id,y,a,b\n1,1,1,none\n2,0,,2\n3,1,4,5\n", head=True)
    dataset, model, summary = run(
        table, with_label=True, missing_fill=True, missing_fill_method=method, default_value=7
    )
    raw = np.array([[1, np.nan], [np.nan, 2], [4, 5]])
    missing = np.isnan(raw)
    stats = {"min": np.nanmin, "max": np.nanmax, "mean": np.nanmean}
    fill = stats[method](raw, axis=0) if method in stats else np.array(expected_fill)
    np.testing.assert_allclose(fill, expected_fill)
    np.testing.assert_array_equal(dataset.features, np.where(missing, fill, raw))
    info = summary["missing_fill_info"]
    assert info["missing_impute_rate"] == {"a": pytest.approx(1 / 3), "b": pytest.approx(1 / 3)}
    assert list(info["missing_impute_value"].values()) == expected_fill
    # Predict: the training fill values, not the new data's statistics.
    other = uploaded(b"id,y,b,a,extra\n7,1,,10,0\n8,1,9,,0\n", head=True)
    again, _, _ = transform(other, validate_parameters({}), model)
    assert again.header == ["a", "b"]
    np.testing.assert_array_equal(again.features, [[10, expected_fill[1]], [expected_fill[0], 9]])


def test_designated_fill_per_feature_and_named_missing_values() -> None:
    table = uploaded(b"id,a,b\n1,-1,3\n2,2,-1\n", head=True)
    dataset, _, _ = run(
        table,
        missing_fill=True,
        missing_fill_method="designated",
        default_value=[10, 20],
        missing_impute=[-1],
    )
    np.testing.assert_array_equal(dataset.features, [[10, 3], [2, 20]])
    with pytest.raises(InvalidArgument, match="2 fill values for 3 features"):
        run(
            uploaded(b"id,a,b,c\n1,1,2,3\n", head=True),
            missing_fill=True,
            missing_fill_method="designated",
            default_value=[1, 2],
        )


def test_outlier_replace_after_missing_fill() -> None:
    table = uploaded(b"id,a,b\n1,999,1\n2,,3\n3,2,999\n4,4,5\n", head=True)
    dataset, model, summary = run(
        table,
        missing_fill=True,
        missing_fill_method="designated",
        default_value=0,
        outlier_replace=True,
        outlier_impute=[999],
        outlier_replace_method="mean",
    )
    # The mean of each feature without its outliers, the missing values already 0.
    np.testing.assert_allclose(dataset.features, [[2, 1], [0, 3], [2, 3], [4, 5]])
    assert summary["outlier_replace_rate"]["outlier_replace_rate"] == {"a": 0.25, "b": 0.25}
    again, _, _ = transform(
        uploaded(b"id,a,b\n5,999,999\n", head=True), validate_parameters({}), model
    )
    np.testing.assert_allclose(again.features, [[2, 3]])


def test_mean_of_a_feature_with_no_value_leaves_it_missing() -> None:
    table = uploaded(b"id,a,b\n1,,1\n2,,3\n", head=True)
    dataset, _, summary = run(table, missing_fill=True, missing_fill_method="mean")
    assert np.isnan(dataset.features[:, 0]).all()
    np.testing.assert_array_equal(dataset.features[:, 1], [1, 3])
    assert summary["missing_fill_info"]["missing_impute_value"]["a"] is None


def test_fates_missing_fill_example_table() -> None:
    path = fate_table("ionosphere_scale_hetero_guest.csv")
    dataset, _, _ = run(
        uploaded(path.read_bytes(), head=True),
        with_label=True,
        label_name="label",
        missing_fill=True,
        missing_fill_method="mean",
    )
    rows = lines(path)
    column = rows[0].index("x3")
    values = [float(row[column]) for row in rows[1:] if row[column]]
    assert dataset.features[:, dataset.header.index("x3")].tolist() == pytest.approx(
        [float(row[column]) if row[column] else round(np.mean(values), 6) for row in rows[1:]]
    )


def test_match_id_column() -> None:
    path = fate_table("breast_hetero_guest_sample_id.csv")
    dataset, _, _ = run(uploaded(path.read_bytes(), head=True), with_label=True, with_match_id=True)
    rows = lines(path)
    assert dataset.sid == "mock_id" and dataset.match_id_name == "id"
    assert dataset.ids.tolist() == [row[0] for row in rows[1:]]
    assert dataset.match_ids.tolist() == [row[1] for row in rows[1:]]
    assert dataset.header == rows[0][3:]
    back = Dataset.from_table(dataset.to_table())
    assert back.match_ids.tolist() == dataset.match_ids.tolist()
    assert back.take(np.array([2, 0])).match_ids.tolist() == [rows[3][1], rows[1][1]]
    # match_id_name chooses among the columns; the table's key is not one of them.
    with pytest.raises(InvalidArgument, match="match id column 'mock_id' is not in the data"):
        run(uploaded(path.read_bytes(), head=True), with_match_id=True, match_id_name="mock_id")


def test_delimitor_other_than_the_uploads() -> None:
    table = uploaded(b"id,a;b;y\n1,1;2;0\n2,3;4;1\n", head=True)
    dataset, _, _ = run(table, delimitor=";", with_label=True)
    assert dataset.header == ["a", "b"]
    np.testing.assert_array_equal(dataset.features, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(dataset.labels, [0, 1])


def test_types() -> None:
    table = uploaded(b"id,y,a,b\n1,1,1.5,2\n2,0,3,4\n", head=True)
    with pytest.raises(InvalidArgument, match=r"'a' row 1 holds '1.5', not an integer"):
        run(table, with_label=True, data_type="int")
    dataset, _, _ = run(table, with_label=True, data_type="int", exclusive_data_type={"A": "float"})
    np.testing.assert_array_equal(dataset.features, [[1.5, 2], [3, 4]])
    with pytest.raises(InvalidArgument, match=r"'y' row 1 holds '1\.5'"):
        run(uploaded(b"id,y\n1,1.5\n", head=True), with_label=True)
    # FATE lower-cases label_name: a column called Y is not the label "Y".
    with pytest.raises(InvalidArgument, match="label column 'y' is not in the data"):
        run(uploaded(b"id,Y,a\n1,1.5,2\n", head=True), with_label=True, label_name="Y")
    dataset, _, _ = run(
        uploaded(b"id,y,a\n1,1.5,2\n", head=True),
        with_label=True,
        label_name="Y",
        label_type="float",
    )
    np.testing.assert_array_equal(dataset.labels, [1.5])


def test_predict_without_the_label_column() -> None:
    _, model, _ = run(uploaded(b"id,y,a\n1,1,2\n2,0,3\n", head=True), with_label=True)
    dataset, _, _ = transform(uploaded(b"id,a\n3,4\n", head=True), validate_parameters({}), model)
    assert dataset.labels is None and dataset.features.tolist() == [[4.0]]
    with pytest.raises(InvalidArgument, match=r"lack the trained model's \['a'\]"):
        transform(uploaded(b"id,z\n3,4\n", head=True), validate_parameters({}), model)


def test_defaults_are_fates() -> None:
    assert validate_parameters({}) == {**DEFAULTS, "match_id_name": ""}
    assert (
        validate_parameters({"input_format": "Dense", "missing_fill_method": "MEAN"})[
            "missing_fill_method"
        ]
        == "mean"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"input_format": "csv"}, "input_format must be one of"),
        ({"output_format": "libsvm"}, "output_format must be one of"),
        ({"data_type": "double"}, "data_type must be one of"),
        ({"data_type": "str"}, "data_type str is not supported"),
        ({"exclusive_data_type": {"x0": "str"}}, "exclusive_data_type.x0 str is not supported"),
        ({"exclusive_data_type": ["x0"]}, "exclusive_data_type must be null or an object"),
        ({"with_label": True, "label_type": "str"}, "label_type str is not supported"),
        ({"with_label": "yes"}, "with_label must be true or false"),
        ({"missing_fill": 1}, "missing_fill must be true or false"),
        ({"missing_fill_method": "median"}, "missing_fill_method must be one of"),
        ({"outlier_replace_method": "mode"}, "outlier_replace_method must be one of"),
        ({"missing_impute": "NA"}, "missing_impute must be null or a list"),
        ({"match_id_index": -1}, "match_id_index must be at least 0"),
        ({"with_match_id": "true"}, "with_match_id must be true or false"),
        (
            {"missing_fill": True, "missing_fill_method": "designated", "default_value": "x"},
            "default_value must be a number",
        ),
        ({"label_idx": 0}, "has no parameter label_idx"),
    ],
)
def test_fates_checks_and_our_refusals(params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        validate_parameters(params)


def test_fates_examples_parameters() -> None:
    """Every DataTransform / DataIO parameter set of FATE's examples (1.5 to 1.11)."""
    for params in (
        {"with_label": True, "label_name": "y", "label_type": "int", "output_format": "dense"},
        {
            "with_label": False,
            "output_format": "sparse",
            "missing_fill": True,
            "outlier_replace": True,
        },
        {"input_format": "tag", "tag_with_value": True, "delimitor": ",", "with_label": False},
        {"input_format": "sparse", "with_label": True},
        {
            "with_label": True,
            "label_name": "label",
            "missing_fill": True,
            "missing_fill_method": "mean",
        },
        {"missing_fill": True, "missing_fill_method": "designated", "default_value": 0},
        {"input_format": "tag", "tag_with_value": True, "with_match_id": True},
        {"with_match_id": True, "need_run": True},
    ):
        validate_parameters(params)


def test_predict_job_reads_with_the_trained_model(stores: Stores) -> None:
    guest = PartyRole("guest", 9999)
    train = uploaded(b"id,y,a,b\n1,1,1,\n2,0,3,4\n3,1,,8\n", head=True)
    stores.put(guest, "reader_0.data", train)
    params = {"with_label": True, "missing_fill": True, "missing_fill_method": "mean"}
    stores.run(DataTransform(), "data_transform_0", guest, params, data={"data": ["reader_0.data"]})
    model = stores.model(guest, "data_transform_0")
    assert model is not None and model["missing_fill_values"] == ["2.0", "6.0"]
    summary = stores.summary(guest, "data_transform_0")
    assert summary["missing_fill_info"]["missing_impute_rate"] == {
        "a": pytest.approx(1 / 3),
        "b": pytest.approx(1 / 3),
    }
    # The predict job's own conf asks for nothing; the model says how to read the data.
    stores.put(guest, "reader_0.data", uploaded(b"id,b,a\n9,,\n", head=True), job_id="predict")
    stores.run(
        DataTransform(),
        "data_transform_0",
        guest,
        {},
        data={"data": ["reader_0.data"]},
        models=["data_transform_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = Dataset.from_table(stores.output(guest, "data_transform_0", job_id="predict"))
    assert predicted.header == ["a", "b"] and predicted.features.tolist() == [[2.0, 6.0]]
    assert predicted.labels is None
    assert stores.model(guest, "data_transform_0", job_id="predict") is None
