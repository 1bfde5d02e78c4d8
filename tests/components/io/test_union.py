"""Union as a task: the rows of its inputs once each (the first table's row wins), or all of
them under new ids, with FATE's metric; inputs that do not match are refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.io.union import Union
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
INPUTS = {"data": ["data_transform_0.data", "data_transform_1.data"]}


def put_two(stores: Stores, first: pa.Table, second: pa.Table) -> None:
    stores.put(GUEST, "data_transform_0.data", first)
    stores.put(GUEST, "data_transform_1.data", second)


def test_each_id_once_and_the_first_table_wins(stores: Stores) -> None:
    first = small([[1.0], [2.0]], [0, 1], ids=["a", "b"])
    second = small([[20.0], [30.0]], [1, 0], ids=["b", "c"])
    put_two(stores, first.to_table(), second.to_table())
    stores.run(Union(), "union_0", GUEST, {}, data=INPUTS)
    out = Dataset.from_table(stores.output(GUEST, "union_0"))
    assert list(out.ids) == ["a", "b", "c"]
    assert out.features.tolist() == [[1], [2], [30]] and out.labels.tolist() == [0, 1, 0]
    metric = stores.metrics(GUEST, "union_0")["train"]["union"]
    assert dict(metric.data) == {"data_transform_0.data": 2, "data_transform_1.data": 2, "Total": 3}
    assert metric.meta == {"name": "union", "metric_type": "UNION"}
    assert stores.summary(GUEST, "union_0") == dict(metric.data)


def test_inputs_under_fate_15s_names(stores: Stores) -> None:
    """FATE 1.5's examples give Union `data_0`, `data_1`: every data input counts, in order."""
    put_two(
        stores, small([[1.0]], [0], ids=["a"]).to_table(), small([[2.0]], [1], ids=["b"]).to_table()
    )
    named = {"data_0": ["data_transform_0.data"], "data_1": ["data_transform_1.data"]}
    stores.run(Union(), "union_0", GUEST, {}, data=named)
    assert list(Dataset.from_table(stores.output(GUEST, "union_0")).ids) == ["a", "b"]


def test_keep_duplicate_renames_every_id_by_its_input(stores: Stores) -> None:
    first = small([[1.0]], ids=["a"])
    put_two(stores, first.to_table(), first.to_table())
    stores.run(Union(), "union_0", GUEST, {"keep_duplicate": True}, data=INPUTS)
    out = stores.output(GUEST, "union_0")
    assert out.column("id").to_pylist() == ["a_data_transform_0.data", "a_data_transform_1.data"]


def test_raw_tables_and_weighted_datasets(stores: Stores) -> None:
    raw = pa.table({"id": ["1", "2"], "x": ["a", "b"]})
    put_two(stores, raw, pa.table({"id": ["3"], "x": ["c"]}))
    stores.run(Union(), "union_0", GUEST, {}, data=INPUTS)
    assert stores.output(GUEST, "union_0").column("x").to_pylist() == ["a", "b", "c"]

    weighted = dataclasses.replace(small([[1.0]], [1], ids=["w"]), weights=np.array([2.0]))
    empty = weighted.take(np.array([], dtype=int))
    put_two(stores, empty.to_table(), weighted.to_table())  # an empty table is skipped
    stores.run(Union(), "union_1", GUEST, {}, data=INPUTS)
    out = Dataset.from_table(stores.output(GUEST, "union_1"))
    assert out.weights.tolist() == [2.0] and list(out.ids) == ["w"]


@pytest.mark.parametrize(
    ("second", "words"),
    [
        (small([[1.0, 2.0]], [0]).to_table(), "the header of data_transform_1.data"),
        (small([[1.0]]).to_table(), "the label name of data_transform_1.data \\(none\\)"),
        (pa.table({"id": ["1"], "x0": ["1"]}), "not both datasets"),
        (
            dataclasses.replace(small([[1.0]], [0]), weights=np.ones(1)).to_table(),
            "the sample weight of data_transform_1.data",
        ),
    ],
)
def test_inputs_that_do_not_match_are_refused(stores: Stores, second: pa.Table, words: str) -> None:
    put_two(stores, small([[1.0]], [1]).to_table(), second)
    with pytest.raises(InvalidArgument, match=words):
        stores.run(Union(), "union_0", GUEST, {}, data=INPUTS)


def test_one_input_is_not_a_union(stores: Stores) -> None:
    stores.put(GUEST, "data_transform_0.data", small([[1.0]]).to_table())
    with pytest.raises(InvalidArgument, match="two or more data inputs, not 1"):
        stores.run(Union(), "union_0", GUEST, {}, data={"data": ["data_transform_0.data"]})
