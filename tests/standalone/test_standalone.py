"""`fateflow standalone` as FATE's: its local parties, each a node process of its own, served
at one HTTP and one gRPC address. A table uploaded there is every party's; a job may give
the parties any roles; queries, logs and stops reach every party that holds the job; a party
whose node dies is named, and the others keep serving."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from fateflow.v1 import data_service_pb2 as data_pb
from fateflow.v1 import (
    data_service_pb2_grpc,
    job_pb2,
    job_service_pb2_grpc,
    table_service_pb2_grpc,
)
from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import table_service_pb2 as table_pb
from tests.multiparty.cluster import EXAMPLES, FINAL, wait_for
from tests.standalone.process import Standalone, run_standalone

pytestmark = pytest.mark.slow

PARTIES = (9999, 10000, 10001)
TABLES = ("breast_hetero_guest", "breast_hetero_host")


def jobs(channel: grpc.Channel) -> job_service_pb2_grpc.JobServiceStub:
    return job_service_pb2_grpc.JobServiceStub(channel)  # type: ignore[no-untyped-call]


def _upload(channel: grpc.Channel, table: str) -> str:
    path = EXAMPLES / "data" / f"{table}.csv"
    settings = data_pb.UploadDataRequest(
        file=path.name, head=1, partition=4, namespace="experiment", table_name=table, drop=1
    )
    data = data_service_pb2_grpc.DataServiceStub(channel)  # type: ignore[no-untyped-call]
    done = data.UploadData(iter([settings, data_pb.UploadDataRequest(chunk=path.read_bytes())]))
    return str(done.job_id)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    """Parties 9999, 10000 and 10001; the breast tables uploaded once, at its one address."""
    with run_standalone(tmp_path_factory.mktemp("standalone"), PARTIES) as running:
        with running.channel() as channel:
            for table in TABLES:
                _upload(channel, table)
        yield running


def submit(channel: grpc.Channel, dsl: dict[str, Any], conf: dict[str, Any]) -> str:
    request = pb.SubmitJobRequest(
        job_dsl=json_format.ParseDict(dsl, struct_pb2.Struct()),
        job_runtime_conf=json_format.ParseDict(conf, struct_pb2.Struct()),
    )
    return str(jobs(channel).SubmitJob(request, timeout=60).job_id)


def rows(channel: grpc.Channel, job_id: str) -> list[job_pb2.JobRow]:
    return list(jobs(channel).QueryJob(pb.QueryJobRequest(job_id=job_id), timeout=30).data)


def statuses(channel: grpc.Channel, job_id: str) -> dict[tuple[str, str], str]:
    return {(r.f_role, r.f_party_id): r.f_status for r in rows(channel, job_id)}


def wait_final(channel: grpc.Channel, job_id: str, timeout: float = 300) -> dict[Any, str]:
    wait_for(
        lambda: set(statuses(channel, job_id).values()) <= FINAL,
        timeout,
        f"job {job_id} to end at every party",
    )
    return statuses(channel, job_id)


def intersection_job(guest: int, hosts: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reader, DataTransform and Intersection: the guest's table and the host's table read by
    whichever parties play them."""
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
    table = {"namespace": "experiment"}
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": guest},
        "role": {"guest": [guest], "host": hosts},
        "job_parameters": {"common": {"work_mode": 0}},
        "component_parameters": {
            "role": {
                "guest": {
                    "0": {
                        "reader_0": {"table": {**table, "name": TABLES[0]}},
                        "data_transform_0": {"with_label": True, "label_name": "y"},
                    }
                },
                "host": {
                    "all": {
                        "reader_0": {"table": {**table, "name": TABLES[1]}},
                        "data_transform_0": {"with_label": False},
                    }
                },
            }
        },
    }
    return dsl, conf


def test_one_upload_serves_guest_and_hosts_in_any_roles(standalone: Standalone) -> None:
    """Guest 10000 and hosts 9999 and 10001, the opposite of FATE's examples' ids, each reading
    the table uploaded once at the standalone's address."""
    with standalone.channel() as channel:
        job_id = submit(channel, *intersection_job(10000, [9999, 10001]))
        assert wait_final(channel, job_id) == {
            ("guest", "10000"): "success",
            ("host", "9999"): "success",
            ("host", "10001"): "success",
        }
        (initiator,) = [r for r in rows(channel, job_id) if r.f_is_initiator]
        assert (initiator.f_role, initiator.f_party_id) == ("guest", "10000")
        views = jobs(channel).QueryDataView(
            pb.QueryDataViewRequest(job_id=job_id, component_name="intersection_0")
        )
        tables = table_service_pb2_grpc.TableServiceStub(channel)  # type: ignore[no-untyped-call]
        counts = {}
        for view in views.data:
            info = tables.GetTableInfo(
                table_pb.GetTableInfoRequest(
                    namespace=view.f_table_namespace, table_name=view.f_table_name
                )
            )
            counts[(view.f_role, view.f_party_id)] = info.data.count
    # Every id of the guest's table is in the host's: all of them meet.
    assert counts == {("guest", "10000"): 569, ("host", "9999"): 569, ("host", "10001"): 569}


def test_query_list_log_and_stop_at_the_one_address(standalone: Standalone) -> None:
    """A hetero LR job of guest 9999, host 10000 and a separate arbiter 10001, stopped while it
    trains, then looked at over gRPC and over HTTP."""
    dsl = json.loads((EXAMPLES / "hetero_lr" / "dsl_v2.json").read_text())
    conf = json.loads((EXAMPLES / "hetero_lr" / "conf_v2.json").read_text())
    assert conf["role"]["arbiter"] == [10001]
    conf["component_parameters"]["common"]["hetero_lr_0"]["max_iter"] = 1000
    with standalone.channel() as channel:
        job_id = submit(channel, dsl, conf)
        stub = jobs(channel)
        wait_for(
            lambda: any(
                t.f_component_name == "hetero_lr_0" and t.f_status == "running"
                for t in stub.QueryTask(pb.QueryTaskRequest(job_id=job_id, role="arbiter")).data
            ),
            120,
            "the arbiter to train",
        )
        stub.StopJob(pb.StopJobRequest(job_id=job_id), timeout=60)
        assert wait_final(channel, job_id) == {
            ("guest", "9999"): "canceled",
            ("host", "10000"): "canceled",
            ("arbiter", "10001"): "canceled",
        }
        newest = stub.ListJobs(pb.ListJobsRequest(limit=3)).data
        assert {(r.f_job_id, r.f_party_id) for r in newest} == {
            (job_id, str(party)) for party in PARTIES
        }
        # The arbiter's task, from the arbiter's own node (the initiator keeps a copy too).
        (arbiter,) = stub.QueryTask(
            pb.QueryTaskRequest(job_id=job_id, component_name="hetero_lr_0", role="arbiter")
        ).data
        assert (arbiter.f_party_id, arbiter.f_run_on_this_party) == ("10001", True)
        pieces = list(stub.DownloadJobLog(pb.DownloadJobLogRequest(job_id=job_id)))
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.chunk for p in pieces))) as archive:
        logs = {Path(name).parts[:2] for name in archive.getnames() if name.endswith(".log")}
    assert {("guest", "9999"), ("host", "10000"), ("arbiter", "10001")} <= logs

    queried = standalone.post("job/query", {"job_id": job_id})
    assert queried["retcode"] == 0
    assert {(r["f_role"], r["f_status"]) for r in queried["data"]} == {
        ("guest", "canceled"),
        ("host", "canceled"),
        ("arbiter", "canceled"),
    }
    again = standalone.post("job/stop", {"job_id": job_id})
    assert again["retcode"] == 103 and "already ended" in again["retmsg"]
    unknown = standalone.post("job/task/query", {"job_id": "20200101000000000404"})
    assert (
        unknown["retcode"] == 101
        and "job 20200101000000000404, at every local party" in unknown["retmsg"]
    )


def test_a_partys_node_that_dies_is_named_and_the_others_keep_serving(tmp_path: Path) -> None:
    with run_standalone(tmp_path, (9999, 10000)) as standalone, standalone.channel() as channel:
        upload = _upload(channel, TABLES[0])
        (host,) = [pid for party, pid in _node_pids(standalone) if party == 10000]
        os.kill(host, signal.SIGKILL)
        stub = jobs(channel)
        # The keeper, 9999, still answers what is its own.
        (row,) = stub.QueryJob(pb.QueryJobRequest(job_id=upload, role="local", party_id=0)).data
        assert row.f_status == "success"
        assert stub.QueryJob(pb.QueryJobRequest(job_id=upload, party_id=9999)).data == []
        # Refused at once (a front that waited for the dead node would pass the deadline).
        for request in (
            pb.QueryJobRequest(job_id=upload, party_id=10000),
            pb.QueryJobRequest(job_id=upload),  # asks every party
        ):
            with pytest.raises(grpc.RpcError) as caught:
                stub.QueryJob(request, timeout=60)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "party 10000's node" in caught.value.details()
        over_http = standalone.post("job/query", {"job_id": upload})
        assert over_http["retcode"] == 104 and "party 10000's node" in over_http["retmsg"]
        wait_for(
            lambda: "party 10000's node exited" in standalone.log.read_text(),
            30,
            "the standalone to say that party 10000's node exited",
        )
    assert standalone.process.returncode == 0


def _node_pids(standalone: Standalone) -> list[tuple[int, int]]:
    """(party id, pid) of the standalone's node processes, found by their config files."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        for party in standalone.layout.parties:
            if str(party.data_dir / "node.yaml").encode() in command:
                found.append((party.party_id, int(cmdline.parent.name)))
    return found
