"""Where a component's heavy loops run: in the task's process on every core (the local engine),
or as Spark jobs on partitions (`pyspark`), as a job's FATE `job_parameters` choose.

    computing = context.computing                              # from the job's parameters
    signed = computing.map_partitions(sign, values)            # sign(slice) -> list, in order
    rows = computing.map_partitions(hash_rows, ids)            # -> an array of rows, stacked
    table = computing.read_table(context.tables, namespace, name)

The engine is FATE's: `computing_engine` `SPARK` (or, before FATE 1.5, `backend: 1`) runs on
Spark; `STANDALONE` and `EGGROLL` (FATE's names for a party's own computing; `backend: 0`, the
default) run locally. Both engines give the same results: a function sees consecutive slices of
its items and the results are joined in order, so only where the work runs
differs. A function that returns an array of rows (numbers as bytes: 128 bytes for a 1024-bit
integer, where a Python integer and its pointer take about 180) has its results stacked: what a
large batch keeps between two steps stays compact. A batch larger than `WAVE` items runs in
waves of that many, one after the other (on Spark, a job each), so that what a slice's work
holds while it runs (its Python integers; on Spark, the results coming back through the
driver's JVM) is bounded whatever the batch's size. On Spark, a wave's slices are
`computing_partitions` (FATE's job parameter), or the cluster's default parallelism without
it, and more where a slice would pass `SPARK_SLICE` items; `spark_run` takes FATE's
spark-submit options.

The Spark master is the party's, from its node config (`spark_master`: `local[2]`,
`spark://host:7077`, `yarn`; `spark_conf` for anything else), never the job's: a job chooses
the engine, the party says where it is. One SparkSession per process serves every task the
process runs. Functions and their data travel to the executors pickled (Spark's own way,
inside the party: executors run the party's code on the party's data); errors of ours raised
on an executor come back as themselves, so a job fails with the same message on either engine.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.crypto.exponentiation import Rows, joined, on_every_core
from fateflow_grpc.domain.engines import LOCAL, SPARK, computing_choice
from fateflow_grpc.errors import FailedPrecondition, FateFlowError
from fateflow_grpc.storage.table_store import TableStore, interleave, read_partition

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")
R = TypeVar("R")

#: The most items `map_partitions` gives its slices at once (see the module's docstring): 100 MB
#: of Python integers for the RSA intersection's signatures, 77 MB of its results on Spark.
WAVE = 200_000
#: The most items of one Spark task: a slice travels inside its task, and the driver's JVM
#: failed (out of heap, at its default 1 GB) serialising tasks of 37 MB (100,000 of the RSA
#: intersection's 384-byte rows). 20,000 such rows make 7.7 MB.
SPARK_SLICE = 20_000


class Computing(Protocol):
    #: FATE's name of the engine (`STANDALONE` for the local one, `SPARK`).
    engine: str

    @overload
    def map_partitions(
        self, function: Callable[[Sequence[T]], list[R]], items: Sequence[T]
    ) -> list[R]: ...

    @overload
    def map_partitions(
        self, function: Callable[[Any], Rows], items: Sequence[Any] | Rows
    ) -> Rows: ...

    def map_partitions(self, function: Callable[[Any], Any], items: Any) -> Any:
        """`function` of consecutive slices of `items`, its results joined in order (lists end
        to end, arrays of rows, one per item, stacked)."""
        ...

    def read_table(self, store: TableStore, namespace: str, name: str) -> pa.Table:
        """A stored table, whole, in the order it was written."""
        ...


def computing_of(
    job_parameters: Mapping[str, Any], spark_master: str, spark_conf: Mapping[str, str]
) -> Computing:
    """The engine the job's parameters choose, on this party's Spark when it is Spark."""
    choice = computing_choice(job_parameters, spark_master)
    if choice.engine == LOCAL:
        return LocalComputing()
    return SparkComputing(spark_master, {**spark_conf, **choice.spark_conf}, choice.partitions)


class LocalComputing:
    """The task's own process: slices on threads, one per core (gmpy2 and Arrow release the
    GIL in their loops)."""

    engine = LOCAL

    def map_partitions(self, function: Callable[[Any], Any], items: Any) -> Any:
        return _in_waves(lambda wave: on_every_core(function, wave), items)

    def read_table(self, store: TableStore, namespace: str, name: str) -> pa.Table:
        return store.read_table(namespace, name)


#: The local engine: what role functions use when no engine is given (tests, benchmarks).
LOCAL_COMPUTING: Computing = LocalComputing()


class SparkComputing:
    """Spark jobs: each slice is one partition of an RDD, run by an executor's Python worker."""

    engine = SPARK

    def __init__(self, master: str, conf: Mapping[str, str], partitions: int | None) -> None:
        self._master = master
        self._conf = dict(conf)
        self._partitions = partitions

    def _context(self) -> Any:
        return spark_session(self._master, self._conf).sparkContext

    def _slices(self, count: int) -> list[tuple[int, int]]:
        wanted = self._partitions or self._context().defaultParallelism
        parts = max(1, min(max(wanted, -(-count // SPARK_SLICE)), count))
        bounds = [count * k // parts for k in range(parts + 1)]
        return list(itertools.pairwise(bounds))

    def _run(self, function: Callable[[Any], R], inputs: list[Any]) -> list[R]:
        """function(input) for each input, one partition each, as one Spark job."""
        if not inputs:
            return []
        guarded = _Guarded(function)
        outcomes = self._context().parallelize(inputs, len(inputs)).map(guarded).collect()
        results = []
        for failure, result in outcomes:
            if failure is not None:
                raise failure
            results.append(result)
        return results

    def map_partitions(self, function: Callable[[Any], Any], items: Any) -> Any:
        def run(wave: Any) -> Any:
            return joined(self._run(function, [wave[a:b] for a, b in self._slices(len(wave))]))

        return _in_waves(run, items)

    def read_table(self, store: TableStore, namespace: str, name: str) -> pa.Table:
        files = [str(path) for path in store.partition_files(namespace, name)]
        partitions = self._run(read_partition, files)
        return pa.Table.from_batches(
            list(interleave(partitions)), schema=store.schema(namespace, name)
        )


def _in_waves(run: Callable[[Any], Any], items: Any) -> Any:
    """run(wave) of consecutive waves of at most WAVE items (one, empty, for no items), joined.
    Rows are written into one array as each wave ends, so that a batch's results are never
    held twice (in the waves' arrays and in the joined one)."""
    rows: Rows | None = None
    values: list[Any] = []
    for start in range(0, max(len(items), 1), WAVE):
        wave = items[start : start + WAVE]
        part = run(wave)
        if not isinstance(part, np.ndarray):
            values += part
            continue
        if len(part) != len(wave):
            raise ValueError(f"{len(part)} rows for {len(wave)} items: rows come one per item")
        if rows is None:
            rows = np.empty((len(items), *part.shape[1:]), part.dtype)
        rows[start : start + len(wave)] = part
    return values if rows is None else rows


class _Guarded:
    """Runs on an executor: our errors come back as values (re-raised by the driver), so that
    Spark does not retry a task that can only fail again, and the message stays ours."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __call__(self, item: Any) -> tuple[FateFlowError | None, Any]:
        try:
            return None, self.function(item)
        except FateFlowError as error:
            return error, None


_session_lock = threading.Lock()
_session: tuple[tuple[str, tuple[tuple[str, str], ...]], SparkSession] | None = None


def spark_session(master: str, conf: Mapping[str, str]) -> SparkSession:
    """This process's SparkSession on `master` with `conf`, started once (a JVM and its
    executors take seconds), replaced only when a task asks for other settings."""
    global _session
    key = (master, tuple(sorted(conf.items())))
    with _session_lock:
        if _session is not None and _session[0] == key:
            return _session[1]
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise FailedPrecondition(
                "this job runs on Spark but pyspark is not installed at this party "
                "(pip install 'fateflow-grpc[spark]')"
            ) from None
        if _session is not None:
            _session[1].stop()
            _session = None
        builder = (
            SparkSession.builder.master(master)
            .appName(f"fateflow-grpc-{os.getpid()}")
            # The executors' Python is ours unless the party's conf names another (a cluster).
            .config("spark.pyspark.python", sys.executable)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        if master.startswith("local"):
            # Everything runs in this machine: nothing listens beyond loopback.
            builder = builder.config("spark.driver.host", "127.0.0.1").config(
                "spark.driver.bindAddress", "127.0.0.1"
            )
        for name, value in conf.items():
            builder = builder.config(name, value)
        try:
            session = builder.getOrCreate()
        except Exception as error:  # pyspark's errors name no common class (no Java, say)
            raise FailedPrecondition(
                f"Spark did not start on master {master}: {error}", spark_master=master
            ) from error
        session.sparkContext.setLogLevel("WARN")
        _session = (key, session)
        return session
