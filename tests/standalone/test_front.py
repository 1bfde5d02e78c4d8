"""The standalone front over two real cores in this process, sharing one table store as the
standalone's parties do: where each RPC goes, how answers are merged, and which errors come
back. (`test_standalone.py` runs the real thing, with node processes and jobs.)"""

from __future__ import annotations

import io
import socket
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from fateflow.v1 import data_service_pb2 as data_pb
from fateflow.v1 import (
    data_service_pb2_grpc,
    job_service_pb2_grpc,
    table_service_pb2_grpc,
    tracking_service_pb2_grpc,
)
from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import table_service_pb2 as table_pb
from fateflow.v1 import tracking_service_pb2 as tracking_pb
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.node import Node
from fateflow_grpc.server import create_server
from fateflow_grpc.standalone import rules
from fateflow_grpc.standalone.front import LocalCore, create_front
from fateflow_grpc.storage.database import Database, create_database
from tests.services.errors import expect_error
from tests.services.rows import JOB_ID, add_job

ROOT = Path(__file__).resolve().parents[2]
GUEST_CSV = (ROOT / "examples" / "data" / "breast_hetero_guest.csv").read_bytes()
GUEST, HOST = 9999, 10000


@dataclass
class Core:
    node: Node
    database: Database
    server: grpc.Server
    address: str


@pytest.fixture
def cores(tmp_path: Path) -> Iterator[dict[int, Core]]:
    """Parties 9999 and 10000, each its own core and database, one table store for both."""
    tables = create_database(f"sqlite:///{tmp_path / 'tables.db'}")
    started = {}
    for party_id in (GUEST, HOST):
        config = NodeConfig(
            party_id=party_id,
            data_dir=tmp_path / str(party_id),
            table_dir=tmp_path / "tables",
            table_database_url=f"sqlite:///{tmp_path / 'tables.db'}",
            test_components=True,
        )
        config.data_dir.mkdir()
        database = create_database(config.database)
        node = Node(config, database, tables)
        server, port = create_server(node, "127.0.0.1:0")
        server.start()
        started[party_id] = Core(node, database, server, f"127.0.0.1:{port}")
    yield started
    for core in started.values():
        core.server.stop(grace=None)
        core.node.close()
        core.database.dispose()
    tables.dispose()


def _front(parties: list[LocalCore]) -> Iterator[grpc.Channel]:
    server, port, front = create_front(parties, "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(grace=None)
        front.close()


@pytest.fixture
def channel(cores: dict[int, Core]) -> Iterator[grpc.Channel]:
    yield from _front([LocalCore(p, core.address) for p, core in cores.items()])


def jobs(channel: grpc.Channel) -> job_service_pb2_grpc.JobServiceStub:
    return job_service_pb2_grpc.JobServiceStub(channel)  # type: ignore[no-untyped-call]


def test_a_table_uploaded_at_the_front_is_every_partys(
    channel: grpc.Channel, cores: dict[int, Core]
) -> None:
    settings = data_pb.UploadDataRequest(
        file="guest.csv", head=1, partition=2, namespace="experiment", table_name="guest"
    )
    chunks = [
        data_pb.UploadDataRequest(chunk=GUEST_CSV[i : i + 4096]) for i in range(0, 40960, 4096)
    ]
    rest = data_pb.UploadDataRequest(chunk=GUEST_CSV[40960:])
    data = data_service_pb2_grpc.DataServiceStub(channel)  # type: ignore[no-untyped-call]
    uploaded = data.UploadData(iter([settings, *chunks, rest]))
    for core in cores.values():
        table = core.node.tables.read_table("experiment", "guest")
        assert table.num_rows == 569
    # The upload is a job of the keeper, the first party: its history is there.
    assert uploaded.data.logs_directory.startswith(str(cores[GUEST].node.config.data_dir))
    (entry,) = data.ListUploadHistory(data_pb.ListUploadHistoryRequest()).data
    assert entry[uploaded.job_id]["upload_info"]["upload_count"] == 569
    tables = table_service_pb2_grpc.TableServiceStub(channel)  # type: ignore[no-untyped-call]
    info = tables.GetTableInfo(
        table_pb.GetTableInfoRequest(namespace="experiment", table_name="guest")
    )
    assert (info.data.count, info.data.exist) == (569, True)
    tables.DeleteTable(table_pb.DeleteTableRequest(namespace="experiment", table_name="guest"))
    assert cores[HOST].node.tables.describe("experiment", "guest") is None


def test_queries_and_lists_gather_every_partys_rows(
    channel: grpc.Channel, cores: dict[int, Core]
) -> None:
    add_job(cores[GUEST].database)  # the initiator, guest 9999
    add_job(cores[HOST].database, role="host", party_id=str(HOST))
    add_job(cores[HOST].database, role="arbiter", party_id=str(HOST))
    stub = jobs(channel)
    rows = stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID)).data
    assert sorted((r.f_role, r.f_party_id) for r in rows) == [
        ("arbiter", "10000"),
        ("guest", "9999"),
        ("host", "10000"),
    ]
    (host,) = stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID, role="host")).data
    assert host.f_party_id == str(HOST)
    assert len(stub.ListJobs(pb.ListJobsRequest(limit=2)).data) == 2
    assert len(stub.ListTasks(pb.ListTasksRequest()).data) == 3
    tasks = stub.QueryTask(pb.QueryTaskRequest(job_id=JOB_ID, role="arbiter")).data
    assert [t.f_party_id for t in tasks] == [str(HOST)]
    # A request that names a party reaches that party's core alone.
    config = stub.GetJobConfig(pb.GetJobConfigRequest(job_id=JOB_ID, role="host", party_id=HOST))
    assert config.data.job_id == JOB_ID


def test_every_partys_logs_come_in_one_archive(
    channel: grpc.Channel, cores: dict[int, Core]
) -> None:
    add_job(cores[GUEST].database)
    add_job(cores[HOST].database, role="host", party_id=str(HOST))
    for party_id, role in ((GUEST, "guest"), (HOST, "host")):
        directory = cores[party_id].node.config.data_dir / "logs" / JOB_ID / role / str(party_id)
        directory.mkdir(parents=True)
        (directory / "INFO.log").write_text(f"{role} started\n" * 50_000)
    pieces = list(jobs(channel).DownloadJobLog(pb.DownloadJobLogRequest(job_id=JOB_ID)))
    assert pieces[0].filename == f"job_{JOB_ID}_log.tar.gz"
    assert all(not piece.filename for piece in pieces[1:])
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.chunk for p in pieces))) as archive:
        for role, party_id in (("guest", GUEST), ("host", HOST)):
            member = archive.extractfile(f"./{role}/{party_id}/INFO.log")
            assert member is not None and member.read() == f"{role} started\n".encode() * 50_000


def test_no_party_knows_the_job(channel: grpc.Channel) -> None:
    stub = jobs(channel)
    assert list(stub.QueryJob(pb.QueryJobRequest(job_id="20200101000000000404")).data) == []
    # The party's error, its retcode kept, and the job named.
    message, info = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: stub.QueryTask(pb.QueryTaskRequest(job_id="20200101000000000404")),
    )
    assert (
        message == "find task failed (job 20200101000000000404, at every local party: 9999, 10000)"
    )
    assert info.metadata["job_id"] == "20200101000000000404"
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND,
        102,
        lambda: stub.StopJob(pb.StopJobRequest(job_id="20200101000000000404")),
    )
    assert message == "can not found job 20200101000000000404"
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: list(stub.DownloadJobLog(pb.DownloadJobLogRequest(job_id="20200101000000000404"))),
    )


def test_a_party_that_is_not_local_is_named(channel: grpc.Channel) -> None:
    tracking = tracking_service_pb2_grpc.TrackingServiceStub(channel)  # type: ignore[no-untyped-call]
    request = tracking_pb.GetComponentParametersRequest(
        job_id=JOB_ID, role="guest", party_id=1234, component_name="noop_0"
    )
    message, info = expect_error(
        grpc.StatusCode.NOT_FOUND, 101, lambda: tracking.GetComponentParameters(request)
    )
    assert message.startswith("party 1234 is not served here")
    assert "9999, 10000" in str(message) and info.metadata["party_id"] == "1234"
    # A job of a party that is not local: refused before its initiator parses it.
    conf = {
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": {"guest": [GUEST], "host": [HOST], "arbiter": ["10001"]},
    }
    submit = pb.SubmitJobRequest(job_runtime_conf=json_format.ParseDict(conf, struct_pb2.Struct()))
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND, 101, lambda: jobs(channel).SubmitJob(submit)
    )
    assert message.startswith("party 10001 is not served here")
    # As a filter of rows, a party that is not local finds none (a data job's party 0 would).
    rows = jobs(channel).QueryJob(pb.QueryJobRequest(job_id=JOB_ID, party_id=1234)).data
    assert list(rows) == []


def test_a_core_that_does_not_answer_is_named(cores: dict[int, Core]) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{unused.getsockname()[1]}"
    parties = [LocalCore(GUEST, cores[GUEST].address), LocalCore(HOST, nowhere)]
    for channel in _front(parties):
        stub = jobs(channel)
        # What names the live party is answered by it alone.
        assert list(stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID, party_id=GUEST)).data) == []
        for request in (
            pb.QueryJobRequest(job_id=JOB_ID, party_id=HOST),
            pb.QueryJobRequest(job_id=JOB_ID),  # every party's
        ):
            with pytest.raises(grpc.RpcError) as caught:
                stub.QueryJob(request)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert f"party {HOST}'s node ({nowhere})" in caught.value.details()


def test_the_front_serves_reflection_of_the_public_services(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    (answer,) = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {service.name for service in answer.list_services_response.service}
    assert {name for name in names if name.startswith("fateflow.")} == set(
        rules.public_service_names()
    )
