"""FATE's job parameters that choose where a job's table computing runs.

    choice = computing_choice(job_parameters, spark_master)   # refuses what cannot run here

`computing_engine` (FATE 1.5+): `STANDALONE` and `EGGROLL`, FATE's names for a party's own
computing, run in the task's process (the local engine); `SPARK` runs on the party's Spark.
Before 1.5 `backend` said it: 0 EggRoll (the default), 1 Spark. With Spark,
`computing_partitions` is the number of partitions of each Spark job and `spark_run` takes
FATE's spark-submit options. A job chooses the engine; the party says where Spark is (its node
config's `spark_master`), so a job asking for Spark at a party without one is refused when
it is created, by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fateflow_grpc.errors import FailedPrecondition, InvalidArgument

LOCAL = "STANDALONE"
SPARK = "SPARK"
#: FATE's `computing_engine` values, and the engine each runs on here.
ENGINES = {"STANDALONE": LOCAL, "EGGROLL": LOCAL, "SPARK": SPARK}
#: FATE's `backend` (before 1.5): 0 EggRoll, 1 Spark.
BACKENDS = {0: LOCAL, 1: SPARK}
#: FATE's `spark_run` keys (spark-submit options) and the Spark settings they are.
SPARK_RUN = {
    "num-executors": "spark.executor.instances",
    "executor-cores": "spark.executor.cores",
    "executor-memory": "spark.executor.memory",
    "driver-memory": "spark.driver.memory",
    "total-executor-cores": "spark.cores.max",
}


@dataclass(frozen=True)
class ComputingChoice:
    #: FATE's name of the engine: `STANDALONE` (the local one) or `SPARK`.
    engine: str
    #: Spark settings from `spark_run`.
    spark_conf: dict[str, str] = field(default_factory=dict)
    #: Partitions of a Spark job; None: the cluster's default parallelism.
    partitions: int | None = None


def computing_choice(job_parameters: Mapping[str, Any], spark_master: str) -> ComputingChoice:
    engine = _engine(job_parameters)
    if engine == SPARK and not spark_master:
        raise FailedPrecondition(
            "this job computes on Spark (job_parameters computing_engine SPARK or backend 1), "
            "but this party has no spark_master in its node config",
            computing_engine=SPARK,
        )
    spark_run = job_parameters.get("spark_run") or {}
    if not isinstance(spark_run, Mapping):
        raise InvalidArgument("job_parameters spark_run must be a mapping of spark-submit options")
    if spark_run and engine != SPARK:
        raise InvalidArgument(
            "job_parameters spark_run applies to computing_engine SPARK only",
            computing_engine=engine,
        )
    unknown = sorted(set(spark_run) - set(SPARK_RUN))
    if unknown:
        raise InvalidArgument(
            f"job_parameters spark_run takes {', '.join(SPARK_RUN)}; not {', '.join(unknown)}",
            spark_run=",".join(unknown),
        )
    partitions = job_parameters.get("computing_partitions")
    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1
    ):
        raise InvalidArgument(
            f"job_parameters computing_partitions must be a positive integer, not {partitions!r}",
            computing_partitions=partitions,
        )
    return ComputingChoice(
        engine,
        {SPARK_RUN[key]: str(value) for key, value in spark_run.items()},
        partitions if engine == SPARK else None,
    )


def _engine(job_parameters: Mapping[str, Any]) -> str:
    engine = job_parameters.get("computing_engine")
    if engine is not None:
        if str(engine).upper() not in ENGINES:
            raise InvalidArgument(
                f"job_parameters computing_engine must be one of {', '.join(ENGINES)}, "
                f"not {engine!r}",
                computing_engine=engine,
            )
        return ENGINES[str(engine).upper()]
    backend = job_parameters.get("backend")
    if backend is None:
        return LOCAL
    if isinstance(backend, bool) or backend not in BACKENDS:
        raise InvalidArgument(
            f"job_parameters backend must be 0 (EggRoll) or 1 (Spark), not {backend!r}",
            backend=backend,
        )
    return BACKENDS[backend]
