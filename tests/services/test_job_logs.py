"""FATE-Flow's `/v1/log/size` and `/v1/log/cat` over a real core: a component's INFO.log,
a range of lines at a time, and nothing outside the node's logs."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import job_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.storage import task_logs
from fateflow_grpc.storage.database import Database
from tests.services.errors import expect_error
from tests.services.rows import JOB_ID, add_job

LOG = {"log_type": "componentInfo", "job_id": JOB_ID, "role": "guest", "party_id": 9999}


@pytest.fixture
def stub(
    core_channel: grpc.Channel, node_database: Database
) -> job_service_pb2_grpc.JobServiceStub:
    add_job(node_database)
    return job_service_pb2_grpc.JobServiceStub(core_channel)


@pytest.fixture
def log_file(node_config: NodeConfig) -> Path:
    path = node_config.data_dir / "logs" / JOB_ID / "guest" / "9999" / "noop_0" / "INFO.log"
    path.parent.mkdir(parents=True)
    return path


def test_size_and_lines_follow_a_growing_log(
    stub: job_service_pb2_grpc.JobServiceStub, log_file: Path
) -> None:
    size = pb.GetLogSizeRequest(**LOG, component_name="noop_0")
    assert stub.GetLogSize(size).data.size == 0  # no file yet: nothing written
    assert not stub.ListLogLines(pb.ListLogLinesRequest(**LOG, component_name="noop_0")).data
    log_file.write_text("one\ntwo\nthree\nfour\nhalf a li")
    assert stub.GetLogSize(size).data.size == 4
    lines = stub.ListLogLines(pb.ListLogLinesRequest(**LOG, component_name="noop_0")).data
    assert [(line.line_num, line.content) for line in lines] == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
        (4, "four"),
    ]
    middle = pb.ListLogLinesRequest(**LOG, component_name="noop_0", begin=2, end=3)
    assert [line.content for line in stub.ListLogLines(middle).data] == ["two", "three"]
    with log_file.open("a") as file:
        file.write("ne\nsix\n")
    following = pb.ListLogLinesRequest(**LOG, component_name="noop_0", begin=5)
    assert [(line.line_num, line.content) for line in stub.ListLogLines(following).data] == [
        (5, "half a line"),
        (6, "six"),
    ]


def test_a_read_returns_at_most_max_lines(log_file: Path) -> None:
    log_file.write_text("".join(f"{n}\n" for n in range(1, task_logs.MAX_LINES + 11)))
    lines = task_logs.read_lines(log_file, begin=5)
    assert len(lines) == task_logs.MAX_LINES
    assert lines[0] == (5, "5") and lines[-1] == (
        task_logs.MAX_LINES + 4,
        str(task_logs.MAX_LINES + 4),
    )
    assert task_logs.count_lines(log_file) == task_logs.MAX_LINES + 10


@pytest.mark.parametrize(
    ("fields", "code", "retcode", "words"),
    [
        ({"component_name": "../noop_0"}, grpc.StatusCode.NOT_FOUND, 101, "no component"),
        ({"component_name": "noop_1"}, grpc.StatusCode.NOT_FOUND, 101, "no component"),
        (
            {"component_name": "noop_0", "job_id": "../../etc"},
            grpc.StatusCode.NOT_FOUND,
            101,
            "no job",
        ),
        ({"component_name": "noop_0", "role": "host"}, grpc.StatusCode.NOT_FOUND, 101, "no job"),
        (
            {"component_name": "noop_0", "log_type": "partyError"},
            grpc.StatusCode.INVALID_ARGUMENT,
            100,
            "componentInfo",
        ),
        (
            {"component_name": "noop_0", "begin": -1},
            grpc.StatusCode.INVALID_ARGUMENT,
            100,
            "from 1",
        ),
    ],
)
def test_only_logs_of_this_nodes_jobs_are_read(
    stub: job_service_pb2_grpc.JobServiceStub,
    log_file: Path,
    fields: dict[str, object],
    code: grpc.StatusCode,
    retcode: int,
    words: str,
) -> None:
    log_file.write_text("secret\n")
    request = pb.ListLogLinesRequest(**{**LOG, **fields})  # type: ignore[arg-type]
    message, _ = expect_error(code, retcode, lambda: stub.ListLogLines(request))
    assert words in message


def test_a_path_outside_the_logs_is_refused(tmp_path: Path) -> None:
    """Job ids, roles and component names come from stored rows and a checked DSL; the path
    is checked all the same."""
    from fateflow_grpc.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        task_logs.component_log(tmp_path / "logs", "componentInfo", "..", "..", "..", "x_0")
