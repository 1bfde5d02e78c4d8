"""The table store on each engine (see conftest.py): partitions, order, repeated ids, atomic
publication, deletion and garbage collection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.errors import AlreadyExists, InvalidArgument, NotFound
from fateflow_grpc.storage import table_store
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.delimited import text_schema
from fateflow_grpc.storage.table_store import (
    TEMPORARY,
    TableDescription,
    TableStore,
    check_table_name,
)

SCHEMA = text_schema(["id", "y", "x0"])


def describe(name: str = "t", partitions: int = 3) -> TableDescription:
    return TableDescription("ns", name, {"sid": "id", "header": "y,x0"}, partitions)


def batch(ids: list[str], tag: str = "") -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "id": ids,
            "y": [f"y{i}{tag}" for i in ids],
            "x0": [f"x{i}{tag}" for i in ids],
        },
        schema=SCHEMA,
    )


@pytest.fixture
def store(db: Database, tmp_path: Path) -> TableStore:
    return TableStore(tmp_path / "tables", db)


def files(store: TableStore) -> list[str]:
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*"))


def test_rows_come_back_in_write_order_across_partitions(store: TableStore) -> None:
    batches = [batch([str(100 * b + i) for i in range(b + 1)]) for b in range(7)]
    assert store.write_table(describe(), batches, schema=SCHEMA) == 28
    table = store.read_table("ns", "t")
    assert table.schema == SCHEMA
    assert table.column("id").to_pylist() == [i for b in batches for i in b.column(0).to_pylist()]
    version = store.describe("ns", "t")
    assert version is not None and version.f_count == 28 and version.f_partitions == 3
    partitions = [f for f in files(store) if f.endswith(".arrow")]
    assert [Path(f).name for f in partitions] == [f"part-0000{p}.arrow" for p in range(3)]


def test_an_empty_table_keeps_its_schema(store: TableStore) -> None:
    assert store.write_table(describe(), [], schema=SCHEMA) == 0
    table = store.read_table("ns", "t")
    assert table.num_rows == 0 and table.schema == SCHEMA


def test_a_repeated_id_keeps_its_last_row_in_place(store: TableStore) -> None:
    batches = [batch(["a", "b", "c"]), batch(["d", "b"], "'"), batch(["a", "e", "b"], "''")]
    assert store.write_table(describe(), batches, schema=SCHEMA) == 5
    table = store.read_table("ns", "t")
    assert table.column("id").to_pylist() == ["c", "d", "a", "e", "b"]
    assert table.column("y").to_pylist() == ["yc", "yd'", "ya''", "ye''", "yb''"]


def test_repeats_are_found_among_many_ids(store: TableStore) -> None:
    ids = [f"id-{i}" for i in range(200_000)]
    later = ids[::1000]
    count = store.write_table(
        describe(partitions=4), [batch(ids), batch(later, "!")], schema=SCHEMA
    )
    assert count == 200_000
    table = store.read_table("ns", "t")
    assert table.num_rows == 200_000
    assert table.column("id")[-1].as_py() == later[-1]
    assert set(table.column("id").to_pylist()) == set(ids)
    assert table.column("y").to_pylist().count("yid-0!") == 1


@pytest.mark.parametrize("prefix", ["", "user-"])  # integer ids, and ids hashed byte by byte
def test_id_buckets_spread_ids_and_are_stable(prefix: str) -> None:
    ids = pa.array([f"{prefix}{i}" for i in range(100_000)])
    buckets = table_store._buckets(ids)
    assert buckets.min() >= 0 and buckets.max() < table_store.ID_BUCKETS
    counts = np.bincount(buckets, minlength=table_store.ID_BUCKETS)
    assert counts.min() > 100_000 / table_store.ID_BUCKETS / 2
    sliced = table_store._buckets(ids.slice(5, 10))
    assert sliced.tolist() == buckets[5:15].tolist()


def test_repeated_ids_that_are_not_numbers(store: TableStore) -> None:
    ids = ["b", "", "a", "é", "a", "", "10", "010"]
    assert store.write_table(describe(), [batch(ids[:4]), batch(ids[4:], "!")], schema=SCHEMA) == 6
    table = store.read_table("ns", "t")
    assert table.column("id").to_pylist() == ["b", "é", "a", "", "10", "010"]


def test_an_existing_table_is_replaced_only_when_asked(store: TableStore) -> None:
    store.write_table(describe(), [batch(["1"])], schema=SCHEMA)
    first = store.describe("ns", "t")
    assert first is not None
    with pytest.raises(AlreadyExists, match=r"table ns\.t already exists"):
        store.write_table(describe(), [batch(["2"])], schema=SCHEMA)
    assert store.read_table("ns", "t").column("id").to_pylist() == ["1"]
    store.write_table(describe(), [batch(["3"])], schema=SCHEMA, replace=True)
    assert store.read_table("ns", "t").column("id").to_pylist() == ["3"]
    second = store.describe("ns", "t")
    assert second is not None and second.f_address["path"] != first.f_address["path"]
    # One version left on disk, nothing half-written.
    versions = {Path(f).parent.as_posix() for f in files(store) if f.endswith(".arrow")}
    assert versions == {second.f_address["path"]}
    assert not list((store.root / TEMPORARY).iterdir())


def test_a_failed_write_leaves_nothing(store: TableStore) -> None:
    def batches() -> object:
        yield batch(["1", "2"])
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        store.write_table(describe(), batches(), schema=SCHEMA)  # type: ignore[arg-type]
    assert store.describe("ns", "t") is None
    assert [f for f in files(store) if f != TEMPORARY] == []


def test_a_refused_publication_leaves_nothing_of_it(store: TableStore) -> None:
    store.write_table(describe(), [batch(["1"])], schema=SCHEMA)
    before = files(store)
    writer = store.writer(SCHEMA, 2, version="v2")
    writer.write(batch(["2"]))
    count = writer.finish()
    with pytest.raises(AlreadyExists):
        store.publish(writer, describe(), count, replace=False)
    writer.discard()
    assert files(store) == before
    assert store.read_table("ns", "t").column("id").to_pylist() == ["1"]


def test_collection_leaves_the_writers_of_other_nodes_alone(
    store: TableStore, db: Database
) -> None:
    """Nodes sharing a store collect garbage while others write: what a live writer holds,
    in its temporary directory or moved into place before its meta commits, stays."""
    other_node = TableStore(store.root, db)
    writing = store.writer(SCHEMA, 1, version="writing")
    writing.write(batch(["1"]))
    moved = store.writer(SCHEMA, 1, version="moved")
    moved.write(batch(["2"]))
    moved.finish()
    moved.move_to(store.root, "ns", "t")
    other_node.collect_garbage()
    assert {"ns/t/moved", f"{TEMPORARY}/writing"} <= set(files(store))
    writing.discard()
    moved.discard()
    other_node.collect_garbage()
    assert files(store) == [TEMPORARY]


CRASHED_WRITER = """
import os, sys
from pathlib import Path
import pyarrow as pa
from fateflow_grpc.storage.table_store import TableWriter
schema = pa.schema([("id", pa.string())])
root = Path(sys.argv[1])
half = TableWriter(root, schema, 1, "half")
half.write(pa.record_batch([pa.array(["1"])], schema=schema))
moved = TableWriter(root, schema, 1, "moved")
moved.finish()
moved.move_to(root, "ns", "t")
os._exit(0)  # a crash: no writer discards, the kernel drops their locks
"""


def test_collection_removes_what_a_crashed_writer_left(store: TableStore) -> None:
    store.write_table(describe("kept"), [batch(["1"])], schema=SCHEMA)
    kept = files(store)
    subprocess.run([sys.executable, "-c", CRASHED_WRITER, str(store.root)], check=True)
    assert {"ns/t/moved", f"{TEMPORARY}/half"} <= set(files(store))
    store.collect_garbage()
    assert files(store) == kept


def test_delete_removes_rows_and_files(store: TableStore) -> None:
    store.write_table(describe(), [batch(["1"])], schema=SCHEMA)
    assert store.delete_table("ns", "t") is True
    assert store.delete_table("ns", "t") is False
    assert store.describe("ns", "t") is None
    assert [f for f in files(store) if f != TEMPORARY] == []
    with pytest.raises(NotFound, match=r"table ns\.t does not exist"):
        store.read_table("ns", "t")


def test_garbage_collection_keeps_only_published_versions(store: TableStore) -> None:
    store.write_table(describe("kept"), [batch(["1"])], schema=SCHEMA)
    kept = files(store)
    (store.root / TEMPORARY / "202601010000000000000" / "ids").mkdir(parents=True)
    (store.root / "ns" / "kept" / "orphan").mkdir()
    (store.root / "ns" / "unpublished" / "v9").mkdir(parents=True)
    (store.root / "ns" / "unpublished" / "v9" / "part-00000.arrow").write_bytes(b"half")
    store.collect_garbage()
    assert [f for f in files(store) if f != TEMPORARY] == [f for f in kept if f != TEMPORARY]
    assert store.read_table("ns", "kept").num_rows == 1


@pytest.mark.parametrize("name", ["", "..", "../etc", "a/b", ".hidden", "x" * 129, "é", "a b"])
def test_names_that_are_not_one_safe_directory_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument, match="not a valid table name"):
        check_table_name("ns", name)
    with pytest.raises(InvalidArgument, match="namespace"):
        check_table_name(name, "t")


def test_the_id_column_must_be_text(store: TableStore) -> None:
    with pytest.raises(InvalidArgument, match="first column, its id, must be a string"):
        store.writer(pa.schema([("id", pa.int64())]), 1)
