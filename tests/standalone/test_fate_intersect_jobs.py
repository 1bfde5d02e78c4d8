"""FATE 1.11's Intersection example jobs that need a second job or match-id tables, on a `fateflow
standalone` serving FATE's party ids: the cache job (`run_cache`), then the CacheLoader job that
loads its cache (FATE's testsuite fills in the first job's id, as here); and an Intersection of
FATE's `sample_id` tables read `with_match_id`. The examples are read from FATE's mirror."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.data import EXAMPLES, fate_table
from tests.standalone.process import Standalone, run_standalone
from tests.standalone.test_fate_io_jobs import _repository, _upload
from tests.standalone.test_standalone import submit, wait_final

pytestmark = pytest.mark.slow

PARTIES = (9999, 10000)
FOLDER = "v1.11.4:examples/dsl/v2/intersect"


def _example(name: str) -> Any:
    shown = subprocess.run(
        ["git", "-C", str(_repository()), "show", f"{FOLDER}/{name}"],
        capture_output=True,
        check=True,
    )
    return json.loads(shown.stdout)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    _repository()
    tables = {
        "breast_hetero_guest": EXAMPLES / "breast_hetero_guest.csv",
        "breast_hetero_host": EXAMPLES / "breast_hetero_host.csv",
        "breast_hetero_guest_sample_id": fate_table("breast_hetero_guest_sample_id.csv"),
        "breast_hetero_host_sample_id": fate_table("breast_hetero_host_sample_id.csv"),
    }
    with run_standalone(tmp_path_factory.mktemp("standalone"), PARTIES) as running:
        with running.channel() as channel:
            for table, path in tables.items():
                _upload(channel, path, table, 1)
        yield running


def _run(standalone: Standalone, dsl: dict[str, Any], conf: dict[str, Any]) -> str:
    with standalone.channel() as channel:
        job_id = submit(channel, dsl, conf)
        ended = wait_final(channel, job_id)
    assert set(ended.values()) == {"success"}, ended
    return job_id


def _output(standalone: Standalone, job_id: str, role: str, party: int, component: str) -> Any:
    answer = standalone.post(
        "tracking/component/output/data",
        {"job_id": job_id, "role": role, "party_id": party, "component_name": component},
    )
    assert answer["retcode"] == 0, answer
    return answer


def _summary(standalone: Standalone, job_id: str, component: str) -> dict[str, Any]:
    answer = standalone.post(
        "tracking/component/summary/download",
        {"job_id": job_id, "role": "guest", "party_id": 9999, "component_name": component},
    )
    assert answer["retcode"] == 0, answer
    summary: dict[str, Any] = answer["data"]
    return summary


def test_cache_then_cache_loader(standalone: Standalone) -> None:
    cache_job = _run(
        standalone,
        _example("test_intersect_job_cache_dsl.json"),
        _example("test_intersect_job_ecdh_cache_conf.json"),
    )
    conf = _example("test_intersect_job_ecdh_cache_loader_conf.json")
    for role in ("guest", "host"):
        conf["component_parameters"]["role"][role]["0"]["cache_loader_0"]["job_id"] = cache_job
    job_id = _run(standalone, _example("test_intersect_job_cache_loader_dsl.json"), conf)
    # Both tables are FATE's whole breast tables: every id is common.
    assert _summary(standalone, job_id, "intersect_0")["intersect_num"] == 569
    assert _summary(standalone, cache_job, "intersect_1")["intersect_num"] == 569


def test_intersection_on_match_ids(standalone: Standalone) -> None:
    """FATE's sample_id tables read `with_match_id`: the guest's 2139 rows have 569 distinct
    match ids, the host's 299 rows 299; the host's output is keyed by the guest's sample ids."""
    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "data_transform_0": {
                "module": "DataTransform",
                "input": {"data": {"data": ["reader_0.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
            },
            "intersection_0": {
                "module": "Intersection",
                "input": {"data": {"data": ["data_transform_0.data"]}},
                "output": {"data": ["data"]},
            },
        }
    }
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {"intersection_0": {"intersect_method": "ecdh"}},
            "role": {
                role: {
                    "0": {
                        "reader_0": {
                            "table": {
                                "name": f"breast_hetero_{role}_sample_id",
                                "namespace": "experiment",
                            }
                        },
                        "data_transform_0": {"with_label": role == "guest", "with_match_id": True},
                    }
                }
                for role in ("guest", "host")
            },
        },
    }
    job_id = _run(standalone, dsl, conf)
    with fate_table("breast_hetero_guest_sample_id.csv").open() as file:
        guest_rows = list(csv.DictReader(file))
    with fate_table("breast_hetero_host_sample_id.csv").open() as file:
        host_matches = {row["id"] for row in csv.DictReader(file)}
    kept = {row["mock_id"] for row in guest_rows if row["id"] in host_matches}
    summary = _summary(standalone, job_id, "intersection_0")
    assert summary["intersect_num"] == len(host_matches)
    for role, party in (("guest", 9999), ("host", 10000)):
        answer = _output(standalone, job_id, role, party, "intersection_0")
        assert answer["meta"]["total"] == [len(kept)]
