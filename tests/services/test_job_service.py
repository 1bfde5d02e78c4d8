"""JobService over a real core and database."""

from __future__ import annotations

import io
import tarfile

import grpc
import pytest

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import job_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.status import JobStatus
from fateflow_grpc.storage.database import Database
from tests.services.errors import expect_error
from tests.services.rows import JOB_ID, add_job

#: A job id in FATE's format that no party has.
UNKNOWN = "20200101000000000404"


@pytest.fixture
def stub(
    core_channel: grpc.Channel, node_database: Database
) -> job_service_pb2_grpc.JobServiceStub:
    add_job(node_database)
    add_job(node_database, role="host", party_id="10000")
    return job_service_pb2_grpc.JobServiceStub(core_channel)


def test_query_job_returns_fate_rows(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    rows = stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID)).data
    assert sorted(row.f_role for row in rows) == ["guest", "host"]
    guest = next(row for row in rows if row.f_role == "guest")
    assert guest.f_status == "running"
    assert guest.f_party_id == "9999"
    assert guest.f_progress == 40
    assert guest.f_is_initiator
    assert guest.f_dsl["components"]["noop_0"]["module"] == "Noop"
    assert guest.f_runtime_conf["initiator"]["role"] == "guest"
    assert not guest.HasField("f_end_time")


def test_query_job_filters_by_party_and_status(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    (row,) = stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID, party_id=10000)).data
    assert row.f_role == "host"
    assert not stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID, status="success")).data


def test_a_ready_job_is_shown_as_waiting(
    stub: job_service_pb2_grpc.JobServiceStub, node_database: Database
) -> None:
    """fate-client's pipeline knows no `ready` (it raises "Unknown status")."""
    add_job(node_database, job_id="202611270406450000002", status=JobStatus.READY)
    for rows in (
        stub.QueryJob(pb.QueryJobRequest(job_id="202611270406450000002")).data,
        stub.ListJobs(pb.ListJobsRequest()).data,
    ):
        assert "ready" not in {row.f_status for row in rows}
        assert "waiting" in {row.f_status for row in rows}


def test_query_unknown_job_is_empty_as_in_fate(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    response = stub.QueryJob(pb.QueryJobRequest(job_id="404"))
    assert list(response.data) == []
    assert response.retmsg == "no job could be found"


def test_query_without_filter_finds_nothing_as_in_fate(
    stub: job_service_pb2_grpc.JobServiceStub,
) -> None:
    """FATE-Flow's job/query filters by what it is given, and finds nothing without a filter,
    whatever jobs there are (the stub's fixture has two rows)."""
    response = stub.QueryJob(pb.QueryJobRequest())
    assert (list(response.data), response.retmsg) == ([], "no job could be found")


def test_query_with_unknown_status_names_it(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    message, info = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID, status="complete")),
    )
    assert "'complete'" in message and "running" in message
    assert info.metadata["status"] == "complete"


def test_update_sets_notes(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    stub.UpdateJob(pb.UpdateJobRequest(job_id=JOB_ID, role="guest", party_id=9999, notes="hi"))
    (row,) = stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID, role="guest")).data
    assert row.f_description == "hi"


def test_update_unknown_job_is_fate_not_found(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: stub.UpdateJob(pb.UpdateJobRequest(job_id=UNKNOWN, role="guest", party_id=9999)),
    )
    assert message == "find job failed"


def test_required_fields_are_named(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    message, info = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: stub.UpdateJob(pb.UpdateJobRequest(notes="x")),
    )
    assert message == "the following arguments are required: job_id, role, party_id"
    assert info.metadata["fields"] == "job_id,role,party_id"


def test_config_carries_dsl_conf_and_model_info(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    config = stub.GetJobConfig(pb.GetJobConfigRequest(job_id=JOB_ID)).data
    assert config.job_id == JOB_ID
    assert "noop_0" in config.dsl["components"]
    assert config.model_info.model_id == "arbiter-10000#guest-9999#host-10000#model"
    assert config.model_info.model_version == JOB_ID
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: stub.GetJobConfig(pb.GetJobConfigRequest(job_id=UNKNOWN)),
    )


def test_task_query_and_lists(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    (task,) = stub.QueryTask(pb.QueryTaskRequest(job_id=JOB_ID, role="host")).data
    assert task.f_task_id == f"{JOB_ID}_noop_0"
    assert task.f_party_status == "success"
    expect_error(
        grpc.StatusCode.NOT_FOUND, 101, lambda: stub.QueryTask(pb.QueryTaskRequest(job_id=UNKNOWN))
    )
    assert len(stub.ListJobs(pb.ListJobsRequest(limit=1)).data) == 1
    assert len(stub.ListJobs(pb.ListJobsRequest()).data) == 2
    assert len(stub.ListTasks(pb.ListTasksRequest()).data) == 2


def test_list_pages_and_filters_rows(
    stub: job_service_pb2_grpc.JobServiceStub, node_database: Database
) -> None:
    """FATE-Flow 1.7's list: pages of `limit` rows from page 1, newest first, with filters;
    `meta.count` counts every matching row."""
    for n in range(2, 7):
        add_job(
            node_database,
            job_id=f"20261127040645000000{n}",
            status=JobStatus.SUCCESS if n % 2 else JobStatus.FAILED,
            create_time=1764216405000 + n * 86_400_000,
        )
    everything = stub.ListJobs(pb.ListJobsRequest())
    assert everything.meta.count == len(everything.data) == 7
    newest = ["202611270406450000006", "202611270406450000005", "202611270406450000004"]
    page = stub.ListJobs(pb.ListJobsRequest(limit=3))
    assert [row.f_job_id for row in page.data] == newest
    assert page.meta.count == 7
    second = stub.ListJobs(pb.ListJobsRequest(limit=3, page=2)).data
    assert [row.f_job_id for row in second] == [
        "202611270406450000003",
        "202611270406450000002",
        JOB_ID,
    ]
    assert {row.f_role for row in second[2:]} == {"guest"}  # rows of one job: by role
    last = stub.ListJobs(pb.ListJobsRequest(limit=3, page=3))
    assert [(row.f_job_id, row.f_role) for row in last.data] == [(JOB_ID, "host")]

    def listed(**filters: object) -> list[str]:
        response = stub.ListJobs(pb.ListJobsRequest(**filters))  # type: ignore[arg-type]
        assert response.meta.count == len(response.data)
        return [f"{row.f_job_id[-1]}{row.f_role[0]}" for row in response.data]

    assert listed(status=["failed"]) == ["6g", "4g", "2g"]
    assert listed(status=["failed", "running"]) == ["6g", "4g", "2g", "1g", "1h"]
    assert listed(role=["host"], party_id=10000) == ["1h"]
    assert listed(party_id=10000, role=["guest"]) == []
    assert listed(job_id="00005") == ["5g"]
    assert listed(job_id="%") == []  # a LIKE wildcard is a character like any other
    day = 86_400_000
    assert listed(create_time_from=1764216405000 + 3 * day) == ["6g", "5g", "4g", "3g"]
    assert listed(
        create_time_from=1764216405000 + 3 * day, create_time_to=1764216405000 + 5 * day
    ) == ["4g", "3g"]
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: stub.ListJobs(pb.ListJobsRequest(status=["complete"])),
    )


def test_list_shows_ready_rows_under_waiting(
    stub: job_service_pb2_grpc.JobServiceStub, node_database: Database
) -> None:
    add_job(node_database, job_id="202611270406450000002", status=JobStatus.READY)
    (row,) = stub.ListJobs(pb.ListJobsRequest(status=["waiting"])).data
    assert (row.f_job_id, row.f_status) == ("202611270406450000002", "waiting")


def test_stop_unknown_job_is_fate_data_error(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    expect_error(
        grpc.StatusCode.NOT_FOUND, 102, lambda: stub.StopJob(pb.StopJobRequest(job_id=UNKNOWN))
    )


def test_submit_refuses_a_conf_without_roles(stub: job_service_pb2_grpc.JobServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: stub.SubmitJob(pb.SubmitJobRequest(job_runtime_conf={"initiator": {}})),
    )
    assert "role" in message


def test_job_log_streams_a_tar_gz(
    stub: job_service_pb2_grpc.JobServiceStub, node_config: NodeConfig
) -> None:
    log_dir = node_config.data_dir / "logs" / JOB_ID / "guest" / "9999"
    log_dir.mkdir(parents=True)
    (log_dir / "INFO.log").write_text("started\n" * 100_000)
    pieces = list(stub.DownloadJobLog(pb.DownloadJobLogRequest(job_id=JOB_ID)))
    assert pieces[0].filename == f"job_{JOB_ID}_log.tar.gz"
    archive = b"".join(piece.chunk for piece in pieces)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("./guest/9999/INFO.log")
        assert member is not None and member.read() == b"started\n" * 100_000
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: list(stub.DownloadJobLog(pb.DownloadJobLogRequest(job_id=UNKNOWN))),
    )


def test_unexpected_failures_hide_their_details(tmp_path: object) -> None:
    """A database without our schema makes queries fail; the client sees only a request id."""
    from pathlib import Path

    from fateflow_grpc.node import Node
    from fateflow_grpc.server import create_server

    assert isinstance(tmp_path, Path)
    config = NodeConfig(data_dir=tmp_path)
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    server, port = create_server(Node(config, database), "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = job_service_pb2_grpc.JobServiceStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID))
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert caught.value.details().startswith("internal error, request id ")
        assert "t_job" not in caught.value.details()
    finally:
        server.stop(grace=None)
        database.dispose()
