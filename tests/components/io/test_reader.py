"""Reader: the conf's table, unchanged, as the component's output, with its upload's delimiter
for DataTransform, and FATE-Flow 1.11's `data_info` metric; a table uploaded with `;` read
through Reader and DataTransform as FATE reads it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.io.data_transform import DataTransform
from fateflow_grpc.components.io.reader import Reader
from fateflow_grpc.components.sdk.context import DELIMITER_KEY, Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.storage.delimited import DelimitedReader
from fateflow_grpc.storage.table_store import TableDescription
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)


def test_reader_output_metric_and_a_tag_table_through_data_transform(stores: Stores) -> None:
    text = b"1,a;b\n2,b;c\n3,c\n"
    upload = DelimitedReader([text], delimiter=",", head=False)
    table = pa.Table.from_batches(list(upload), schema=upload.schema)
    context = stores.context("reader_0", GUEST, {"table": {"name": "tags", "namespace": "exp"}})
    context.tables.write_table(
        TableDescription("exp", "tags", {}, partitions=2, delimiter=",", have_head=False), table
    )
    context.wiring = dataclasses.replace(context.wiring, tables={"table": ("tags", "exp")})
    try:
        Reader().run(context)
    finally:
        context.close()
    output = stores.output(GUEST, "reader_0")
    assert output.column_names == ["id", "x0"]
    assert sorted(output.column("x0").to_pylist()) == ["a;b", "b;c", "c"]
    assert output.schema.metadata[DELIMITER_KEY] == b","
    info = stores.metrics(GUEST, "reader_0")["reader_namespace"]["reader_name"].meta
    assert info["metric_type"] == "data_info" and info["name"] == "reader"
    assert (info["table_name"], info["namespace"], info["count"], info["partitions"]) == (
        "tags",
        "exp",
        3,
        2,
    )
    assert set(info["table_info"]["x0"].split(",")) == {"a;b", "b;c", "c"}

    stores.run(
        DataTransform(),
        "data_transform_0",
        GUEST,
        {"input_format": "tag", "delimitor": ";"},
        data={"data": ["reader_0.data"]},
    )
    dataset = Dataset.from_table(stores.output(GUEST, "data_transform_0"))
    order = np.argsort(dataset.ids.astype(str))
    assert dataset.header == ["a", "b", "c"]
    assert dataset.features[order].tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert stores.model(GUEST, "data_transform_0")["header"] == ["a", "b", "c"]


def test_a_table_whose_id_name_repeats_a_features(stores: Stores) -> None:
    """FATE's svmlight tables uploaded with `head: 1`: the header "1,1,0:-0.01" names the id
    and the label both "1"; Reader passes the table on and previews each name once."""
    text = b"1,1,0:0.5\n2,0,0:0.25\n3,1,0:0.75\n"
    upload = DelimitedReader([text], delimiter=",", head=True)
    table = pa.Table.from_batches(list(upload), schema=upload.schema)
    context = stores.context("reader_0", GUEST, {"table": {"name": "svm", "namespace": "exp"}})
    context.tables.write_table(
        TableDescription("exp", "svm", {}, partitions=1, delimiter=",", have_head=True), table
    )
    context.wiring = dataclasses.replace(context.wiring, tables={"table": ("svm", "exp")})
    try:
        Reader().run(context)
    finally:
        context.close()
    assert stores.output(GUEST, "reader_0").num_rows == 2
    info = stores.metrics(GUEST, "reader_0")["reader_namespace"]["reader_name"].meta
    assert info["table_info"] == {"1": "2,3", "0:0.5": "0:0.25,0:0.75"}
