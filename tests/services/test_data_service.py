"""DataService and TableService over a real core: uploads, downloads, tables, and bad input.

Every refused upload must leave no table, no file under the table store, and a failed job and
upload history row when its job had started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Value

from fateflow.v1 import data_service_pb2 as data_pb
from fateflow.v1 import (
    data_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    table_service_pb2_grpc,
)
from fateflow.v1 import table_service_pb2 as table_pb
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.data_jobs import TableName, UploadConf
from fateflow_grpc.node import Node
from fateflow_grpc.status import JobStatus
from fateflow_grpc.storage import jobs, tracking, uploads
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.delimited import MAX_LINE_BYTES
from tests.services.errors import expect_error

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
GUEST = (EXAMPLES / "breast_hetero_guest.csv").read_bytes()
SETTINGS: dict[str, Any] = {
    "namespace": "experiment",
    "table_name": "breast_hetero_guest",
    "head": 1,
    "partition": 4,
    "work_mode": 0,
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    directory = tmp_path / "files"
    directory.mkdir()
    return directory


@pytest.fixture
def node_config(tmp_path: Path, files: Path) -> NodeConfig:
    return NodeConfig(
        party_id=9999, data_dir=tmp_path / "node", grpc_port=0, server_file_dirs=(files,)
    )


@pytest.fixture
def data(core_channel: grpc.Channel) -> data_service_pb2_grpc.DataServiceStub:
    return data_service_pb2_grpc.DataServiceStub(core_channel)


@pytest.fixture
def tables(core_channel: grpc.Channel) -> table_service_pb2_grpc.TableServiceStub:
    return table_service_pb2_grpc.TableServiceStub(core_channel)


def messages(content: bytes | None, chunk: int, settings: dict[str, Any]) -> Iterator[Any]:
    yield data_pb.UploadDataRequest(**settings)
    for start in range(0, len(content or b""), chunk):
        yield data_pb.UploadDataRequest(chunk=(content or b"")[start : start + chunk])


def upload(
    data: data_service_pb2_grpc.DataServiceStub,
    content: bytes | None,
    chunk: int = 1 << 20,
    **settings: Any,
) -> data_pb.UploadDataResponse:
    response: data_pb.UploadDataResponse = data.UploadData(
        messages(content, chunk, {**SETTINGS, **settings})
    )
    return response


def info(
    tables: table_service_pb2_grpc.TableServiceStub, name: str = "breast_hetero_guest"
) -> table_pb.TableInfo:
    request = table_pb.GetTableInfoRequest(namespace="experiment", table_name=name)
    result: table_pb.TableInfo = tables.GetTableInfo(request).data
    return result


def table_files(node: Node) -> list[Path]:
    return [p for p in node.tables.root.rglob("*") if p.is_file()]


def local_jobs(database: Database) -> list[Any]:
    with database.session() as session:
        return jobs.query_jobs(session, jobs.JobFilter(role="local", party_id="0"))


def history(database: Database, job_id: str) -> Any:
    with database.session() as session:
        (row,) = uploads.list_uploads(session, job_id=job_id)
    return row


def assert_left_nothing(node: Node, tables: table_service_pb2_grpc.TableServiceStub) -> None:
    assert not info(tables).exist
    assert table_files(node) == []


def test_upload_describe_list_and_download(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
    core_channel: grpc.Channel,
    files: Path,
) -> None:
    answer = upload(data, GUEST, chunk=4096)
    job_id = answer.job_id
    assert answer.retmsg == "success"
    assert answer.data.table_name == "breast_hetero_guest" and answer.data.namespace == "experiment"
    assert f"job_id={job_id}&role=local&party_id=0" in answer.data.board_url
    assert answer.data.logs_directory == str(node.config.data_dir / "logs" / job_id)
    assert (Path(answer.data.logs_directory) / "local/0/upload_0/INFO.log").is_file()

    described = info(tables)
    assert (described.count, described.partition, described.exist) == (569, 4, True)
    assert dict(described.schema) == {"sid": "id", "header": "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9"}
    assert described.create_time > 0

    job_stub = job_service_pb2_grpc.JobServiceStub(core_channel)
    (job,) = job_stub.QueryJob(
        job_service_pb2.QueryJobRequest(job_id=job_id, role="local", party_id=0)
    ).data
    assert (job.f_status, job.f_progress) == ("success", 100)
    assert job.f_dsl["components"]["upload_0"]["module"] == "Upload"
    (task,) = job_stub.QueryTask(job_service_pb2.QueryTaskRequest(job_id=job_id)).data
    assert (task.f_component_name, task.f_status, task.f_party_status) == (
        "upload_0",
        "success",
        "success",
    )
    with node.database.session() as session:
        metrics = tracking.read_component_metrics(
            session, tracking.ComponentRef(job_id, "upload_0", "local", "0")
        )
    assert metrics["upload"]["data_access"].data == [("count", 569)]

    (entry,) = data.ListUploadHistory(data_pb.ListUploadHistoryRequest(limit=10)).data
    assert entry[job_id]["upload_info"]["upload_count"] == 569
    assert entry[job_id]["schema"]["sid"] == "id"

    downloaded = data.DownloadData(
        data_pb.DownloadDataRequest(
            namespace="experiment", table_name="breast_hetero_guest", output_path="out/guest.csv"
        )
    )
    assert downloaded.job_id != job_id and downloaded.retmsg == "success"
    assert (files / "out" / "guest.csv").read_bytes() == GUEST
    assert [p.name for p in (files / "out").iterdir()] == ["guest.csv"]


def test_upload_of_a_file_on_the_node(
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
    files: Path,
) -> None:
    (files / "sub").mkdir()
    (files / "sub" / "guest.csv").write_bytes(GUEST)
    upload(data, None, use_local_data=0, file="sub/guest.csv")
    assert info(tables).count == 569
    upload(data, None, use_local_data=0, file=str(files / "sub" / "guest.csv"), table_name="abs")
    assert info(tables, "abs").count == 569


def test_an_existing_table_is_replaced_only_with_drop(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
) -> None:
    upload(data, GUEST)
    message, _ = expect_error(
        grpc.StatusCode.ALREADY_EXISTS, 100, lambda: upload(data, b"id,y\n1,2\n")
    )
    assert "table experiment.breast_hetero_guest already exists" in message
    assert "drop" in message
    assert info(tables).count == 569
    upload(data, b"id,y\n1,2\n", drop=1)
    replaced = info(tables)
    assert replaced.count == 1 and dict(replaced.schema) == {"sid": "id", "header": "y"}
    assert len({p.parent for p in table_files(node)}) == 1  # the old version is gone


def test_repeated_ids_keep_the_later_row_as_in_fate(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
    files: Path,
) -> None:
    job_id = upload(data, b"id,y\n1,a\n2,b\n1,c\n3,d\n").job_id
    assert info(tables).count == 3
    assert history(node.database, job_id).f_upload_count == 3
    data.DownloadData(
        data_pb.DownloadDataRequest(
            namespace="experiment", table_name="breast_hetero_guest", output_path="dup.csv"
        )
    )
    assert (files / "dup.csv").read_bytes() == b"id,y\n2,b\n1,c\n3,d\n"


def test_non_numeric_values_are_kept_as_text_as_in_fate(
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
    files: Path,
) -> None:
    # FATE stores text; DataTransform reads it later (missing values, sparse and tag formats
    # are text by design), so an upload cannot tell bad numbers from good text.
    content = b"id,y,x0\n1,1,NA\n2,0,3:0.5;7:1\n3,1,abc\n"
    upload(data, content)
    assert info(tables).count == 3
    data.DownloadData(
        data_pb.DownloadDataRequest(
            namespace="experiment", table_name="breast_hetero_guest", output_path="text.csv"
        )
    )
    assert (files / "text.csv").read_bytes() == content


BAD_FILES = [
    (None, "the file is empty"),
    (b"", "the file is empty"),
    (b"id,y,x0\n", "the file has a header line but no rows"),
    (b"id,y,x0\n1,0,1.5\n2,1\n", "line 3 has 2 fields where the header has 3"),
    (b"id,y,x0\n1,0,1.5\n\n", "line 3 has an empty id"),
    (b"id,y,x0\n1,0,1.5\n2,1,\xff\xfe\n", "line 3 is not UTF-8 text (byte 0xff)"),
    (b"id,y\n1,2\n2," + b"9" * (10 << 20) + b"\n", f"line 3 is longer than {MAX_LINE_BYTES}"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_files_are_refused_and_leave_nothing(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
    content: bytes | None,
    message: str,
) -> None:
    error, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: upload(data, content, file="guest.csv")
    )
    assert error.startswith("guest.csv: ") and message in error
    (job,) = local_jobs(node.database)
    assert job.f_status == JobStatus.FAILED
    assert history(node.database, job.f_job_id).f_status == JobStatus.FAILED
    log = node.config.data_dir / "logs" / job.f_job_id / "local/0/upload_0/INFO.log"
    assert message in log.read_text()
    assert_left_nothing(node, tables)


def test_a_count_that_does_not_match_is_refused(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: upload(data, GUEST, count=570)
    )
    assert "the file has 569 rows, not the 570 its count says" in message
    assert_left_nothing(node, tables)
    upload(data, GUEST, count=569)
    assert info(tables).count == 569


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"namespace": ""}, "the following arguments are required: namespace"),
        ({"head": None, "partition": None}, "required: head, partition"),
        ({"head": 2}, "head must be 1 (a header line) or 0 (none), not 2"),
        ({"partition": 0}, "it should between 0 and 1024, not 0"),
        ({"partition": 1024}, "it should between 0 and 1024, not 1024"),
        ({"work_mode": 2}, "work_mode must be 0 or 1"),
        ({"table_name": "../escape"}, "is not a valid table name"),
        ({"id_delimiter": "::"}, "delimiter must be one ASCII character"),
        ({"use_local_data": 0}, "the following arguments are required: file"),
        ({"with_meta": True, "meta": Value(string_value="{'label': 1}")}, "no setting 'label'"),
        ({"with_meta": True, "meta": Value(string_value="{x")}, "neither JSON nor a Python"),
        ({"with_meta": True, "meta": Value(string_value="{'id_range': 2}")}, "id_range"),
    ],
)
def test_bad_settings_are_refused_before_any_job(
    node: Node, data: data_service_pb2_grpc.DataServiceStub, settings: dict[str, Any], message: str
) -> None:
    given = {k: v for k, v in {**SETTINGS, **settings}.items() if v is not None}

    def call() -> None:
        data.UploadData(messages(GUEST, 1 << 20, given))

    error, _ = expect_error(grpc.StatusCode.INVALID_ARGUMENT, 100, call)
    assert message in error
    assert local_jobs(node.database) == []


def test_extend_sid_and_meta_as_fates_column_expand_and_sample_weight_testsuites(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
) -> None:
    meta = Value()
    json_format.ParseDict({"with_label": True, "label_name": "y", "id_range": 0}, meta)
    upload(data, GUEST, extend_sid=True, with_meta=True, meta=meta)
    described = info(tables)
    assert described.count == 569
    schema = json_format.MessageToDict(described.schema)
    assert schema["sid"] == "extend_sid"
    assert schema["header"].startswith("id,y,x0,")
    assert schema["meta"] == {
        "delimiter": ",",
        "input_format": "dense",
        "tag_with_value": False,
        "tag_value_delimiter": ":",
        "with_match_id": True,
        "id_range": 0,
        "data_type": "float64",
        "with_label": True,
        "label_name": "y",
        "label_type": "int",
    }
    table = node.tables.read_table("experiment", "breast_hetero_guest")
    ids = table.column("extend_sid").to_pylist()
    # One uuid1 hex (32 digits) per upload, then the line's index.
    assert ids[:2] == [ids[0][:32] + "0", ids[0][:32] + "1"] and ids[-1] == ids[0][:32] + "568"
    assert table.column("id").to_pylist()[:2] == ["0", "1"]

    upload(data, GUEST, drop=1, extend_sid=True, auto_increasing_sid=True)
    table = node.tables.read_table("experiment", "breast_hetero_guest")
    assert table.column("extend_sid").to_pylist()[:3] == ["0", "1", "2"]
    assert "meta" not in dict(info(tables).schema)


@pytest.fixture
def outside(tmp_path: Path, files: Path) -> Path:
    """A file outside the allowed directory, and a symlink to it inside."""
    secret = tmp_path / "secret.csv"
    secret.write_bytes(GUEST)
    (files / "link.csv").symlink_to(secret)
    (files / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    return secret


@pytest.mark.parametrize(
    "path",
    ["../secret.csv", "sub/../../secret.csv", "link.csv", "linked_dir/secret.csv", "/etc/passwd"],
)
def test_server_paths_outside_the_allowed_directories_are_refused(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
    outside: Path,
    path: str,
) -> None:
    message, _ = expect_error(
        grpc.StatusCode.PERMISSION_DENIED,
        108,
        lambda: upload(data, None, use_local_data=0, file=path),
    )
    assert f"file {path} is outside the directories this node may use" in message
    assert local_jobs(node.database) == []

    upload(data, GUEST)
    before = outside.read_bytes()
    message, _ = expect_error(
        grpc.StatusCode.PERMISSION_DENIED,
        108,
        lambda: data.DownloadData(
            data_pb.DownloadDataRequest(
                namespace="experiment", table_name="breast_hetero_guest", output_path=path
            )
        ),
    )
    assert f"output_path {path} is outside" in message
    assert outside.read_bytes() == before
    assert len(local_jobs(node.database)) == 1  # the upload's; no download job started


def test_a_missing_server_file_is_named(
    node: Node, data: data_service_pb2_grpc.DataServiceStub
) -> None:
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND, 100, lambda: upload(data, None, use_local_data=0, file="no.csv")
    )
    assert "file no.csv does not exist on this node" in message


def test_unknown_tables(
    data: data_service_pb2_grpc.DataServiceStub, tables: table_service_pb2_grpc.TableServiceStub
) -> None:
    response = tables.GetTableInfo(
        table_pb.GetTableInfoRequest(namespace="experiment", table_name="missing")
    )
    # FATE answers retcode 0 and count 0; `exist` and the message say it is not there.
    assert (response.data.exist, response.data.count) == (False, 0)
    assert response.retmsg == "table experiment.missing does not exist"
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: data.DownloadData(
            data_pb.DownloadDataRequest(
                namespace="experiment", table_name="missing", output_path="x.csv"
            )
        ),
    )
    assert message == "table experiment.missing does not exist"
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: tables.DeleteTable(
            table_pb.DeleteTableRequest(namespace="experiment", table_name="missing")
        ),
    )
    assert message == "no find table experiment.missing"


def test_delete_by_name_and_by_job(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
) -> None:
    upload(data, GUEST)
    job_id = upload(data, GUEST, table_name="second").job_id
    deleted = tables.DeleteTable(
        table_pb.DeleteTableRequest(namespace="experiment", table_name="breast_hetero_guest")
    ).data
    assert [(t.namespace, t.table_name) for t in deleted] == [("experiment", "breast_hetero_guest")]
    (deleted_by_job,) = tables.DeleteTable(table_pb.DeleteTableRequest(job_id=job_id)).data
    assert deleted_by_job.table_name == "second"
    assert not info(tables, "second").exist
    assert table_files(node) == []
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: tables.DeleteTable(table_pb.DeleteTableRequest(job_id=job_id)),
    )
    assert message == f"no find table of job {job_id}"
    # The history lists only uploads whose table is still there, as FATE's does.
    assert list(data.ListUploadHistory(data_pb.ListUploadHistoryRequest()).data) == []


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_an_upload_cut_off_by_its_client_fails_and_leaves_nothing(
    node: Node,
    data: data_service_pb2_grpc.DataServiceStub,
    tables: table_service_pb2_grpc.TableServiceStub,
) -> None:
    release = threading.Event()

    def stalled() -> Iterator[Any]:
        yield data_pb.UploadDataRequest(**SETTINGS)
        yield data_pb.UploadDataRequest(chunk=GUEST[:20_000])
        release.wait(20)

    call = data.UploadData.future(stalled())
    wait_for(lambda: [j.f_status for j in local_jobs(node.database)] == ["running"], "the job")
    call.cancel()
    wait_for(lambda: local_jobs(node.database)[0].f_status == JobStatus.FAILED, "the failure")
    release.set()
    (job,) = local_jobs(node.database)
    assert history(node.database, job.f_job_id).f_status == JobStatus.FAILED
    assert_left_nothing(node, tables)


def test_recovery_fails_unfinished_data_jobs_and_removes_their_files(
    node: Node, data: data_service_pb2_grpc.DataServiceStub, files: Path
) -> None:
    upload(data, GUEST)
    kept = table_files(node)
    # What a node killed half-way leaves: an upload's and a download's rows still running,
    # the upload's temporary files, the download's partial file.
    started = node.data_jobs._start(
        "upload_0",
        "Upload",
        {},
        TableName("experiment", "half"),
        0,
        upload=UploadConf(namespace="experiment", table_name="half", head=1, partition=4),
    )
    temporary = node.tables.root / ".tmp" / started.job_id / "part-00000.arrow"
    temporary.parent.mkdir(parents=True)
    temporary.write_bytes(b"half a table")
    download = node.data_jobs._start(
        "download_0",
        "Download",
        {"output_path": str(files / "out.csv")},
        TableName("experiment", "breast_hetero_guest"),
        0,
    )
    partial = files / f".out.csv.{download.job_id}.partial"
    partial.write_bytes(b"1,2\n")

    node.data_jobs.recover()

    statuses = {job.f_job_id: job.f_status for job in local_jobs(node.database)}
    assert statuses[started.job_id] == statuses[download.job_id] == JobStatus.FAILED
    assert history(node.database, started.job_id).f_status == JobStatus.FAILED
    assert not partial.exists()
    assert table_files(node) == kept
