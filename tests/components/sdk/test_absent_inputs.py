"""A component whose upstream left it no data at its party gets no input there, as FATE gives
it None (the host's Evaluation of FATE's hetero LR example: the host's HeteroLR writes no
predictions)."""

from __future__ import annotations

import pyarrow as pa

from fateflow_grpc.domain.parties import PartyRole
from tests.components.tasks import Stores

HOST = PartyRole("host", 10000)


def test_inputs_no_upstream_left_here_are_left_out(stores: Stores) -> None:
    stores.put(HOST, "intersection_0.data", pa.table({"id": ["a", "b"]}))
    context = stores.context(
        "evaluation_0",
        HOST,
        {},
        data={
            "data": ["hetero_lr_0.data", "hetero_lr_1.data"],
            "test_data": ["intersection_0.data", "hetero_lr_0.data"],
        },
    )
    try:
        assert context.drop_absent_inputs() == ["hetero_lr_0.data", "hetero_lr_1.data"]
        # The input kind left with nothing goes; the other keeps what it has.
        assert context.wiring.data_inputs == {"test_data": [("intersection_0", "data")]}
        assert context.input_kinds() == ["test_data"]
        (table,) = context.input_tables("test_data")
        assert table.column("id").to_pylist() == ["a", "b"]
        assert context.input_tables("data") == []
        assert context.drop_absent_inputs() == []
    finally:
        context.close()


def test_nothing_absent_leaves_the_wiring_as_it_is(stores: Stores) -> None:
    stores.put(HOST, "reader_0.data", pa.table({"id": ["a"]}))
    context = stores.context("data_transform_0", HOST, {}, data={"data": ["reader_0.data"]})
    try:
        wiring = context.wiring
        assert context.drop_absent_inputs() == []
        assert context.wiring is wiring
    finally:
        context.close()
