"""FATE's job parameters choose the computing engine; what a party cannot run is refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from fateflow_grpc.domain.engines import LOCAL, SPARK, ComputingChoice, computing_choice
from fateflow_grpc.errors import FailedPrecondition, InvalidArgument

MASTER = "spark://spark-master:7077"


@pytest.mark.parametrize(
    ("job_parameters", "engine"),
    [
        ({}, LOCAL),
        ({"work_mode": 1, "backend": 0}, LOCAL),
        ({"work_mode": 0, "backend": 0}, LOCAL),
        ({"work_mode": 1, "backend": 1}, SPARK),
        ({"computing_engine": "EGGROLL"}, LOCAL),
        ({"computing_engine": "STANDALONE"}, LOCAL),
        ({"computing_engine": "SPARK", "backend": 0}, SPARK),  # FATE: the engine wins
        ({"computing_engine": "spark"}, SPARK),
    ],
)
def test_fates_names_choose_the_engine(job_parameters: dict[str, Any], engine: str) -> None:
    assert computing_choice(job_parameters, MASTER).engine == engine


def test_spark_settings_come_from_fates_spark_run_and_computing_partitions() -> None:
    choice = computing_choice(
        {
            "computing_engine": "SPARK",
            "computing_partitions": 8,
            "spark_run": {"num-executors": 4, "executor-memory": "2g"},
        },
        MASTER,
    )
    assert choice == ComputingChoice(
        SPARK, {"spark.executor.instances": "4", "spark.executor.memory": "2g"}, 8
    )


def test_a_party_without_spark_refuses_a_spark_job() -> None:
    with pytest.raises(FailedPrecondition, match="no spark_master in its node config"):
        computing_choice({"backend": 1}, "")
    assert computing_choice({"backend": 0}, "").engine == LOCAL


@pytest.mark.parametrize(
    ("job_parameters", "name"),
    [
        ({"computing_engine": "LINKIS_SPARK"}, "computing_engine"),
        ({"backend": 2}, "backend"),
        ({"backend": True}, "backend"),
        ({"computing_engine": "SPARK", "computing_partitions": 0}, "computing_partitions"),
        ({"computing_engine": "SPARK", "spark_run": {"conf": {}}}, "spark_run"),
        ({"spark_run": {"num-executors": 2}}, "spark_run"),
        ({"computing_engine": "SPARK", "spark_run": ["num-executors"]}, "spark_run"),
    ],
)
def test_what_cannot_run_is_refused_by_name(job_parameters: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidArgument, match=name):
        computing_choice(job_parameters, MASTER)
