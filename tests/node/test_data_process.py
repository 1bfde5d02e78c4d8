"""Data jobs on real `fateflow node` processes: FATE's client path at two parties, and a node
killed in the middle of an upload."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateflow.v1 import job_service_pb2 as pb
from fateflow_grpc.status import JobStatus
from fateflow_grpc.storage import uploads
from fateflow_grpc.storage.database import Database
from tests.multiparty.cluster import EXAMPLES, NodeProcess, start_parties, wait_for
from tests.multiparty.test_scheduling import client

DATA = EXAMPLES / "data"
TABLES = {9999: "breast_hetero_guest", 10000: "breast_hetero_host"}
HEADERS = {
    9999: "y," + ",".join(f"x{i}" for i in range(10)),
    10000: ",".join(f"x{i}" for i in range(20)),
}

pytestmark = pytest.mark.slow


def http_ready(node: NodeProcess) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=1)
        connection.request("POST", "/v1/job/list/job", body=b"{}")
        return connection.getresponse().status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outputs")


@pytest.fixture(scope="module")
def parties(
    tmp_path_factory: pytest.TempPathFactory, outputs: Path
) -> Iterator[dict[int, NodeProcess]]:
    # Relative files are read under the first directory; downloads go to the second.
    settings = {"server_file_dirs": [str(DATA), str(outputs)]}
    nodes = start_parties(
        tmp_path_factory.mktemp("data"), [9999, 10000], {9999: settings, 10000: settings}
    )
    try:
        for node in nodes.values():
            wait_for(lambda node=node: http_ready(node), 30, f"party {node.party_id}'s gateway")  # type: ignore[misc]
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


@pytest.mark.parametrize("party", [9999, 10000])
def test_fate_client_uploads_both_ways_and_downloads(
    parties: dict[int, NodeProcess], outputs: Path, party: int, tmp_path: Path
) -> None:
    node = parties[party]
    table = TABLES[party]
    conf = {
        "file": str(DATA / f"{table}.csv"),
        "head": 1,
        "partition": 4,
        "work_mode": 1,
        "namespace": "experiment",
        "table_name": table,
    }
    sent = tmp_path / "sent.json"
    sent.write_text(json.dumps(conf))
    on_node = tmp_path / "on_node.json"
    on_node.write_text(
        json.dumps(
            {**conf, "file": f"{table}.csv", "use_local_data": 0, "table_name": f"{table}_local"}
        )
    )
    for path, name in ((sent, table), (on_node, f"{table}_local")):
        answer = client(node, "-f", "upload", "-c", str(path))
        assert answer["retcode"] == 0, answer
        assert answer["data"]["table_name"] == name
        (job,) = (
            node.jobs()
            .QueryJob(pb.QueryJobRequest(job_id=answer["jobId"], role="local", party_id=0))
            .data
        )
        assert job.f_status == "success"
        info = client(node, "-f", "table_info", "-n", "experiment", "-t", name)
        assert info["data"]["count"] == 569
        assert info["data"]["schema"] == {"sid": "id", "header": HEADERS[party]}

    # Refused while the client still sends: the refusal itself must come back, not a
    # transport error (the core reads the rest of the stream before answering).
    again = client(node, "-f", "upload", "-c", str(sent))
    assert again["retcode"] == 100 and "already exists" in again["retmsg"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,y\n1\n" + b"".join(b"%d,1\n" % i for i in range(1_000_000)))
    refused = client(node, "-f", "upload", "-c", str(sent), "-i", str(bad), "-t", "bad")
    assert refused == {
        "retcode": 100,
        "retmsg": f"{bad}: line 2 has 1 field where the header has 2 (delimiter ',')",
    }
    assert client(node, "-f", "upload", "-c", str(sent), "-drop", "1")["retcode"] == 0

    history = client(node, "-f", "upload_history", "-limit", "2")
    assert [
        next(iter(entry.values()))["upload_info"]["upload_count"] for entry in history["data"]
    ] == [569, 569]

    out = outputs / f"{party}" / f"{table}.csv"
    downloaded = client(node, "-f", "download", "-n", "experiment", "-t", table, "-o", str(out))
    assert downloaded["retcode"] == 0, downloaded
    assert out.read_bytes() == (DATA / f"{table}.csv").read_bytes()
    refused = client(
        node, "-f", "download", "-n", "experiment", "-t", table, "-o", str(tmp_path / "x.csv")
    )
    assert refused["retcode"] == 108 and "outside the directories" in refused["retmsg"]

    deleted = client(node, "-f", "table_delete", "-n", "experiment", "-t", f"{table}_local")
    assert deleted["data"] == [{"table_name": f"{table}_local", "namespace": "experiment"}]


def test_a_node_killed_during_an_upload_leaves_a_failed_job_and_no_table(
    tmp_path: Path,
) -> None:
    node = NodeProcess(9999, tmp_path / "node")
    node.write_config({})
    node.start()
    wait_for(lambda: http_ready(node), 30, "the gateway")
    rows = b"".join(b"%d,%d,0.%06d\n" % (i, i % 2, i) for i in range(1_000_000))
    boundary = "upload-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: application/octet-stream\r\n\r\nid,y,x0\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=30)
    connection.putrequest(
        "POST", "/v1/data/upload?namespace=experiment&table_name=big&head=1&partition=4"
    )
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + len(rows) + len(tail)))
    connection.endheaders()
    # All but the file's last line, then nothing: the node holds a running job and a table
    # partly written (how much of it depends on how far the gateway and the parser buffer).
    connection.send(head + rows[: rows.rfind(b"\n", 0, -1)])
    database = Database(f"sqlite:///{node.data_dir / 'fateflow.db'}")
    try:

        def running() -> list[str]:
            found = node.jobs().QueryJob(pb.QueryJobRequest(role="local", party_id=0)).data
            return [job.f_job_id for job in found if job.f_status == "running"]

        wait_for(lambda: bool(running()), 30, "the upload job to run")
        (job_id,) = running()
        temporary = node.data_dir / "tables" / ".tmp" / job_id
        wait_for(
            lambda: sum(p.stat().st_size for p in temporary.rglob("*") if p.is_file()) > 100_000,
            30,
            "rows to be written",
        )
        node.kill()
        connection.close()
        node.start()

        (job,) = node.jobs().QueryJob(pb.QueryJobRequest(job_id=job_id)).data
        assert job.f_status == "failed"
        with database.session() as session:
            (entry,) = uploads.list_uploads(session, job_id=job_id)
        assert entry.f_status == JobStatus.FAILED and entry.f_upload_count is None
        log = node.data_dir / "logs" / job_id / "local" / "0" / "upload_0" / "INFO.log"
        assert "the node restarted while it ran" in log.read_text()
        wait_for(lambda: http_ready(node), 30, "the gateway")
        info = client(node, "-f", "table_info", "-n", "experiment", "-t", "big")
        assert info["data"]["exist"] is False
        assert [p for p in (node.data_dir / "tables").rglob("*") if p.is_file()] == []
    finally:
        database.dispose()
        node.stop()
