"""Data tables as Arrow files under ``<data_dir>/tables``, described by ``t_storage_table_meta``.

A table is the FATE table of an upload or of a component's output: rows keyed by their first
column (the id, FATE's key), every column text. On disk one version of it is a directory
``<namespace>/<name>/<version>/`` of partition files ``part-NNNNN.arrow`` (Arrow IPC files):
record batch k of the table is in partition k mod P, so the partitions share the rows evenly
and reading them in turn gives the rows back in the order they were written.

Publishing is atomic. A `TableWriter` fills ``.tmp/<version>/``, moves it to its place when
complete, and the table exists once the meta row pointing at that version commits. Until then
readers, which follow the meta, see the previous version or no table.

Several nodes may share one store (the same directory and database: the parties of
`fateflow standalone`, replicas of a party). So a writer holds a lock (`flock` on
``.tmp/<version>.lock``) from before it creates its version until its meta row has committed
or it gave up, and `collect_garbage` removes only what a crashed writer left (its lock is free):
its temporary directory, or its version if no meta points at it.

Ids are keys: a row whose id comes again later is replaced by the later one, as in FATE, and
the count is that of distinct ids. To find repeats in bounded memory the writer files every id
with its row number into one of `ID_BUCKETS` files by a hash of the id, and then checks one
bucket at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.exc import IntegrityError

from fateflow_grpc.errors import AlreadyExists, InvalidArgument, NotFound
from fateflow_grpc.ids import check_table_name
from fateflow_grpc.storage import tables
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import StorageTableMeta

#: The engine name tables of this store carry in ``t_storage_table_meta.f_engine``.
ENGINE = "ARROW"
TEMPORARY = ".tmp"
#: Suffix of the file in `TEMPORARY` that a version's writer holds locked until it is done.
LOCK = ".lock"
_BUCKET_BITS = 6
ID_BUCKETS = 1 << _BUCKET_BITS
#: Ids wait in memory until this many, then go to their buckets in one sorted pass.
_IDS_PER_FLUSH = 32 * 1024


@dataclass(frozen=True)
class TableDescription:
    """What a table holds, as its meta row records it (FATE's table metas)."""

    namespace: str
    name: str
    #: FATE's `schema`: ``{"sid": <id column>, "header": <other columns, delimiter-joined>}``;
    #: empty for a file uploaded without a header.
    schema: dict[str, Any]
    partitions: int
    delimiter: str = ","
    have_head: bool = True
    #: The first rows as FATE's (key, value) pairs, for previews.
    part_of_data: list[list[str]] | None = None


class TableWriter:
    """Writes one new version of a table; `TableStore.publish` makes it the table."""

    def __init__(self, root: Path, schema: pa.Schema, partitions: int, version: str) -> None:
        if partitions < 1:
            raise InvalidArgument(f"a table needs at least one partition, not {partitions}")
        if not schema or schema.field(0).type != pa.string():
            raise InvalidArgument("a table's first column, its id, must be a string column")
        self.schema = schema
        self.version = version
        self._partitions = partitions
        (root / TEMPORARY).mkdir(parents=True, exist_ok=True)
        self._lock = _WriterLock(root / TEMPORARY / f"{version}{LOCK}")
        self._directory = root / TEMPORARY / version
        self._directory.mkdir()
        self._published: Path | None = None
        self._finished = False
        # Partition 0 always exists, so that an empty table still has its schema on disk.
        self._files = {0: self._open(0)}
        #: The first row number of every batch written, in order.
        self._batch_starts: list[int] = []
        self._ids = _IdIndex(self._directory / "ids")
        #: Rows written, repeated ids included.
        self.rows = 0

    def _open(self, partition: int) -> pa.ipc.RecordBatchFileWriter:
        return pa.ipc.new_file(str(self._directory / _partition_file(partition)), self.schema)

    def write(self, batch: pa.RecordBatch) -> None:
        partition = len(self._batch_starts) % self._partitions
        if partition not in self._files:
            self._files[partition] = self._open(partition)
        self._files[partition].write_batch(batch)
        self._ids.add(batch.column(0), self.rows)
        self._batch_starts.append(self.rows)
        self.rows += batch.num_rows

    def finish(self) -> int:
        """Close the files and drop the rows a later one replaces; returns the table's count."""
        self._close()
        replaced = self._ids.replaced_rows()
        if len(replaced):
            self._drop_rows(replaced)
        shutil.rmtree(self._ids.directory)
        return self.rows - len(replaced)

    def _close(self) -> None:
        self._finished = True
        for file in self._files.values():
            file.close()
        self._ids.close()

    def _drop_rows(self, replaced: pa.Array) -> None:
        count = len(self._files)
        for partition in range(count):
            path = self._directory / _partition_file(partition)
            kept = path.with_suffix(".kept")
            with pa.OSFile(str(path)) as source, pa.ipc.new_file(str(kept), self.schema) as out:
                reader = pa.ipc.open_file(source)
                for index in range(reader.num_record_batches):
                    batch = reader.get_batch(index)
                    start = self._batch_starts[index * count + partition]
                    numbers = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
                    # Empty batches stay: batch k must remain the k-th one written.
                    out.write_batch(batch.filter(pc.invert(pc.is_in(numbers, value_set=replaced))))
            kept.replace(path)

    def first_rows(self, limit: int) -> pa.Table:
        """The first `limit` rows of the finished table, for a preview."""
        taken: list[pa.RecordBatch] = []
        for batch in _batches_in(self._directory):
            taken.append(batch.slice(0, limit))
            limit -= taken[-1].num_rows
            if limit <= 0:
                break
        return pa.Table.from_batches(taken, schema=self.schema)

    def move_to(self, root: Path, namespace: str, name: str) -> str:
        """Put the finished version in its place (no reader sees it yet); returns its path."""
        relative = f"{namespace}/{name}/{self.version}"
        target = root / relative
        for attempt in range(2):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._directory.rename(target)
                break
            except FileNotFoundError:  # a deletion of the table's last version removed it
                if attempt:
                    raise
        self._published = target
        return relative

    def published(self) -> None:
        """Its meta row has committed: the version is the table's, the writer is done."""
        self._lock.release()

    def discard(self) -> None:
        """Remove whatever this writer put on disk (its meta row must not have committed)."""
        if not self._finished:
            self._close()
        shutil.rmtree(self._directory, ignore_errors=True)
        if self._published is not None:
            shutil.rmtree(self._published, ignore_errors=True)
        self._lock.release()


class TableStore:
    """The node's tables: their files under `root`, their meta rows in `database`."""

    def __init__(self, root: Path, database: Database) -> None:
        self.root = root
        self._database = database

    # --- writing ----------------------------------------------------------------------------

    def writer(self, schema: pa.Schema, partitions: int, version: str | None = None) -> TableWriter:
        """A writer of a new version; `version` must be unique (an upload uses its job id)."""
        return TableWriter(self.root, schema, partitions, version or uuid.uuid4().hex)

    def publish(
        self, writer: TableWriter, description: TableDescription, count: int, *, replace: bool
    ) -> None:
        """Make the writer's finished version the table: its meta row commits here, in the
        store's database, and the version it replaces is removed. If this raises, the caller
        must `writer.discard()`."""
        check_table_name(description.namespace, description.name)
        with self._database.session() as session:
            old = tables.get_table_meta(session, description.name, description.namespace)
            if old is not None and not replace:
                raise _exists(description)
            path = writer.move_to(self.root, description.namespace, description.name)
            if old is not None:
                tables.delete_table_meta(session, description.name, description.namespace)
            meta = StorageTableMeta(
                f_name=description.name,
                f_namespace=description.namespace,
                f_engine=ENGINE,
                f_address={"path": path},
                f_partitions=description.partitions,
                f_count=count,
                f_schema=description.schema,
                f_id_delimiter=description.delimiter,
                f_have_head=description.have_head,
                f_part_of_data=description.part_of_data,
            )
            try:
                tables.create_table_meta(session, meta)
            except IntegrityError:  # another writer published the same table meanwhile
                raise _exists(description) from None
        writer.published()
        if old is not None:
            self._remove_version(_path_of(old))

    def write_table(
        self,
        description: TableDescription,
        data: pa.Table | Iterable[pa.RecordBatch],
        *,
        schema: pa.Schema | None = None,
        replace: bool = False,
    ) -> int:
        """Write a whole table (a component's output, say) and publish it; returns its count.

        `data` is a table, or batches of `schema`. Repeated ids keep their last row.
        """
        check_table_name(description.namespace, description.name)
        if isinstance(data, pa.Table):
            schema, batches = data.schema, data.to_batches()
        elif schema is None:
            raise InvalidArgument("write_table needs the schema of the batches it is given")
        else:
            batches = data
        writer = self.writer(schema, description.partitions)
        try:
            for batch in batches:
                writer.write(batch)
            count = writer.finish()
            self.publish(writer, description, count, replace=replace)
        except BaseException:
            writer.discard()
            raise
        return count

    def _remove_version(self, path: str | None) -> None:
        """Remove a version that no meta row points at any more (and its table's directories,
        if that leaves them empty)."""
        if path:
            version = self.root / path
            shutil.rmtree(version, ignore_errors=True)
            _remove_if_empty(version.parent)
            _remove_if_empty(version.parent.parent)

    # --- reading ----------------------------------------------------------------------------

    def describe(self, namespace: str, name: str) -> StorageTableMeta | None:
        with self._database.session() as session:
            return tables.get_table_meta(session, name, namespace)

    def _meta(self, namespace: str, name: str) -> StorageTableMeta:
        meta = self.describe(namespace, name)
        if meta is None:
            raise NotFound(
                f"table {namespace}.{name} does not exist", namespace=namespace, table_name=name
            )
        return meta

    def read_batches(self, namespace: str, name: str) -> Iterator[pa.RecordBatch]:
        """The table's rows in the order they were written, a record batch at a time."""
        return self.batches_of(self._meta(namespace, name))

    def batches_of(self, meta: StorageTableMeta) -> Iterator[pa.RecordBatch]:
        return _batches_in(self.root / _path_of(meta))

    def schema_of(self, meta: StorageTableMeta) -> pa.Schema:
        path = self.root / _path_of(meta) / _partition_file(0)
        with pa.OSFile(str(path)) as source:
            schema: pa.Schema = pa.ipc.open_file(source).schema
        return schema

    def read_table(self, namespace: str, name: str) -> pa.Table:
        """The whole table in memory: the id column first, then the others, all text."""
        meta = self._meta(namespace, name)
        return pa.Table.from_batches(list(self.batches_of(meta)), schema=self.schema_of(meta))

    def schema(self, namespace: str, name: str) -> pa.Schema:
        return self.schema_of(self._meta(namespace, name))

    def partition_files(self, namespace: str, name: str) -> list[Path]:
        """The table's partition files, for readers elsewhere (Spark's executors) on storage
        they share with this node: `read_partition` each, then `interleave` them."""
        return sorted((self.root / _path_of(self._meta(namespace, name))).glob("part-*.arrow"))

    # --- deleting and recovery --------------------------------------------------------------

    def delete_table(self, namespace: str, name: str) -> bool:
        """Delete the table's meta row, then its files; False if there is no such table."""
        with self._database.session() as session:
            meta = tables.delete_table_meta(session, name, namespace)
        if meta is None:
            return False
        self._remove_version(_path_of(meta))
        return True

    def collect_garbage(self) -> None:
        """Remove what crashed writers left: their temporary versions, and their versions no
        meta row points at. Writers that are alive (their lock is held) are left alone: other
        nodes sharing the store may be writing meanwhile."""
        temporary = self.root / TEMPORARY
        if not temporary.is_dir():
            return  # nothing was ever written here
        for version in _subdirectories(temporary):
            with _abandoned(temporary / f"{version.name}{LOCK}") as abandoned:
                if abandoned:
                    shutil.rmtree(version, ignore_errors=True)
        with self._database.session() as session:
            live = {
                _path_of(meta)
                for namespace in _subdirectories(self.root)
                for meta in tables.list_table_metas(session, namespace.name)
            }
        for namespace in _subdirectories(self.root):
            for name in _subdirectories(namespace):
                for version in _subdirectories(name):
                    relative = version.relative_to(self.root).as_posix()
                    if relative in live:
                        continue
                    with _abandoned(temporary / f"{version.name}{LOCK}") as abandoned:
                        # A writer frees its lock once its meta has committed: asked now,
                        # the meta says whether the version became the table meanwhile.
                        meta = self.describe(namespace.name, name.name) if abandoned else None
                        if abandoned and (meta is None or _path_of(meta) != relative):
                            shutil.rmtree(version, ignore_errors=True)
                _remove_if_empty(name)
            _remove_if_empty(namespace)
        for lock in temporary.glob(f"*{LOCK}"):  # of writers that died before their version
            with _abandoned(lock):
                pass


def _exists(description: TableDescription) -> AlreadyExists:
    return AlreadyExists(
        f"table {description.namespace}.{description.name} already exists; "
        "replace it (an upload does with drop 1) or delete it first",
        namespace=description.namespace,
        table_name=description.name,
    )


def _batches_in(directory: Path) -> Iterator[pa.RecordBatch]:
    """The batches of a version's partitions, in the order they were written."""
    sources = [pa.OSFile(str(path)) for path in sorted(directory.glob("part-*.arrow"))]
    try:
        readers = [pa.ipc.open_file(source) for source in sources]
        for partition, index in _written_order([r.num_record_batches for r in readers]):
            yield readers[partition].get_batch(index)
    finally:
        for source in sources:
            source.close()


def read_partition(path: str | Path) -> list[pa.RecordBatch]:
    """One partition file's batches (a reader that has no `TableStore`: a Spark executor)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        return [reader.get_batch(index) for index in range(reader.num_record_batches)]


def interleave(partitions: Sequence[Sequence[pa.RecordBatch]]) -> Iterator[pa.RecordBatch]:
    """Partitions' batches (`read_partition`'s, in file order) in the order they were written."""
    for partition, index in _written_order([len(batches) for batches in partitions]):
        yield partitions[partition][index]


def _written_order(counts: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(partition, batch) in writing order: writers deal batches to partitions in turn."""
    for index in range(max(counts, default=0)):
        for partition, count in enumerate(counts):
            if index < count:
                yield partition, index


def _partition_file(partition: int) -> str:
    return f"part-{partition:05d}.arrow"


def _path_of(meta: StorageTableMeta) -> str:
    path = meta.f_address.get("path")
    if not isinstance(path, str):
        raise InvalidArgument(
            f"table {meta.f_namespace}.{meta.f_name} is not stored by this node's table store",
            engine=meta.f_engine,
        )
    return path


def _subdirectories(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.is_dir() and p.name != TEMPORARY]


class _WriterLock:
    """An exclusive `flock` on a file, held from creation until `release`. The kernel drops
    it when the process dies, so a lock that can be taken is a writer that is gone."""

    def __init__(self, path: Path) -> None:
        self._path = path
        while True:
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A collector may have removed the file while this waited for its lock: then
            # the lock is on a file nobody else can find, and a new one is needed.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    self._fd: int | None = fd
                    return
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            self._path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def _abandoned(path: Path) -> Iterator[bool]:
    """Whether the writer of the lock file at `path` is gone. If so, its lock is held (no
    writer can take it) while the block removes what it left, and the file is removed after."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:  # a writer takes its lock first: this one ended or never began
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: it holds live tables
        directory.rmdir()


class _IdIndex:
    """Every id with its row number, spread over `ID_BUCKETS` files by a hash of the id.

    A repeated id lands twice in the same bucket, so repeats are found one bucket at a time:
    the memory needed is a bucket's, about 1/64 of the ids, whatever the table's size. A table
    whose ids never filled a flush keeps them in memory, as one bucket: a small table (FATE's
    examples, a component's output) costs no bucket files.
    """

    _SCHEMA = pa.schema([("id", pa.string()), ("row", pa.int64())])

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()
        self._waiting: list[tuple[pa.Array, int]] = []
        self._waiting_rows = 0
        self._files: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
        self._held: pa.Table | None = None

    def add(self, ids: pa.Array, first_row: int) -> None:
        if not len(ids):
            return
        self._waiting.append((ids, first_row))
        self._waiting_rows += len(ids)
        if self._waiting_rows >= _IDS_PER_FLUSH:
            self._flush()

    def _take_waiting(self) -> pa.RecordBatch:
        """The waiting ids with their row numbers."""
        ids = pa.concat_arrays([chunk for chunk, _ in self._waiting] or [pa.array([], pa.string())])
        rows = np.concatenate(
            [np.arange(first, first + len(chunk), dtype=np.int64) for chunk, first in self._waiting]
            or [np.array([], np.int64)]
        )
        self._waiting, self._waiting_rows = [], 0
        return pa.RecordBatch.from_arrays([ids, pa.array(rows)], schema=self._SCHEMA)

    def _flush(self) -> None:
        if not self._waiting:
            return
        entries = self._take_waiting()
        buckets = _buckets(entries["id"])
        order = np.argsort(buckets, kind="stable")
        counts = np.bincount(buckets, minlength=ID_BUCKETS)
        grouped = entries.take(pa.array(order))
        start = 0
        for bucket, count in enumerate(counts.tolist()):
            if count:
                if bucket not in self._files:
                    path = str(self.directory / f"{bucket:03d}.arrow")
                    self._files[bucket] = pa.ipc.new_stream(path, self._SCHEMA)
                self._files[bucket].write_batch(grouped.slice(start, count))
                start += count

    def close(self) -> None:
        """Write the waiting ids out and close the bucket files, or keep the ids in memory
        when none were written yet."""
        if self._files:
            self._flush()
        else:
            self._held = pa.Table.from_batches([self._take_waiting()])
        for file in self._files.values():
            file.close()

    def _bucket_tables(self) -> Iterator[pa.Table]:
        if self._held is not None:
            yield self._held
            return
        for bucket in sorted(self._files):
            with pa.OSFile(str(self.directory / f"{bucket:03d}.arrow")) as source:
                yield pa.ipc.open_stream(source).read_all()

    def replaced_rows(self) -> pa.Array:
        """The row numbers of rows whose id comes again in a later row (after `close`)."""
        replaced: list[pa.Array] = []
        for entries in self._bucket_tables():
            if pc.count_distinct(entries["id"]).as_py() == entries.num_rows:
                continue
            groups = entries.group_by("id").aggregate([("row", "max"), ("row", "count")])
            repeated = groups.filter(pc.greater(groups["row_count"], 1))
            mask = pc.and_(
                pc.is_in(entries["id"], value_set=repeated["id"]),
                pc.invert(pc.is_in(entries["row"], value_set=repeated["row_max"])),
            )
            replaced.extend(entries["row"].filter(mask).chunks)
        return pa.concat_arrays(replaced) if replaced else pa.array([], pa.int64())


def _buckets(ids: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The bucket of each id, from a hash of the id computed for all ids at once."""
    try:
        # Ids are integers as a rule (FATE's examples': row numbers): their value is a
        # hash, at a fraction of the cost of hashing bytes. "08" and "8" share a bucket,
        # which only means they are compared.
        hashes: np.ndarray[Any, np.dtype[np.uint64]] = (
            pc.cast(ids, pa.int64()).to_numpy().astype(np.uint64)
        )
    except pa.ArrowInvalid:
        hashes = _byte_hashes(ids)
    # Fibonacci hashing: the top bits of a multiple by 2**64/phi spread close hashes apart.
    spread = (hashes * _FIBONACCI) >> np.uint64(64 - _BUCKET_BITS)
    buckets: np.ndarray[Any, np.dtype[np.int64]] = spread.astype(np.int64)
    return buckets


def _byte_hashes(ids: pa.Array) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """A polynomial hash of each id's bytes (mod 2**64)."""
    offsets = np.frombuffer(ids.buffers()[1], np.int32, len(ids) + 1, ids.offset * 4).astype(
        np.int64
    )
    start, end = int(offsets[0]), int(offsets[-1])
    if start == end:  # only empty ids (or none): no bytes to hash
        return np.zeros(len(ids), np.uint64)
    data = np.frombuffer(ids.buffers()[2], np.uint8, end - start, start).astype(np.uint64)
    lengths = np.diff(offsets)
    # Each byte weighs a power of a large odd number by its position in its id ...
    position = np.arange(end - start, dtype=np.int64) - np.repeat(offsets[:-1] - start, lengths)
    powers = np.cumprod(np.full(int(lengths.max()), _HASH_BASE, dtype=np.uint64), dtype=np.uint64)
    powers = np.concatenate((np.ones(1, np.uint64), powers[:-1]))
    weighted = data * powers[position]
    # ... and an id's hash is the sum over its bytes: a difference of running sums.
    sums = np.concatenate((np.zeros(1, np.uint64), np.cumsum(weighted, dtype=np.uint64)))
    hashes: np.ndarray[Any, np.dtype[np.uint64]] = (
        sums[offsets[1:] - start] - sums[offsets[:-1] - start]
    )
    return hashes


_HASH_BASE = np.uint64(1099511628211)  # FNV's 64-bit prime
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)
