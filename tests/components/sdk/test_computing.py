"""The computing engines: Spark (`local[2]`, three partitions) gives what the local engine gives,
for the engine's own operations and for the components that run on it, on the same data."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.intersect.intersection import (
    Intersection,
    intersect_guest,
    intersect_host,
    validate_parameters,
)
from fateflow_grpc.components.sdk import computing
from fateflow_grpc.components.sdk.computing import (
    LOCAL_COMPUTING,
    Computing,
    SparkComputing,
    spark_session,
)
from fateflow_grpc.components.sdk.testing import MemoryTransport, Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.storage.table_store import TableDescription
from tests.components.tasks import SPARK_MASTER, Stores

pytestmark = pytest.mark.slow  # a JVM starts once per test process

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ON_SPARK = {"computing_engine": "SPARK", "computing_partitions": 3}


def squares_and_sizes(items: Sequence[int]) -> list[tuple[int, int]]:
    """Each item squared, with the size of the slice it was in (slices must not matter)."""
    return [(x * x, len(items)) for x in items]


def test_map_partitions_joins_the_slices_in_order(spark: SparkComputing) -> None:
    items = list(range(10))
    got = spark.map_partitions(squares_and_sizes, items)
    assert [square for square, _ in got] == [x * x for x in items]
    assert sorted({size for _, size in got}) == [3, 4]  # 10 rows in three Spark partitions
    assert spark.map_partitions(squares_and_sizes, []) == []


def as_rows(items: Sequence[int]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Each item as a row of two bytes."""
    return np.array([[x // 256, x % 256] for x in items], dtype=np.uint8).reshape(-1, 2)


def one_row(items: Sequence[int]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    return np.zeros((1, 2), dtype=np.uint8)


@pytest.mark.parametrize("on_spark", [False, True], ids=["local", "spark"])
def test_a_batch_larger_than_a_wave_runs_in_waves_joined_as_one(
    spark: SparkComputing, monkeypatch: pytest.MonkeyPatch, on_spark: bool
) -> None:
    monkeypatch.setattr(computing, "WAVE", 4)
    engine = spark if on_spark else LOCAL_COMPUTING
    items = list(range(250, 260))
    got = engine.map_partitions(squares_and_sizes, items)
    assert [square for square, _ in got] == [x * x for x in items]
    assert max(size for _, size in got) <= 4  # no slice spans two waves
    rows = engine.map_partitions(as_rows, items)
    assert rows.shape == (10, 2)
    assert [int(a) * 256 + int(b) for a, b in rows] == items
    assert engine.map_partitions(as_rows, []).shape == (0, 2)
    with pytest.raises(ValueError, match="rows come one per item"):
        engine.map_partitions(one_row, items)
    if on_spark:  # a Spark task carries its slice: one above SPARK_SLICE items is cut smaller
        monkeypatch.setattr(computing, "SPARK_SLICE", 1)
        assert {size for _, size in engine.map_partitions(squares_and_sizes, items)} == {1}


def refuse_seven(items: Sequence[int]) -> list[int]:
    if 7 in items:
        raise InvalidArgument("id 7 is not welcome", row=7)
    return list(items)


def test_an_error_of_ours_on_an_executor_comes_back_as_itself(spark: SparkComputing) -> None:
    with pytest.raises(InvalidArgument, match="id 7 is not welcome") as raised:
        spark.map_partitions(refuse_seven, list(range(10)))
    assert raised.value.metadata == {"row": "7"}
    with pytest.raises(InvalidArgument, match="id 7 is not welcome"):
        LOCAL_COMPUTING.map_partitions(refuse_seven, list(range(10)))


def with_first_row(table: pa.Table, first_row: int) -> pa.Table:
    return table.append_column("first_row", pa.array([first_row] * table.num_rows, pa.int64()))


def test_read_table_reads_the_partitions_in_written_order(
    spark: SparkComputing, stores: Stores
) -> None:
    context = stores.context("reader_0", GUEST, {})
    try:
        schema = pa.schema([("id", pa.string()), ("x", pa.string())])
        batches = [
            pa.RecordBatch.from_pydict(
                {"id": [f"{b}-{k}" for k in range(b + 1)], "x": [str(b)] * (b + 1)}, schema=schema
            )
            for b in range(7)  # uneven batches over three partitions
        ]
        description = TableDescription("ns", "t", {"sid": "id", "header": "x"}, 3)
        context.tables.write_table(description, batches, schema=schema)
        assert len(context.tables.partition_files("ns", "t")) == 3
        expected = context.tables.read_table("ns", "t")
        got = spark.read_table(context.tables, "ns", "t")
    finally:
        context.close()
    assert got.equals(expected)
    assert got.column("id").to_pylist() == [f"{b}-{k}" for b in range(7) for k in range(b + 1)]


# --- components on both engines --------------------------------------------------------------


def intersect(
    computing: Computing, method: dict[str, Any], guest_ids: list[str], host_ids: list[str]
) -> dict[PartyRole, Any]:
    params = validate_parameters(method)
    parties = Participants(GUEST, (HOST,))

    def guest(transport: MemoryTransport) -> Any:
        return intersect_guest(transport, guest_ids, params, parties, computing=computing).ids

    def host(transport: MemoryTransport) -> Any:
        return intersect_host(transport, host_ids, params, parties, HOST, computing=computing).ids

    return run_parties(Wire(), {GUEST: guest, HOST: host})


@pytest.mark.parametrize(
    "method",
    [
        {"intersect_method": "rsa"},
        {"intersect_method": "raw"},
        {"intersect_method": "raw", "join_role": "host"},
    ],
    ids=["rsa", "raw", "raw-join-host"],
)
def test_intersection_on_spark_is_the_local_one(
    spark: SparkComputing, method: dict[str, Any]
) -> None:
    rng = random.Random(str(method))
    pool = [f"u{k}" for k in rng.sample(range(10**6), 300)]
    guest_ids, host_ids = pool[:200], pool[100:]
    rng.shuffle(host_ids)
    local = intersect(LOCAL_COMPUTING, method, guest_ids, host_ids)
    on_spark = intersect(spark, method, guest_ids, host_ids)
    assert on_spark == local
    assert set(local[GUEST]) == set(pool[100:200])


def text_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(rows)
    x = rng.normal(size=(rows, 3)).round(4)
    columns: dict[str, list[str]] = {
        "id": [f"s{k}" for k in range(rows)],
        "y": [str(int(v > 0)) for v in x[:, 0]],
    }
    for j in range(3):
        columns[f"x{j}"] = [str(v) for v in x[:, j]]
    columns["x1"][3] = "NA"  # missing: filled with default_value
    return pa.table(columns)


@pytest.mark.usefixtures("spark")
def test_intersection_component_on_spark_is_the_local_one(stores: Stores) -> None:
    table = text_table(60)
    stores.put(GUEST, "reader_0.data", table.slice(0, 40))
    stores.put(HOST, "reader_0.data", table.slice(20, 40).select(["id", "x0"]))
    outputs = []
    for job_parameters in ({}, ON_SPARK):
        stores.run_parties(
            Intersection(),
            "intersection_0",
            {GUEST: {}, HOST: {}},
            {"guest": [GUEST.party_id], "host": [HOST.party_id]},
            data={"data": ["reader_0.data"]},
            job_parameters=job_parameters,
        )
        outputs.append({party: stores.output(party, "intersection_0") for party in (GUEST, HOST)})
    local, on_spark = outputs
    assert local[GUEST].column("id").to_pylist() == [f"s{k}" for k in range(20, 40)]
    for party in (GUEST, HOST):
        assert on_spark[party].equals(local[party], check_metadata=True)


def test_tasks_of_a_process_share_one_spark_session(spark: SparkComputing) -> None:
    spark.map_partitions(squares_and_sizes, [1, 2])
    session = spark_session(SPARK_MASTER, {})
    SparkComputing(SPARK_MASTER, {}, None).map_partitions(squares_and_sizes, [1, 2])
    assert spark_session(SPARK_MASTER, {}) is session
